/**
 * Alerts in the interface (issue 13). The host fires `alert.fired` once per
 * run and cause (failed, NaN/±Inf, stalled, completed): each becomes a toast
 * and a desktop notification that opens the run when clicked. Electron's main
 * process shows its own OS notification (and sends `alert.open` on a click);
 * in browser mode the page's Notification API shows it, permission asked once,
 * on the first click in the page. Also: the workspace's webhook setting.
 */
import { useEffect, useState } from 'react';
import type { EventPayload } from '../../shared/contract';
import { useExpdesk, useExpdeskStore } from '../store-context';
import { browserNotifier } from '../lib/notify';
import { runEventKey } from '../state/app';
import { Popover } from './Popover';

const ASKED_KEY = 'expdesk.notifications.asked';

/** Whether this page shows alerts itself: not under Electron, whose main process shows them. */
function pageNotifies(): boolean {
  return typeof window !== 'undefined' && !window.expdesk;
}

/** Ask for the notification permission once ever, on the user's first click (browsers want a gesture). */
function askOnce(): () => void {
  const n = browserNotifier();
  let asked = false;
  try {
    asked = window.localStorage.getItem(ASKED_KEY) === '1';
  } catch {
    // no storage: ask this once
  }
  if (asked || n.permission() !== 'default') return () => undefined;
  const onClick = (): void => {
    document.removeEventListener('pointerdown', onClick, true);
    try {
      window.localStorage.setItem(ASKED_KEY, '1');
    } catch {
      // asked in this page only
    }
    void n.request();
  };
  document.addEventListener('pointerdown', onClick, true);
  return () => document.removeEventListener('pointerdown', onClick, true);
}

const TITLES: Record<EventPayload<'alert.fired'>['cause'], string> = {
  failed: 'Run failed',
  nonfinite: 'NaN in a run',
  stalled: 'Run stalled',
  completed: 'Run completed',
};

/** Follows the host's alert events; renders nothing. */
export function AlertNotices(): null {
  const client = useExpdesk((s) => s.client);
  const store = useExpdeskStore();
  useEffect(() => {
    const open = (location: string): void => {
      window.focus();
      void store.getState().openDetail(location);
    };
    const offs = [
      client.on('alert.fired', (a) => {
        const kind = a.cause === 'completed' ? 'success' : a.cause === 'failed' ? 'error' : 'warning';
        // The run's own status event may have told its end already (store's toastOnce): one toast per event.
        store.getState().toastOnce(runEventKey(a.location, a.cause), kind, a.text);
        if (!pageNotifies() || typeof Notification === 'undefined' || Notification.permission !== 'granted')
          return;
        try {
          // Untrusted names go in as plain text: the OS renders the body as text.
          const n = new Notification(TITLES[a.cause], { body: a.text, tag: `${a.location}\n${a.cause}` });
          n.onclick = () => {
            n.close();
            open(a.location);
          };
        } catch {
          // some platforms refuse page notifications; the toast said it
        }
      }),
      client.on('alert.open', ({ location }) => open(location)),
      client.on('alert.webhook', ({ message }) => store.getState().toast('warning', message)),
    ];
    const stopAsking = pageNotifies() ? askOnce() : () => undefined;
    return () => {
      for (const off of offs) off();
      stopAsking();
    };
  }, [client, store]);
  return null;
}

/** The open workspace's webhook (Slack-compatible), set from the toolbar. */
export function WebhookSetting(): React.JSX.Element | null {
  const workspace = useExpdesk((s) => s.listing?.root ?? null);
  if (!workspace) return null;
  return (
    <Popover label="Alerts ▾" title="Where alerts of this workspace go" testId="alerts-menu" align="right">
      {(close) => <WebhookForm workspace={workspace} close={close} />}
    </Popover>
  );
}

function WebhookForm(props: { workspace: string; close(): void }): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const [url, setUrl] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void client
      .invoke('alerts.webhook', { workspace: props.workspace })
      .then((r) => setUrl(r.url ?? ''))
      .catch(() => undefined);
  }, [client, props.workspace]);
  const save = (): void => {
    client
      .invoke('alerts.setWebhook', { workspace: props.workspace, url: url.trim() || null })
      .then(() => props.close())
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  };
  return (
    <form
      className="menu webhook-menu"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <div className="menu-title">Webhook for alerts (Slack-compatible)</div>
      <input
        type="url"
        className="small-input"
        value={url}
        placeholder="https://hooks.slack.com/services/…"
        aria-label="Webhook URL"
        data-testid="webhook-input"
        onChange={(e) => setUrl(e.target.value)}
      />
      {error && (
        <div className="banner banner-error" role="alert">
          {error}
        </div>
      )}
      <button type="submit" className="btn" data-testid="webhook-save">
        Save
      </button>
    </form>
  );
}
