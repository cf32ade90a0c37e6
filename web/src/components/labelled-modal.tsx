import { useCallback, useId, type ReactNode } from 'react';
import { Modal, ModalActions, ModalContent, ModalTitle } from '@dhis2/ui';

/**
 * @dhis2/ui's Modal with its title as the dialog's accessible name. The Modal renders
 * `<aside role="dialog">` without passing aria attributes through, so the title's element sets
 * it on the dialog around it as soon as it is rendered.
 */
export function LabelledModal({
  title,
  dataTest,
  onClose,
  small,
  children,
  actions,
}: {
  title: string;
  dataTest: string;
  onClose?: () => void;
  small?: boolean;
  children: ReactNode;
  actions: ReactNode;
}) {
  const titleId = `${dataTest}-title-${useId().replace(/:/g, '')}`;
  const nameDialog = useCallback(
    (element: HTMLElement | null) =>
      element?.closest('[role=dialog]')?.setAttribute('aria-labelledby', titleId),
    [titleId],
  );
  return (
    <Modal onClose={onClose} position="middle" small={small} dataTest={dataTest}>
      <ModalTitle>
        <span id={titleId} ref={nameDialog}>
          {title}
        </span>
      </ModalTitle>
      <ModalContent>{children}</ModalContent>
      <ModalActions>{actions}</ModalActions>
    </Modal>
  );
}
