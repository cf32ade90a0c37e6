import { lazy, Suspense, useState, type FormEvent } from 'react';
import { Button, Card, InputField } from '@dhis2/ui';
import { ApiError, postJson } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { t } from '../i18n.ts';

// Its own chunk: @dhis2/ui's select would otherwise weigh on the sign-in page's first load.
const LanguageSwitch = lazy(() => import('../components/language-switch.tsx'));

export function LoginPage({
  onSignedIn,
  locale,
  onLocale,
}: {
  onSignedIn: () => Promise<void>;
  /** Before sign-in: the browser's language, switchable for this visit. */
  locale: string;
  onLocale: (locale: string) => void;
}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await postJson('/api/auth/login', { username, password });
      await onSignedIn();
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401
          ? new Error(t('Wrong username or password. Check both and try again.'))
          : caught,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <Card className="login-card">
        <form onSubmit={submit} className="stack">
          <h1>{t('Sign in to Ferry')}</h1>
          <InputField
            label={t('Username')}
            name="username"
            autoComplete="username"
            value={username}
            onChange={({ value }) => setUsername(value ?? '')}
            required
          />
          <InputField
            label={t('Password')}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={({ value }) => setPassword(value ?? '')}
            required
          />
          {error ? <ErrorNotice error={error} title={t('Not signed in')} /> : null}
          <Button type="submit" primary loading={busy} disabled={busy || !username || !password}>
            {t('Sign in')}
          </Button>
        </form>
        <Suspense fallback={null}>
          <LanguageSwitch locale={locale} onChange={onLocale} />
        </Suspense>
      </Card>
    </main>
  );
}
