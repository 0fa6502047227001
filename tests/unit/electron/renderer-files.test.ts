import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONTENT_SECURITY_POLICY,
  contentTypeFor,
  isInside,
  resolveRendererFile,
  responseHeadersFor,
} from '../../../src/main/electron/renderer-files';

const ROOT = path.resolve('/opt/expdesk/out/renderer');

function fileOf(url: string): string {
  const r = resolveRendererFile(ROOT, url);
  if (!r.ok) throw new Error(`refused ${url}: ${r.reason}`);
  return r.file;
}

describe('resolveRendererFile', () => {
  it('maps app URLs to files under the renderer folder', () => {
    expect(fileOf('expdesk://app/index.html')).toBe(path.join(ROOT, 'index.html'));
    expect(fileOf('expdesk://app/')).toBe(path.join(ROOT, 'index.html'));
    expect(fileOf('expdesk://app')).toBe(path.join(ROOT, 'index.html'));
    expect(fileOf('expdesk://app/assets/index-abc.js?v=1#x')).toBe(path.join(ROOT, 'assets', 'index-abc.js'));
    expect(fileOf('expdesk://app/assets/my%20font.woff2')).toBe(path.join(ROOT, 'assets', 'my font.woff2'));
    expect(fileOf('expdesk://app/..hidden.js')).toBe(path.join(ROOT, '..hidden.js'));
  });

  it.each([
    'expdesk://app/../secret.txt',
    'expdesk://app/assets/../../secret.txt',
    'expdesk://app/%2e%2e/secret.txt',
    'expdesk://app/%2E%2E/%2E%2E/etc/passwd',
    'expdesk://app/..%2f..%2fetc%2fpasswd',
    'expdesk://app/assets/..%2F..%2Fsecret.txt',
    'expdesk://app/..%5c..%5csecret.txt',
    'expdesk://app/assets/%2e%2e%5csecret.txt',
    'expdesk://app/C:%5cWindows%5cwin.ini',
    'expdesk://app/index.html%00.png',
    'expdesk://app/%2fetc%2fpasswd',
  ])('refuses traversal: %s', (url) => {
    const r = resolveRendererFile(ROOT, url);
    // WHATWG URL parsing removes plain ../ itself; either way nothing outside ROOT comes back.
    if (r.ok) expect(isInside(ROOT, r.file), r.file).toBe(true);
    else expect(r.status).toBe(403);
  });

  it('refuses encoded traversal outright rather than normalising it', () => {
    expect(resolveRendererFile(ROOT, 'expdesk://app/..%2f..%2fetc%2fpasswd')).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(resolveRendererFile(ROOT, 'expdesk://app/assets/%2e%2e%5csecret.txt')).toMatchObject({
      ok: false,
      status: 403,
    });
  });

  it('refuses other hosts, schemes, methods and malformed escapes', () => {
    expect(resolveRendererFile(ROOT, 'expdesk://other/index.html')).toMatchObject({ ok: false, status: 403 });
    expect(resolveRendererFile(ROOT, 'expdesk://app@evil/index.html')).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(resolveRendererFile(ROOT, 'file:///opt/expdesk/out/renderer/index.html')).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(resolveRendererFile(ROOT, 'expdesk://app/index.html', 'POST')).toMatchObject({
      ok: false,
      status: 405,
    });
    expect(resolveRendererFile(ROOT, 'expdesk://app/index.html', 'HEAD')).toMatchObject({ ok: true });
    expect(resolveRendererFile(ROOT, 'expdesk://app/%E0%A4%A.js')).toMatchObject({ ok: false, status: 400 });
    expect(resolveRendererFile(ROOT, '::')).toMatchObject({ ok: false, status: 400 });
  });
});

describe('isInside', () => {
  it('is strict about the boundary', () => {
    expect(isInside(ROOT, path.join(ROOT, 'a.js'))).toBe(true);
    expect(isInside(ROOT, ROOT)).toBe(false);
    expect(isInside(ROOT, `${ROOT}-evil/a.js`)).toBe(false);
    expect(isInside(ROOT, path.dirname(ROOT))).toBe(false);
  });
});

describe('headers', () => {
  it('serves scripts as JavaScript (module scripts require it) and unknown files as opaque bytes', () => {
    expect(contentTypeFor('a/index-x.js')).toMatch(/^text\/javascript/);
    expect(contentTypeFor('index.HTML')).toMatch(/^text\/html/);
    expect(contentTypeFor('a.css')).toMatch(/^text\/css/);
    expect(contentTypeFor('a.woff2')).toBe('font/woff2');
    expect(contentTypeFor('Makefile')).toBe('application/octet-stream');
  });

  it('sends a strict CSP with every response', () => {
    const csp = Object.fromEntries(
      CONTENT_SECURITY_POLICY.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(csp['default-src']).toEqual(["'none'"]);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['object-src']).toEqual(["'none'"]);
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    expect(csp['base-uri']).toEqual(["'none'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|https?:|\*/);
    const headers = responseHeadersFor('x.html');
    expect(headers['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(headers['X-Content-Type-Options']).toBe('nosniff');
    expect(responseHeadersFor(null)['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
  });
});
