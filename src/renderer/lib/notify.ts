/**
 * Desktop notifications through the web Notification API, which Electron's
 * renderer implements with the OS's own notifications; browsers show theirs.
 * Permission is asked on a user gesture (the first Launch), never at start.
 */
export type NotifyPermission = 'granted' | 'denied' | 'default' | 'unsupported';

export interface Notifier {
  permission(): NotifyPermission;
  /** Ask once; resolves with the answer. */
  request(): Promise<NotifyPermission>;
  show(title: string, body: string): void;
}

export function browserNotifier(): Notifier {
  const N = typeof Notification === 'undefined' ? null : Notification;
  return {
    permission: () => (N ? N.permission : 'unsupported'),
    async request() {
      if (!N) return 'unsupported';
      if (N.permission !== 'default') return N.permission;
      try {
        return await N.requestPermission();
      } catch {
        return 'denied';
      }
    },
    show(title, body) {
      if (!N || N.permission !== 'granted') return;
      try {
        // Untrusted names go in as plain text: the OS renders the body as text.
        new N(title, { body, silent: false });
      } catch {
        // Some platforms refuse page notifications; the in-app toast still says it.
      }
    },
  };
}

/** A notifier that shows nothing (tests, or before the user said yes). */
export const silentNotifier: Notifier = {
  permission: () => 'unsupported',
  request: async () => 'unsupported',
  show: () => undefined,
};
