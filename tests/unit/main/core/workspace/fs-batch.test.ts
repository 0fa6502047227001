import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  prefetchStatGrid,
  readText,
  statGrid,
  statSig,
  statSigs,
  writeAtomic,
} from '../../../../../src/main/core/workspace/fs-batch';
import { tmpDir } from '../../../../helpers/tmp';

describe('fs-batch (stats, reads and writes in a worker)', () => {
  it('answers each of many concurrent calls like the fs module would', async () => {
    const root = tmpDir();
    const files = Array.from({ length: 300 }, (_, i) => path.join(root, `f${i}.txt`));
    files.forEach((f, i) => i % 3 !== 0 && writeFileSync(f, 'x'.repeat(i)));
    const sigs = await Promise.all(files.map((f) => statSig(f)));
    files.forEach((f, i) => {
      if (i % 3 === 0) expect(sigs[i]).toBeNull();
      else {
        const st = statSync(f);
        expect(sigs[i]).toEqual({ size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
      }
    });
    // Below a file is ENOTDIR: missing too, not an error.
    expect(await statSig(path.join(files[1]!, 'below'))).toBeNull();
    const texts = await Promise.all(files.slice(1, 3).map((f) => readText(f, 1024)));
    expect(texts).toEqual(['x', 'xx']);
    await expect(readText(files[0]!, 1024)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('answers many stats in one call, in order: a signature, null for a missing file', async () => {
    const root = tmpDir();
    const files = Array.from({ length: 2000 }, (_, i) => path.join(root, `g${i}.txt`));
    files.forEach((f, i) => i % 4 !== 0 && writeFileSync(f, 'y'.repeat(i % 50)));
    // Two groups and a single stat in one turn share the batch and keep their order.
    const [a, b, one] = await Promise.all([
      statSigs(files.slice(0, 1000)),
      statSigs([...files.slice(1000), path.join(files[1]!, 'below')]),
      statSig(files[5]!),
    ]);
    const all = [...a, ...b];
    expect(all).toHaveLength(2001);
    files.forEach((f, i) => {
      if (i % 4 === 0) expect(all[i]).toBeNull();
      else {
        const st = statSync(f);
        expect(all[i]).toEqual({ size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
      }
    });
    expect(all[2000]).toBeNull();
    expect(one).toEqual(all[5]);
    expect(await statSigs([files[1]!])).toEqual([all[1]]);
  });

  it('answers a batch large enough to be split among workers in order, parts joined', async () => {
    const root = tmpDir();
    const files = Array.from({ length: 300 }, (_, i) => path.join(root, `h${i}.txt`));
    files.forEach((f, i) => i % 4 !== 0 && writeFileSync(f, 'z'.repeat(i % 70)));
    // 9,000 stats (a listing's size; split at 2,048 a part), each file many times, in a shuffled order.
    const order = Array.from({ length: 9000 }, (_, i) => (i * 7919) % files.length);
    const [many, alongside] = await Promise.all([
      statSigs(order.map((i) => files[i]!)),
      readText(files[1]!, 1024),
    ]);
    expect(alongside).toBe('z');
    expect(many).toHaveLength(order.length);
    order.forEach((fi, k) => {
      if (fi % 4 === 0) expect(many[k]).toBeNull();
      else {
        const st = statSync(files[fi]!);
        expect(many[k]).toEqual({ size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
      }
    });
  });

  it('gives a prefetched grid to the same request only, once; any other request stats afresh', async () => {
    const root = tmpDir();
    const dirs = Array.from({ length: 20 }, (_, i) => path.join(root, `e${i}`));
    dirs.forEach((d) => mkdirSync(d));
    const names = ['config.yaml', 'notes.md'];
    const fresh = (grid: Awaited<ReturnType<typeof statGrid>>): boolean => grid.exists(3, 1) === true;
    // Taken before notes.md exists: the prefetched snapshot is what the same request gets.
    await prefetchStatGrid(dirs, names);
    writeFileSync(path.join(dirs[3]!, 'notes.md'), 'x');
    expect(fresh(await statGrid([...dirs], [...names]))).toBe(false);
    // Claimed once: the same request again stats afresh.
    expect(fresh(await statGrid(dirs, names))).toBe(true);
    // Another request (other names, other folders) drops it: the same request after it stats afresh.
    await prefetchStatGrid(dirs, names);
    rmSync(path.join(dirs[3]!, 'notes.md'));
    await statGrid(dirs, ['config.yaml']);
    expect(fresh(await statGrid(dirs, names))).toBe(false);
    await prefetchStatGrid(dirs, names);
    await statGrid(dirs.slice(1), names);
    writeFileSync(path.join(dirs[3]!, 'notes.md'), 'y');
    expect(fresh(await statGrid(dirs, names))).toBe(true);
  });

  it('writes atomically, creating the folder, and reports a failed write', async () => {
    const root = tmpDir();
    const file = path.join(root, 'a', 'b', 'entry.json');
    await writeAtomic(file, '{"v":1}');
    await writeAtomic(file, '{"v":2}');
    expect(readFileSync(file, 'utf8')).toBe('{"v":2}');
    mkdirSync(path.join(root, 'dir'));
    await expect(writeAtomic(path.join(root, 'dir'), 'x')).rejects.toHaveProperty('code');
  });
});
