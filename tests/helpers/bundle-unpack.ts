/**
 * Unpack a bundle as a receiver would (yauzl for .zip, node-tar for .tar.gz —
 * never an unzip binary) and check its MANIFEST. Free of vitest, so the
 * browser tests (Playwright) use it too.
 */
import { createHash } from 'node:crypto';
import { chmodSync, createWriteStream, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
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
