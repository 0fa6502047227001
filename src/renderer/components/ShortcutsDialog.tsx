import { SHORTCUTS } from '../keyboard';
import { useExpdesk } from '../store-context';

/** `?`: every shortcut on one card. */
export function ShortcutsDialog(): React.JSX.Element | null {
  const open = useExpdesk((s) => s.shortcutsOpen);
  const setOpen = useExpdesk((s) => s.setShortcutsOpen);
  if (!open) return null;
  return (
    <div className="modal-backdrop" onMouseDown={() => setOpen(false)}>
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-label="Keyboard shortcuts"
        data-testid="shortcuts-dialog"
        onMouseDown={(e) => e.stopPropagation()}
      >
        <div className="modal-head">
          <h2>Keyboard shortcuts</h2>
          <button type="button" className="icon-btn" onClick={() => setOpen(false)} aria-label="Close">
            ×
          </button>
        </div>
        <table className="kv-table">
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.what}>
                <td>
                  <kbd>{s.keys}</kbd>
                </td>
                <td>{s.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
