/**
 * `expdesk export` and `expdesk verify`.
 *
 * export: progress on stderr (a live line on a terminal, one line per phase
 * otherwise), what the bundle lacks on stdout, and the bundle's path as the
 * LAST line of stdout so scripts can take `tail -n 1`. Ctrl-C (or SIGTERM)
 * stops the export and deletes the partial file: no bundle is left behind.
 *
 * verify: one verdict line (or --json); exit 0 only for identical or within
 * tolerance, 1 for diverged.
 */
import path from 'node:path';
import type { BundleProgress, BundlePhase } from '../main/core/bundle/export';
import { BundleError, defaultBundlePath, exportBundle, type LeftOut } from '../main/core/bundle/export';
import { humanBytes } from '../main/core/bundle/readme';
import { verifyAcross, withExportSource } from '../main/core/backend/across';
import { jsonText } from '../shared/terminal-text';
import { cliBackends } from './backends';
import { CliError } from './errors';
import { printErr, printOut } from './output';

export interface ExportCliOptions {
  output?: string;
  withCheckpoint?: boolean;
  withLogs?: boolean;
  repo?: string;
  /** MB, as typed (0: no limit). */
  sourceFileLimit?: string;
  /** Not an option: what a remote fetch left out (core/backend/ssh-backend.ts), named with the rest. */
  leftOut?: LeftOut[];
}

const PHASE_TEXT: Record<BundlePhase, string> = {
  scan: 'reading the experiment folder',
  source: 'extracting the source tree',
  pack: 'packing',
  finish: 'writing MANIFEST and syncing to disk',
  done: 'done',
};

/** Progress for people: a rewritten line on a terminal, else one line per phase (logs stay short). */
function progressPrinter(): { onProgress: (p: BundleProgress) => void; end: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  let lastPhase: BundlePhase | null = null;
  let live = false;
  return {
    onProgress: (p) => {
      if (p.phase === 'done') return;
      const sized = p.phase === 'source' || p.phase === 'pack';
      if (tty) {
        const amount = sized && p.total > 0 ? ` ${humanBytes(p.done)} / ${humanBytes(p.total)}` : '';
        process.stderr.write(`\r\x1b[2Kexpdesk: ${PHASE_TEXT[p.phase]}${amount}`);
        live = true;
      } else if (p.phase !== lastPhase) {
        const amount = sized && p.total > 0 ? ` (${humanBytes(p.total)})` : '';
        process.stderr.write(`expdesk: ${PHASE_TEXT[p.phase]}${amount}\n`);
      }
      lastPhase = p.phase;
    },
    end: () => {
      if (live) process.stderr.write('\r\x1b[2K');
      live = false;
    },
  };
}

export async function exportCommand(expDir: string, opts: ExportCliOptions): Promise<number> {
  // A remote experiment (ssh://…, host:/path) is fetched first (with its commit), then exported here;
  // the local copy has the remote folder's name, so the default bundle name is the same.
  const fetch = { withLogs: opts.withLogs, withCheckpoint: opts.withCheckpoint };
  return withExportSource(expDir, cliBackends(), fetch, (source) =>
    exportHere(source.expDir, {
      ...opts,
      repo: opts.repo ?? source.repository ?? undefined,
      leftOut: source.leftOut,
    }),
  );
}

/** Export an experiment folder on this disk. */
async function exportHere(expDir: string, opts: ExportCliOptions): Promise<number> {
  const out = path.resolve(opts.output ?? defaultBundlePath(expDir, process.cwd()));
  const limit = opts.sourceFileLimit === undefined ? undefined : parseMegabytes(opts.sourceFileLimit);
  const controller = new AbortController();
  // The first signal stops the export and deletes its partial file; a second
  // one (cleanup stuck on a dead disk) quits at once.
  const interrupt = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  process.on('SIGHUP', interrupt);
  const printer = progressPrinter();
  try {
    const r = await exportBundle({
      expDir,
      out,
      withCheckpoint: opts.withCheckpoint,
      withLogs: opts.withLogs,
      repository: opts.repo,
      sourceFileLimitBytes: limit,
      leftOut: opts.leftOut,
      onProgress: printer.onProgress,
      signal: controller.signal,
    });
    printer.end();
    const lines: string[] = [];
    lines.push(
      r.sourceIncluded
        ? 'source: included (source/, the repository at the recorded commit)'
        : `source: NOT INCLUDED — ${r.sourceMissing}. reproduce.sh will need --source DIR; if you have the repository, export again with --repo DIR`,
    );
    for (const w of r.warnings)
      if (!w.startsWith('the bundle has no source tree')) lines.push(`warning: ${w}`);
    lines.push(`${r.format} bundle, ${humanBytes(r.bytes)}, ${r.files} files, unpacks to ${r.folder}/`);
    lines.push(r.path);
    printOut(lines.join('\n') + '\n');
    return 0;
  } catch (err) {
    printer.end();
    if (err instanceof BundleError && err.code === 'aborted')
      throw new CliError(`export interrupted: no bundle was written at ${out}`, 130);
    throw err;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    process.off('SIGHUP', interrupt);
  }
}

export interface VerifyCliOptions {
  /** As typed; checked here so main.ts needs no import of this module to parse them. */
  rtol?: string;
  atol?: string;
  ignore?: string[];
  json?: boolean;
}

export async function verifyCommand(
  original: string,
  reproduced: string,
  opts: VerifyCliOptions,
): Promise<number> {
  // Either run may be remote (ssh://…, host:/path): its metrics are mirrored here first.
  const r = await verifyAcross(original, reproduced, cliBackends(), {
    tolerance: {
      rtol: opts.rtol === undefined ? undefined : parseTolerance('--rtol')(opts.rtol),
      atol: opts.atol === undefined ? undefined : parseTolerance('--atol')(opts.atol),
    },
    ignore: opts.ignore,
  });
  if (opts.json) process.stdout.write(jsonText(r) + '\n');
  else {
    for (const w of r.warnings) printErr(`expdesk: warning: ${w}\n`);
    printOut(`${r.message}\n`);
  }
  return r.verdict === 'diverged' ? 1 : 0;
}

/** A non-negative number option (tolerances). */
export function parseTolerance(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0)
      throw new CliError(`${name} must be a non-negative number, got ${value}`);
    return n;
  };
}

/** --source-file-limit in MB (0: no limit). */
export function parseMegabytes(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new CliError(`--source-file-limit must be a number of MB (0 for no limit), got ${value}`);
  return Math.round(n * 1024 * 1024);
}
