import { SHORTCUTS } from '../keyboard';
import { useExpdesk } from '../store-context';
import { Modal } from './Modal';

/** `?`: every shortcut on one card. */
export function ShortcutsDialog(): React.JSX.Element | null {
  const open = useExpdesk((s) => s.shortcutsOpen);
  const setOpen = useExpdesk((s) => s.setShortcutsOpen);
  if (!open) return null;
  return (
    <Modal
      label="Keyboard shortcuts"
      testId="shortcuts-dialog"
      title="Keyboard shortcuts"
      onClose={() => setOpen(false)}
    >
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
    </Modal>
  );
}
