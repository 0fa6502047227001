/**
 * Which URLs the Electron shell trusts: the app origin (expdesk://app) and,
 * in development only, the electron-vite dev server. Pure so that vitest can
 * check every rule under Node; windows.ts and ipc.ts only ask these questions.
 *
 * Origins are compared as `scheme://host[:port]` strings built by hand:
 * WHATWG URL gives every non-special scheme (expdesk:) the opaque origin
 * "null", so `new URL(u).origin` cannot tell expdesk://app from expdesk://evil.
 */

export const APP_SCHEME = 'expdesk';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** `scheme://host[:port]` of a URL, or null when it has none (file:, data:, about:, garbage). */
export function originOf(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  // Credentials in a URL are a classic way to disguise its host (expdesk://app@evil/).
  if (parsed.username || parsed.password) return null;
  if (!parsed.host) return null;
  return `${parsed.protocol}//${parsed.host}`.toLowerCase();
}

/**
 * The origins whose pages may talk to the host: the app origin, plus the dev
 * server's origin when one is given (unpackaged builds run by `electron-vite dev`).
 */
export function trustedOrigins(devServerUrl?: string | null): readonly string[] {
  const dev = devServerUrl ? originOf(devServerUrl) : null;
  return dev && /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(dev)
    ? [APP_ORIGIN, dev]
    : [APP_ORIGIN];
}

/** True when a frame at `url` is one of ours (GitHub Desktop's trusted-ipc-sender idea, by URL). */
export function isTrustedSenderUrl(url: string, origins: readonly string[] = [APP_ORIGIN]): boolean {
  const origin = originOf(url);
  return origin !== null && origins.includes(origin);
}

/** What ipc.ts knows about the frame that sent a message. */
export interface SenderInfo {
  /** event.senderFrame?.url; undefined when the frame is gone (navigated away or destroyed). */
  frameUrl: string | undefined;
  /** The sender is the top frame of its page, not an iframe inside it. */
  isTopFrame: boolean;
  /** The sender's webContents belongs to a window this process created. */
  isOwnWindow: boolean;
}

/** Every IPC message must come from the top frame of one of our windows showing our own page. */
export function isTrustedSender(sender: SenderInfo, origins: readonly string[] = [APP_ORIGIN]): boolean {
  return (
    sender.isOwnWindow &&
    sender.isTopFrame &&
    sender.frameUrl !== undefined &&
    isTrustedSenderUrl(sender.frameUrl, origins)
  );
}

/** Navigation is allowed only within our own origin (reloads, in-app links); everything else is denied. */
export function isAllowedNavigation(url: string, origins: readonly string[] = [APP_ORIGIN]): boolean {
  return isTrustedSenderUrl(url, origins);
}

/**
 * A link the user clicked that may be handed to the OS browser: http(s) only,
 * without credentials. Returns the normalised URL, or null to drop it (file:,
 * javascript:, smb:, custom protocols that would launch other programs…).
 */
export function externalUrlToOpen(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  if (parsed.username || parsed.password || !parsed.hostname) return null;
  return parsed.href;
}

/**
 * Permissions granted to our own pages. Everything else (camera, geolocation,
 * HID, …) is denied; writing text to the clipboard is what a "copy path"
 * button needs, and reading it is not granted. Notifications announce a run
 * that ended or failed (the renderer's web Notification API, which Electron
 * shows as OS notifications, asks this handler).
 */
const GRANTED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write', 'notifications']);

export function isPermissionGranted(
  permission: string,
  requestingUrl: string,
  origins: readonly string[] = [APP_ORIGIN],
): boolean {
  return GRANTED_PERMISSIONS.has(permission) && isTrustedSenderUrl(requestingUrl, origins);
}
