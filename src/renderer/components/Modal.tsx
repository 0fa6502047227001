/**
 * A modal dialog: the backdrop, the dialog box (a form when it has a submit
 * action) and its title bar. With `onClose`, a click outside the box or on its
 * × closes it. Used by the shortcuts card and the SSH questions.
 */
export function Modal(props: {
  /** The dialog's accessible name. */
  label: string;
  testId: string;
  title: React.ReactNode;
  onClose?: () => void;
  /** Makes the box a form: Enter or a submit button calls it. */
  onSubmit?: () => void;
  children: React.ReactNode;
}): React.JSX.Element {
  const { onClose, onSubmit } = props;
  const box = {
    className: 'modal',
    role: 'dialog',
    'aria-modal': true,
    'aria-label': props.label,
    'data-testid': props.testId,
    onMouseDown: onClose ? (e: React.MouseEvent) => e.stopPropagation() : undefined,
  };
  const content = (
    <>
      <div className="modal-head">
        <h2>{props.title}</h2>
        {onClose && (
          <button type="button" className="icon-btn" onClick={onClose} aria-label="Close">
            ×
          </button>
        )}
      </div>
      {props.children}
    </>
  );
  return (
    <div className="modal-backdrop" onMouseDown={onClose}>
      {onSubmit ? (
        <form
          {...box}
          onSubmit={(e) => {
            e.preventDefault();
            onSubmit();
          }}
        >
          {content}
        </form>
      ) : (
        <div {...box}>{content}</div>
      )}
    </div>
  );
}
