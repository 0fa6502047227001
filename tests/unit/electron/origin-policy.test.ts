import { describe, expect, it } from 'vitest';
import {
  APP_ENTRY_URL,
  APP_ORIGIN,
  externalUrlToOpen,
  isAllowedNavigation,
  isPermissionGranted,
  isTrustedSender,
  isTrustedSenderUrl,
  originOf,
  trustedOrigins,
} from '../../../src/main/electron/origin-policy';

describe('isTrustedSenderUrl', () => {
  it('accepts pages of the app origin', () => {
    expect(APP_ENTRY_URL).toBe('expdesk://app/index.html');
    expect(isTrustedSenderUrl('expdesk://app/index.html')).toBe(true);
    expect(isTrustedSenderUrl('expdesk://app/')).toBe(true);
    expect(isTrustedSenderUrl('expdesk://app/index.html?x=1#top')).toBe(true);
    expect(isTrustedSenderUrl('EXPDESK://APP/index.html')).toBe(true);
  });

  it.each([
    ['file:///work/main/out/renderer/index.html'],
    ['http://evil.example/'],
    ['https://evil.example/expdesk://app/'],
    ['expdesk://other/index.html'],
    ['expdesk://app.evil/index.html'],
    ['expdesk://app:8080/index.html'],
    ['expdesk://app@evil/index.html'],
    ['expdesk://user:pw@app/index.html'],
    ['about:blank'],
    ['data:text/html,<script>1</script>'],
    ['devtools://devtools/bundled/inspector.html'],
    [''],
    ['not a url'],
  ])('rejects %s', (url) => {
    expect(isTrustedSenderUrl(url)).toBe(false);
  });

  it('trusts a dev server only when one is given, and only on loopback', () => {
    expect(isTrustedSenderUrl('http://localhost:5173/')).toBe(false);
    const dev = trustedOrigins('http://localhost:5173/');
    expect(dev).toEqual([APP_ORIGIN, 'http://localhost:5173']);
    expect(isTrustedSenderUrl('http://localhost:5173/index.html', dev)).toBe(true);
    expect(isTrustedSenderUrl('http://localhost:5174/index.html', dev)).toBe(false);
    expect(trustedOrigins('http://192.168.1.5:5173/')).toEqual([APP_ORIGIN]);
    expect(trustedOrigins(null)).toEqual([APP_ORIGIN]);
  });

  it('originOf has no origin for URLs without a host', () => {
    expect(originOf('file:///etc/passwd')).toBeNull();
    expect(originOf('expdesk://app/x')).toBe('expdesk://app');
  });
});

describe('isTrustedSender', () => {
  const ok = { frameUrl: 'expdesk://app/index.html', isTopFrame: true, isOwnWindow: true };
  it('needs our page, in the top frame, of one of our windows', () => {
    expect(isTrustedSender(ok)).toBe(true);
    expect(isTrustedSender({ ...ok, isOwnWindow: false })).toBe(false);
    expect(isTrustedSender({ ...ok, isTopFrame: false })).toBe(false);
    expect(isTrustedSender({ ...ok, frameUrl: undefined })).toBe(false);
    expect(isTrustedSender({ ...ok, frameUrl: 'http://evil/' })).toBe(false);
  });
});

describe('navigation, external links and permissions', () => {
  it('allows navigation only within the app origin', () => {
    expect(isAllowedNavigation('expdesk://app/index.html')).toBe(true);
    expect(isAllowedNavigation('https://example.com/')).toBe(false);
    expect(isAllowedNavigation('file:///tmp/dropped-folder')).toBe(false);
  });

  it('hands only http(s) links without credentials to the OS browser', () => {
    expect(externalUrlToOpen('https://github.com/x/y')).toBe('https://github.com/x/y');
    expect(externalUrlToOpen('http://example.com')).toBe('http://example.com/');
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://host/share',
      'ms-msdt:/id',
      'expdesk://app/index.html',
      'https://user:pw@example.com/',
      'nonsense',
    ]) {
      expect(externalUrlToOpen(url), url).toBeNull();
    }
  });

  it('grants clipboard writes and notifications to our pages and nothing else', () => {
    expect(isPermissionGranted('clipboard-sanitized-write', 'expdesk://app/index.html')).toBe(true);
    expect(isPermissionGranted('clipboard-sanitized-write', 'https://evil/')).toBe(false);
    expect(isPermissionGranted('notifications', 'expdesk://app/index.html')).toBe(true);
    expect(isPermissionGranted('notifications', 'https://evil/')).toBe(false);
    for (const p of ['media', 'geolocation', 'clipboard-read', 'openExternal', 'hid']) {
      expect(isPermissionGranted(p, 'expdesk://app/index.html'), p).toBe(false);
    }
  });
});
