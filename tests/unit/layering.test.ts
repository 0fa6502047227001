/**
 * The layering of docs/architecture.md, enforced: a file's folder says where it
 * runs and what it may import (after VS Code's code-layering rule). A new
 * import across layers fails this test with the file, the line and the rule.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

type Layer = 'shared' | 'core' | 'host' | 'server' | 'electron' | 'preload' | 'renderer' | 'cli';

/** Which source layers each layer may import. */
const ALLOWED_LAYERS: Record<Layer, Layer[]> = {
  shared: ['shared'],
  core: ['shared', 'core'],
  host: ['shared', 'core', 'host'],
  server: ['shared', 'core', 'host', 'server'],
  electron: ['shared', 'core', 'host', 'electron'],
  preload: ['shared', 'preload'],
  renderer: ['shared', 'renderer'],
  cli: ['shared', 'core', 'host', 'server', 'cli'],
};

/**
 * Inside core, folders are ordered too: a folder may import itself and folders
 * of a lower rank, never one of its own rank or above (so two folders can
 * never import each other). Lowest first; see docs/architecture.md.
 */
export const CORE_RANKS: Record<string, number> = {
  app: 0, // the user's folders (cache, config)
  fs: 0, // file-reading primitives
  workspace: 1, // discovery, files, status, listing (summaries through the Summarizer interface)
  metrics: 2,
  configs: 2,
  logs: 2,
  summary: 3,
  watch: 4,
  alerts: 4, // run alerts (failed, NaN, stalled, completed), their memory and the webhook
  verify: 4,
  capture: 5,
  runs: 6,
  bundle: 7,
  remote: 8,
  backend: 9, // one interface over local (workspace, watch, configs) and SSH (remote) experiments
};

/** The core folder a file is in (src/main/core/<folder>/...), or null outside core. */
function coreFolder(file: string): string | null {
  const rel = path.relative(path.join(SRC, 'main', 'core'), file).split(path.sep);
  if (rel[0] === '..' || rel.length < 2) return rel[0] === '..' ? null : '';
  return rel[0]!;
}

/** Why an import between two core files breaks the order, or null. */
export function coreOrderViolation(from: string, to: string): string | null {
  const a = coreFolder(from);
  const b = coreFolder(to);
  if (a === null || b === null || a === b) return null;
  const ra = CORE_RANKS[a];
  const rb = CORE_RANKS[b];
  if (ra === undefined) return `core/${a}/ has no rank: add it to CORE_RANKS and to docs/architecture.md`;
  if (rb === undefined) return `core/${b}/ has no rank: add it to CORE_RANKS and to docs/architecture.md`;
  if (rb >= ra)
    return `core/${a} (rank ${ra}) may only import lower core folders, not core/${b} (rank ${rb})`;
  return null;
}

/** Packages (not relative imports) a layer may not use. */
function forbiddenPackage(layer: Layer, spec: string): string | null {
  const isNode = spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0]!);
  if (spec === 'electron' || spec.startsWith('electron/')) {
    return layer === 'electron' || layer === 'preload'
      ? null
      : "only src/main/electron and src/preload may import 'electron'";
  }
  if (layer === 'shared' || layer === 'renderer') {
    if (isNode) return `${layer} code runs in the browser too: no Node modules`;
    if (['node-pty', 'ssh2', 'ws', 'chokidar'].includes(spec))
      return `${layer} code may not use the Node-only package ${spec}`;
  }
  if (layer === 'preload') {
    return 'the preload exposes the contract only: it imports electron and src/shared, nothing else';
  }
  return null;
}

const NODE_BUILTINS = new Set([
  'fs',
  'path',
  'os',
  'child_process',
  'crypto',
  'http',
  'https',
  'net',
  'url',
  'util',
  'stream',
  'events',
  'worker_threads',
  'zlib',
  'readline',
  'tty',
  'buffer',
  'process',
  'dns',
  'assert',
  'module',
  'timers',
]);

export function layerOf(file: string): Layer | null {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel[0] === 'shared' || rel[0] === 'preload' || rel[0] === 'renderer' || rel[0] === 'cli') return rel[0];
  if (rel[0] === 'main') {
    if (rel[1] === 'core') return 'core';
    if (rel[1] === 'host') return 'host';
    if (rel[1] === 'server') return 'server';
    if (rel[1] === 'electron') return 'electron';
  }
  return null;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|tsx|mts|cts)$/.test(name)) out.push(p);
  }
  return out;
}

const IMPORT_RE =
  /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;

export function violations(file: string, text: string): string[] {
  const layer = layerOf(file);
  const out: string[] = [];
  if (!layer) {
    out.push(
      `${path.relative(ROOT, file)}: not in any layer (put it under one of src/shared, src/main/{core,host,server,electron}, src/preload, src/renderer, src/cli)`,
    );
    return out;
  }
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    const line = text.slice(0, m.index).split('\n').length;
    const where = `${path.relative(ROOT, file)}:${line}`;
    if (spec.startsWith('.')) {
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(SRC + path.sep)) {
        out.push(`${where}: imports ${spec}, outside src/`);
        continue;
      }
      const targetLayer = layerOf(target + '.ts') ?? layerOf(target);
      if (!targetLayer || !ALLOWED_LAYERS[layer].includes(targetLayer)) {
        out.push(`${where}: ${layer} may not import ${targetLayer ?? 'unlayered'} code (${spec})`);
      } else if (layer === 'core' && targetLayer === 'core') {
        const why = coreOrderViolation(file, target);
        if (why) out.push(`${where}: imports ${spec}: ${why}`);
      }
    } else {
      const why = forbiddenPackage(layer, spec);
      if (why) out.push(`${where}: imports ${spec}: ${why}`);
    }
  }
  return out;
}

/**
 * zod 4 probes for eval with `new Function` when a schema is first used: under
 * the renderer's strict CSP that is a reported violation. The renderer may
 * import shared modules that use zod for their types only.
 */
export function zodInRenderer(file: string, text: string): string[] {
  const out: string[] = [];
  const re = /import\s+(?!type\s)[^'"]*?\sfrom\s+['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(re)) {
    const spec = m[1]!;
    const line = text.slice(0, m.index).split('\n').length;
    const where = `${path.relative(ROOT, file)}:${line}`;
    if (spec === 'zod' || spec.startsWith('zod/')) out.push(`${where}: imports zod at run time`);
    else if (spec.startsWith('.')) {
      const target = path.resolve(path.dirname(file), spec);
      const candidates = [target, `${target}.ts`, `${target}.tsx`].filter(
        (c) => existsSync(c) && !statSync(c).isDirectory(),
      );
      const used = candidates.find((c) => /from\s+['"]zod['"]/.test(readFileSync(c, 'utf8')));
      if (used && layerOf(used) === 'shared')
        out.push(`${where}: imports ${spec} at run time, which uses zod (use \`import type\`)`);
    }
  }
  return out;
}

describe('layering', () => {
  it('no source file imports across layers', () => {
    const found = sourceFiles(SRC).flatMap((f) => violations(f, readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });

  it('the renderer never runs zod (its eval probe breaks the CSP): shared schemas are imported as types', () => {
    const files = sourceFiles(path.join(SRC, 'renderer'));
    expect(files.length).toBeGreaterThan(10);
    expect(files.flatMap((f) => zodInRenderer(f, readFileSync(f, 'utf8')))).toEqual([]);
    const f = path.join(SRC, 'renderer', 'x.ts');
    expect(zodInRenderer(f, "import { SweepTag } from '../shared/model';")).toHaveLength(1);
    expect(zodInRenderer(f, "import type { RemoteStatusPayload } from '../shared/remote-location';")).toEqual(
      [],
    );
  });

  it('catches the imports it is meant to catch', () => {
    const f = (rel: string): string => path.join(SRC, rel);
    expect(violations(f('renderer/x.ts'), "import fs from 'node:fs';")).toHaveLength(1);
    expect(violations(f('renderer/x.ts'), "import { h } from '../main/host/host';")).toHaveLength(1);
    expect(violations(f('shared/x.ts'), "import { x } from '../main/core/workspace/discover';")).toHaveLength(
      1,
    );
    expect(violations(f('main/core/x.ts'), "import { app } from 'electron';")).toHaveLength(1);
    expect(violations(f('main/core/x.ts'), "import { h } from '../host/host';")).toHaveLength(1);
    expect(violations(f('preload/x.ts'), "import { readFile } from 'fs';")).toHaveLength(1);
    expect(violations(f('main/electron/x.ts'), "import { app } from 'electron';")).toEqual([]);
    expect(violations(f('renderer/x.ts'), "import type { X } from '../shared/model';")).toEqual([]);
    expect(violations(f('cli/x.ts'), "const m = await import('../main/server/server');")).toEqual([]);
  });

  it('orders the folders inside core: a lower folder importing a higher one fails with file, line and rule', () => {
    const f = (rel: string): string => path.join(SRC, 'main', 'core', rel);
    const up = violations(
      f('workspace/workspace.ts'),
      "\nimport type { SummaryStore } from '../summary/summary-store';",
    );
    expect(up).toEqual([
      'src/main/core/workspace/workspace.ts:2: imports ../summary/summary-store: core/workspace (rank 1) may only import lower core folders, not core/summary (rank 3)',
    ]);
    // Same rank: metrics and configs may not import each other (no circles between folders).
    expect(violations(f('metrics/x.ts'), "import { a } from '../configs/compose';")).toHaveLength(1);
    expect(violations(f('remote/x.ts'), "import { a } from '../runs/prepare';")).toEqual([]);
    expect(violations(f('summary/x.ts'), "import { a } from './y';")).toEqual([]);
    expect(violations(f('newthing/x.ts'), "import { a } from '../workspace/files';")[0]).toMatch(/no rank/);
    expect(violations(f('x.ts'), "import { a } from './workspace/files';")[0]).toMatch(/no rank/);
  });
});
