/**
 * electron-builder.yml checked against electron-builder's own configuration
 * schema (app-builder-lib/scheme.json, JSON Schema draft-07), plus the
 * decisions the app depends on: the four installers, node-pty unpacked from
 * the asar, the demo shipped beside it, the security fuses, the icon.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../../..');
const require = createRequire(import.meta.url);

type Config = Record<string, unknown> & {
  linux?: { target?: unknown; category?: string; maintainer?: string };
  deb?: { maintainer?: string };
  mac?: { target?: unknown; category?: string; hardenedRuntime?: boolean; entitlements?: string };
  win?: { target?: unknown };
  nsis?: { oneClick?: boolean; allowToChangeInstallationDirectory?: boolean };
  files?: unknown[];
  extraResources?: unknown[];
  asarUnpack?: string[];
  electronFuses?: Record<string, boolean>;
  directories?: { output?: string };
};

let validate: ValidateFunction;
let config: Config;

beforeAll(() => {
  const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
  validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  config = parse(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as Config;
});

function errorsOf(candidate: unknown): string[] {
  return validate(candidate)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** Target names of a platform section, whether written as a string, a list or objects. */
function targets(section: { target?: unknown } | undefined): string[] {
  const t = section?.target;
  const list = Array.isArray(t) ? t : t === undefined ? [] : [t];
  return list.map((x) => (typeof x === 'string' ? x : (x as { target: string }).target));
}

describe('electron-builder.yml', () => {
  it('is valid against electron-builder’s configuration schema', () => {
    expect(errorsOf(config)).toEqual([]);
  });

  it('the schema check can fail: unknown keys and wrong types are rejected', () => {
    expect(errorsOf({ ...config, asarUnpak: ['node_modules/node-pty/**'] }).join('\n')).toMatch(
      /additional properties/,
    );
    expect(errorsOf({ ...config, linux: { ...config.linux, target: 42 } })).not.toEqual([]);
    expect(errorsOf({ ...config, win: { target: [{ arch: 'x64' }] } })).not.toEqual([]); // target name missing
    expect(errorsOf({ ...config, nsis: { ...config.nsis, oneClick: 'no' } })).not.toEqual([]);
    expect(errorsOf({ ...config, electronFuses: { ...config.electronFuses, runAsnode: false } })).not.toEqual(
      [],
    );
    expect(errorsOf({ ...config, asar: 'yes' })).not.toEqual([]);
  });

  it('identifies the app', () => {
    expect(config.appId).toBe('dev.expdesk.app');
    expect(config.productName).toBe('Expdesk');
    expect(config.directories?.output).toBe('dist');
  });

  it('builds AppImage + deb, dmg and nsis', () => {
    expect(targets(config.linux).sort()).toEqual(['AppImage', 'deb']);
    expect(config.linux?.category).toBe('Development');
    expect(config.linux?.maintainer ?? config.deb?.maintainer).toMatch(/\S+ <[^>]+@[^>]+>/);
    expect(targets(config.mac)).toEqual(['dmg']);
    expect(config.mac?.category).toBe('public.app-category.developer-tools');
    expect(config.mac?.hardenedRuntime).toBe(true);
    expect(readFileSync(path.join(ROOT, config.mac!.entitlements!), 'utf8')).toContain(
      'com.apple.security.cs.allow-jit',
    );
    expect(targets(config.win)).toEqual(['nsis']);
    expect(config.nsis).toMatchObject({ oneClick: false, allowToChangeInstallationDirectory: true });
  });

  it('packs the built app in an asar with node-pty unpacked, and ships the demo beside it', () => {
    expect(config.asar).toBe(true);
    expect(config.asarUnpack).toContain('node_modules/node-pty/**');
    expect(config.files).toEqual(
      expect.arrayContaining(['out/**', 'package.json', 'bin/**', 'resources/**', '!resources/demo/**']),
    );
    expect(config.extraResources).toContainEqual({ from: 'resources/demo', to: 'demo' });
  });

  it('sets the security fuses', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  it('points at a 512x512 PNG icon', () => {
    const png = readFileSync(path.join(ROOT, String(config.icon)));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(512); // IHDR width
    expect(png.readUInt32BE(20)).toBe(512); // IHDR height
  });

  it('names main entry and files that exist in the electron-vite layout', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main?: string };
    expect(pkg.main?.replace(/^\.\//, '')).toBe('out/main/index.js');
  });
});
