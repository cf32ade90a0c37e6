import { useState } from 'react';
import { SingleSelectField, SingleSelectOption } from '@dhis2/ui';
import { APP_LOCALES, t } from '../i18n.ts';
import { ErrorNotice } from './error-notice.tsx';

/**
 * The language the app is shown in, each named in its own language. Signed in, the choice is saved
 * as the user's keyUiLocale (so DHIS2's apps and this one agree); on the sign-in page it lasts the visit.
 */
export default function LanguageSwitch({
  locale,
  onChange,
}: {
  locale: string;
  onChange: (locale: string) => void | Promise<void>;
}) {
  const [error, setError] = useState<unknown>(null);
  return (
    <div className="language">
      <SingleSelectField
        dense
        label={t('Language')}
        selected={locale}
        onChange={({ selected }) => {
          setError(null);
          Promise.resolve(onChange(selected)).catch(setError);
        }}
        dataTest="language"
      >
        {APP_LOCALES.map(([code, name]) => (
          <SingleSelectOption key={code} value={code} label={name} />
        ))}
      </SingleSelectField>
      {error ? <ErrorNotice error={error} title={t('The language could not be saved')} /> : null}
    </div>
  );
}
