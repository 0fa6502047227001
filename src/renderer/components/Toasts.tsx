import { useExpdesk } from '../store-context';

/** Short messages in a corner: launches, copies, runs that ended. Errors stay until dismissed. */
export function Toasts(): React.JSX.Element {
  const toasts = useExpdesk((s) => s.toasts);
  const dismiss = useExpdesk((s) => s.dismissToast);
  return (
    <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} data-testid="toast">
          <span>{t.text}</span>
          <button type="button" className="icon-btn" onClick={() => dismiss(t.id)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
