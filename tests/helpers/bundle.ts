/**
 * Helpers for bundle tests: unpack a bundle as a receiver would (yauzl for
 * .zip, node-tar for .tar.gz — never an unzip binary), check its MANIFEST,
 * and run its reproduce.sh with a PATH that holds no node and no expdesk.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll } from 'vitest';
import { x as extractTar } from 'tar';
import yauzl from 'yauzl';
import { parseManifest } from '../../src/main/core/bundle/manifest';

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true }, (err, zip) => (err ? reject(err) : resolve(zip))),
  );
}

function entryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))),
  );
}

async function unzip(file: string, dest: string): Promise<void> {
  const zip = await openZip(file);
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      void (async () => {
        const target = path.join(dest, entry.fileName);
        if (!target.startsWith(dest + path.sep)) throw new Error(`entry escapes: ${entry.fileName}`);
        const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
        if (entry.fileName.endsWith('/')) {
          mkdirSync(target, { recursive: true });
        } else if ((unixMode & 0o170000) === 0o120000) {
          mkdirSync(path.dirname(target), { recursive: true });
          const chunks: Buffer[] = [];
          for await (const c of (await entryStream(zip, entry)) as AsyncIterable<Buffer>) chunks.push(c);
          symlinkSync(Buffer.concat(chunks).toString('utf8'), target);
        } else {
          mkdirSync(path.dirname(target), { recursive: true });
          await pipeline(await entryStream(zip, entry), createWriteStream(target));
          if (unixMode & 0o777) chmodSync(target, unixMode & 0o777);
        }
        zip.readEntry();
      })().catch(reject);
    });
    zip.readEntry();
  });
}

/** Unpack a .zip or .tar.gz into `dest`; returns the one folder it holds. */
export async function unpackBundle(file: string, dest: string): Promise<string> {
  mkdirSync(dest, { recursive: true });
  if (file.endsWith('.zip')) await unzip(file, dest);
  else await extractTar({ file, cwd: dest });
  const top = readdirSync(dest);
  if (top.length !== 1) throw new Error(`a bundle unpacks to one folder, got ${top.join(', ')}`);
  return path.join(dest, top[0]!);
}

/** Every file under `dir`, '/'-separated, relative. */
export function filesUnder(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p, base));
    else out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out.sort();
}

/** MANIFEST lists every other file exactly once, each with its sha256. Returns the listed paths. */
export function checkManifest(bundleDir: string): string[] {
  const entries = parseManifest(readFileSync(path.join(bundleDir, 'MANIFEST'), 'utf8'));
  for (const e of entries) {
    const hash = createHash('sha256')
      .update(readFileSync(path.join(bundleDir, e.path)))
      .digest('hex');
    if (hash !== e.sha256) throw new Error(`MANIFEST: ${e.path} has sha256 ${hash}, listed ${e.sha256}`);
  }
  const listed = entries.map((e) => e.path).sort();
  const present = filesUnder(bundleDir).filter((f) => f !== 'MANIFEST');
  if (JSON.stringify(listed) !== JSON.stringify(present))
    throw new Error(`MANIFEST lists ${listed.join(', ')}; the bundle holds ${present.join(', ')}`);
  return listed;
}

/** The real interpreter behind python3 (here a pyenv shim, which needs pyenv on PATH). */
export function realPython(): string {
  return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
}

const NOT_ON_PATH = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack', 'expdesk']);

/** Folders of links, made once per test file (linking all of /usr/bin takes a second). */
const binDirs = new Map<string, string>();
afterAll(() => {
  for (const dir of binDirs.values()) rmSync(dir, { recursive: true, force: true });
  binDirs.clear();
});

/**
 * A PATH for a machine that has the bundle but no Node and no Expdesk: the
 * real python's folder first, then a folder of links to every program in
 * /usr/bin and /bin except node, npm, npx and expdesk (and, on request, git
 * and patch, or every python).
 */
export function receiverPath(opts: { noGit?: boolean; noPatch?: boolean; noPython?: boolean } = {}): string {
  const key = JSON.stringify([Boolean(opts.noGit), Boolean(opts.noPatch), Boolean(opts.noPython)]);
  let binDir = binDirs.get(key);
  if (!binDir) {
    binDir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-receiver-bin-'));
    binDirs.set(key, binDir);
    const skip = (name: string): boolean =>
      NOT_ON_PATH.has(name) ||
      (Boolean(opts.noGit) && name.startsWith('git')) ||
      (Boolean(opts.noPatch) && name === 'patch') ||
      (Boolean(opts.noPython) && name.startsWith('python'));
    for (const dir of ['/usr/bin', '/bin']) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (skip(name) || existsSync(path.join(binDir, name))) continue;
        symlinkSync(path.join(dir, name), path.join(binDir, name));
      }
    }
  }
  return opts.noPython ? binDir : `${path.dirname(realPython())}:${binDir}`;
}

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last line of stdout: the new experiment folder. */
  last: string;
}

/** Run the unpacked bundle's reproduce.sh with only `PATH` (and HOME) in its environment. */
export function runReproduce(bundleDir: string, args: string[], envPath: string, cwd?: string): ScriptResult {
  const r = spawnSync('/bin/bash', [path.join(bundleDir, 'reproduce.sh'), ...args], {
    cwd: cwd ?? bundleDir,
    encoding: 'utf8',
    env: { PATH: envPath, HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' },
    timeout: 120_000,
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1] ?? '' };
}
