/**
 * Alerts as OS notifications, shown by the main process (Electron's
 * Notification): a click brings the window forward and asks the interface to
 * open the run (`alert.open`). The text is the run's name and what happened,
 * as plain text.
 */
import { Notification } from 'electron';
import type { EventPayload } from '../../shared/contract';
import type { ExpdeskHost } from '../host/host';

const TITLES = {
  failed: 'Run failed',
  nonfinite: 'NaN in a run',
  stalled: 'Run stalled',
  completed: 'Run completed',
} as const;

export function showAlertNotifications(host: ExpdeskHost, focus: () => void): () => void {
  return host.onEvent((event, payload) => {
    if (event !== 'alert.fired' || !Notification.isSupported()) return;
    const alert = payload as EventPayload<'alert.fired'>;
    const n = new Notification({ title: TITLES[alert.cause], body: alert.text });
    n.on('click', () => {
      focus();
      host.alertClicked(alert.location);
    });
    n.show();
  });
}
