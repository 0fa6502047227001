/**
 * The analysis commands of `expdesk`: list, show, summarize, compare. Each
 * returns the text to print so tests can call them without a subprocess;
 * main.ts maps their errors to one clear line and an exit code (errors.ts).
 */
import { diffConfigs, formatNumber, formatValue } from '../shared/config-diff';
import type { ExperimentDetail, ExperimentSummary, JsonValue, WorkspaceListing } from '../shared/model';
import { detailsAcross } from '../main/core/backend/across';
import { resolveBackend } from '../main/core/backend/resolve';
import { summarizeSystem } from '../main/core/metrics/system-stream';
import type { SystemStat } from '../shared/system-metrics';
import type { SummaryStore } from '../main/core/summary/summary-store';
import { jsonText } from '../shared/terminal-text';
import { ExpdeskError } from '../shared/errors';
import { finalLossWord } from '../shared/metrics-summary';
import { problemText } from '../shared/problems';
import { cliBackends } from './backends';
import { CliError } from './errors';
import { keepTable, readKept } from './kept-table';
import { csv, textTable } from './output';
import { groupRuns } from '../shared/groups';
import { isAlwaysDifferKey } from '../shared/identity-keys';

export { CliError } from './errors';

/** Expdesk's own errors keep their code (main.ts maps it); anything else reading folders is a usage error. */
function asCliError(err: unknown): ExpdeskError {
  if (err instanceof ExpdeskError) return err;
  return new CliError(err instanceof Error ? err.message : String(err));
}

/** Details of experiments, local or remote (ssh://…, host:/path; ssh2 is loaded only then), in order. */
async function detailsOf(dirs: string[], store: SummaryStore): Promise<ExperimentDetail[]> {
  if (dirs.length === 0) throw new CliError('give at least one experiment folder');
  try {
    // One round trip per host for all of its experiments; local and remote mix freely.
    return await detailsAcross(dirs, cliBackends(store));
  } catch (err) {
    throw asCliError(err);
  }
}

function statusLabel(s: ExperimentSummary): string {
  return s.status.source === 'inferred' ? `${s.status.state}?` : s.status.state;
}

function lossLabel(s: ExperimentSummary): string {
  return finalLossWord(s) ?? formatNumber(s.final_loss);
}

/** CSV keeps Python's spellings (NaN, Infinity, -Infinity); a missing loss is empty. */
function csvNonFinite(s: ExperimentSummary): string {
  return s.final_loss_nonfinite ?? '';
}

function evalLabel(s: ExperimentSummary): string {
  if (!s.final_eval) return '—';
  return Object.entries(s.final_eval)
    .map(([k, v]) => `${k}=${formatNumber(v)}`)
    .join(' ');
}

/** The seed's summarize_experiment fields and the status: what every JSON output starts an experiment with. */
function seedFieldsJson(s: ExperimentSummary): Record<string, unknown> {
  return {
    name: s.name,
    algorithm: s.algorithm,
    total_steps: s.total_steps,
    final_loss: s.final_loss,
    final_eval: s.final_eval,
    status: s.status.state,
  };
}

/** The seed's summarize_experiment fields, plus status, path and problems. */
export function summaryJson(s: ExperimentSummary): Record<string, unknown> {
  return {
    ...seedFieldsJson(s),
    folder: s.folder,
    final_loss_nonfinite: s.final_loss_nonfinite ?? null,
    diverged: s.diverged ?? null,
    status_source: s.status.source,
    status_reason: s.status.reason,
    failed_at_step: s.status.failedAtStep ?? null,
    path: s.path,
    model: s.model,
    started_at: s.startedAt,
    git_hash: s.gitHash,
    git_dirty: s.gitDirty,
    metrics: s.metrics,
    malformed_lines: s.malformedLines,
    problems: s.problems,
    annotations: s.annotations ?? null,
    sweep: s.sweep ?? null,
    gpu: s.gpu ?? null,
  };
}

const problemLine = problemText;

/**
 * `expdesk list DIR`: the text table (or JSON), and for a text table a
 * `keep` to call once it is printed — the table kept for the next listing
 * of DIR (./kept-table.ts). A location that can tell the kept table still
 * holds (ExperimentBackend.listUnlessKept: SSH) answers that instead of a
 * listing, and the kept text is returned; a local folder's check ran in the
 * CLI's entry (./list-snapshot.ts).
 */
export async function listCommand(
  dir: string,
  opts: { json?: boolean },
  store: SummaryStore,
): Promise<{ text: string; keep?: () => Promise<void> }> {
  let listing: WorkspaceListing;
  // What the listing was made from, where the backend says (undefined: a local listing's own stats).
  let fingerprint: string | null | undefined;
  try {
    const backend = await resolveBackend(dir, cliBackends(store));
    if (!opts.json && backend.listUnlessKept) {
      const kept = readKept(dir, store.cacheRoot);
      const listed = await backend.listUnlessKept(dir, kept?.fingerprint ?? null);
      if (listed.unchanged) {
        if (kept) return { text: kept.text };
        throw new Error(`${dir}: the listing answered "unchanged" with no table kept`);
      }
      ({ listing, fingerprint } = listed);
    } else {
      // The text table's columns only, unless --json: a warm listing then reads the smaller file (listing-cache.ts).
      listing = await backend.list(dir, { tableOnly: !opts.json });
    }
  } catch (err) {
    throw asCliError(err);
  }
  const { experiments } = listing;
  if (opts.json) {
    return {
      text: jsonText({
        root: listing.root,
        experimentsDir: listing.experimentsDir,
        kind: listing.kind,
        experiments: experiments.map(summaryJson),
      }),
    };
  }
  const rows = experiments.map((s) => [
    statusLabel(s),
    s.folder,
    s.algorithm ?? '—',
    s.total_steps === null ? '—' : String(s.total_steps),
    lossLabel(s),
    evalLabel(s),
    s.problems.length ? `${s.problems.length} problem(s): ${problemLine(s.problems[0]!)}` : '',
  ]);
  const table = textTable(
    ['STATUS', 'EXPERIMENT', 'ALGORITHM', 'STEPS', 'FINAL LOSS', 'FINAL EVAL', 'PROBLEMS'],
    rows,
  );
  const inferred = experiments.some((s) => s.status.source === 'inferred')
    ? '\n(a status ending in ? is inferred from the files, not recorded)'
    : '';
  const text = `${table}\n\n${experiments.length} experiment(s) in ${listing.experimentsDir}${inferred}`;
  const keep = async (): Promise<void> => {
    if (fingerprint !== undefined) await keepTable(dir, fingerprint, experiments, text, store.cacheRoot);
    else await (await import('./list-snapshot')).keepLocalListing(dir, experiments, text, store.cacheRoot);
  };
  return { text, keep };
}

function yamlish(value: JsonValue, indent = ''): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value)
      .map(([k, v]) =>
        v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0
          ? `${indent}${k}:\n${yamlish(v, indent + '  ')}`
          : `${indent}${k}: ${formatValue(v)}`,
      )
      .join('\n');
  }
  return `${indent}${formatValue(value)}`;
}

export async function showCommand(
  dir: string,
  opts: { json?: boolean },
  store: SummaryStore,
): Promise<string> {
  const [d] = (await detailsOf([dir], store)) as [ExperimentDetail];
  const { system, nodes } = await systemOf(dir, d.systemNodes ?? [], store);
  if (opts.json) {
    return jsonText({
      ...d,
      summary: summaryJson(d.summary),
      slurm: d.summary.slurm ?? null,
      system,
      // A multi-node SLURM job: one set per other node (logs/system-<node>.jsonl); `system` is the wrapper's node.
      system_nodes: nodes,
    });
  }
  const s = d.summary;
  const out: string[] = [];
  out.push(`${s.name}  (${s.path})`);
  out.push(
    `status: ${s.status.state}${s.status.source === 'inferred' ? ' (inferred)' : ''} — ${s.status.reason}`,
  );
  if (s.slurm)
    out.push(
      `slurm: job ${s.slurm.jobId} ${s.slurm.state ?? '(no longer known to the scheduler)'}${s.slurm.reason ? ` (${s.slurm.reason})` : ''}${s.slurm.nodes ? ` on ${s.slurm.nodes}` : ''}${s.slurm.elapsed ? `, elapsed ${s.slurm.elapsed}` : ''}${s.slurm.exitCode ? `, exit code ${s.slurm.exitCode}` : ''}`,
    );
  if (s.status.traceback) out.push(`traceback:\n${s.status.traceback.replace(/^/gm, '  ')}`);
  out.push(`algorithm: ${s.algorithm ?? '—'}   model: ${s.model ?? '—'}`);
  out.push(
    `total_steps: ${s.total_steps ?? '—'}   final_loss: ${lossLabel(s)}   final_eval: ${evalLabel(s)}`,
  );
  if (s.gitHash)
    out.push(`git: ${s.gitHash}${s.gitDirty ? ' (dirty: uncommitted changes when it started)' : ''}`);
  const metricRows = Object.entries(s.metrics).map(([k, m]) => [
    k,
    formatNumber(m.last),
    m.best === null ? '—' : `${formatNumber(m.best)} @${m.bestStep ?? '?'}`,
    formatNumber(m.min),
    formatNumber(m.max),
    m.nonFinite ? String(m.nonFinite) : '',
  ]);
  if (metricRows.length)
    out.push('', textTable(['METRIC', 'LAST', 'BEST', 'MIN', 'MAX', 'NaN/Inf'], metricRows));
  if (Object.keys(system).length) out.push('', systemTable(system, 'SYSTEM'));
  for (const [node, stats] of Object.entries(nodes)) out.push('', systemTable(stats, `SYSTEM ${node}`));
  if (d.metadata) out.push('', 'metadata:', yamlish(d.metadata, '  '));
  if (d.config) out.push('', 'config:', yamlish(d.config, '  '));
  out.push('', `checkpoints: ${d.checkpoints.map((c) => c.name).join(', ') || '—'}`);
  out.push(`logs: ${d.logs.map((l) => `${l.name} (${l.size} B)`).join(', ') || '—'}`);
  out.push(`outputs: ${d.outputs.map((o) => o.name).join(', ') || '—'}`);
  if (s.problems.length) out.push('', 'problems:', ...s.problems.map((p) => `  ${problemLine(p)}`));
  else out.push('', 'problems: none');
  return out.join('\n');
}

/**
 * The run's system metrics (logs/system.jsonl, here or mirrored from its host): last/min/max/mean per
 * key; and a multi-node job's other nodes, one set each.
 */
async function systemOf(
  dir: string,
  nodeNames: string[],
  store: SummaryStore,
): Promise<{ system: Record<string, SystemStat>; nodes: Record<string, Record<string, SystemStat>> }> {
  try {
    const backend = await resolveBackend(dir, cliBackends(store));
    const [s] = await backend.localSystemMetrics([dir]);
    const nodes: Record<string, Record<string, SystemStat>> = {};
    for (const node of nodeNames) {
      const [n] = await backend.localSystemMetrics([dir], node);
      nodes[node] = await summarizeSystem(n!.file);
    }
    return { system: await summarizeSystem(s!.file), nodes };
  } catch (err) {
    throw asCliError(err);
  }
}

function systemTable(system: Record<string, SystemStat>, title: string): string {
  const f = (v: number | null): string => (v === null ? '—' : formatNumber(v));
  const rows = Object.entries(system).map(([k, m]) => [k, f(m.last), f(m.min), f(m.max), f(m.mean)]);
  return textTable([title, 'LAST', 'MIN', 'MAX', 'MEAN'], rows);
}

export async function summarizeCommand(
  dirs: string[],
  store: SummaryStore,
  opts: { groupBy?: string } = {},
): Promise<string> {
  const keys = opts.groupBy === undefined ? null : opts.groupBy.split(',').map((k) => k.trim());
  if (keys && keys.some((k) => k === ''))
    throw new CliError('--group-by takes config keys separated by commas');
  const details = await detailsOf(dirs, store);
  // With --group-by: one object per group, mean ± std (n − 1) of final_loss and each final_eval key.
  if (keys) return jsonText(groupRuns(details, keys));
  return jsonText(details.map((d) => summaryJson(d.summary)));
}

export async function compareCommand(
  dirs: string[],
  opts: { json?: boolean; csv?: boolean; allKeys?: boolean },
  store: SummaryStore,
): Promise<string> {
  const details = await detailsOf(dirs, store);
  const summaries = details.map((d) => d.summary);
  const evalKeys = [...new Set(summaries.flatMap((s) => Object.keys(s.final_eval ?? {})))].sort();
  const diff = diffConfigs(details.map((d) => d.config));
  if (opts.json) {
    return jsonText({
      experiments: summaries.map((s) => ({ ...seedFieldsJson(s), path: s.path })),
      config_diff: diff.map((r) => ({
        key: r.key,
        values: r.values.map((v) => (v === undefined ? null : v)),
        present: r.values.map((v) => v !== undefined),
      })),
    });
  }
  const header = ['name', 'algorithm', 'total_steps', 'final_loss', ...evalKeys, ...diff.map((r) => r.key)];
  const rows = summaries.map((s, i) => [
    s.name,
    s.algorithm ?? '',
    s.total_steps === null ? '' : String(s.total_steps),
    s.total_steps === null ? '' : lossLabel(s),
    ...evalKeys.map((k) => (s.final_eval && k in s.final_eval ? formatNumber(s.final_eval[k]) : '')),
    ...diff.map((r) => (r.values[i] === undefined ? '' : formatValue(r.values[i]))),
  ]);
  if (opts.csv) {
    // Full precision in CSV: it is read by programs, not people.
    const raw = summaries.map((s, i) => [
      s.name,
      s.algorithm ?? '',
      s.total_steps === null ? '' : String(s.total_steps),
      s.final_loss === null ? (s.total_steps === null ? '' : csvNonFinite(s)) : String(s.final_loss),
      ...evalKeys.map((k) => {
        const v = s.final_eval?.[k];
        return v === undefined ? '' : v === null ? 'NaN' : String(v);
      }),
      ...diff.map((r) => {
        const v = r.values[i];
        return v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
      }),
    ]);
    return csv(header, raw).trimEnd();
  }
  const seed = textTable(
    ['name', 'algorithm', 'total_steps', 'final_loss', ...evalKeys],
    rows.map((r) => r.slice(0, 4 + evalKeys.length)),
  );
  const names = summaries.map((s) => s.name);
  // Keys that name the run (experiment.name, output_dir…) differ between any two runs: said once, after the settings.
  const naming = opts.allKeys ? [] : diff.filter((r) => isAlwaysDifferKey(r.key));
  const settings = opts.allKeys ? diff : diff.filter((r) => !isAlwaysDifferKey(r.key));
  const diffTable = settings.length
    ? textTable(
        ['config key', ...names],
        settings.map((r) => [r.key, ...r.values.map((v) => formatValue(v))]),
      )
    : 'configs: no differing keys';
  const namingLine = naming.length
    ? `\nrun names differ too (${naming.map((r) => r.key).join(', ')}; --all-keys shows them)`
    : '';
  return `${seed}\n\nconfig keys that differ (${settings.length}):\n${diffTable}${namingLine}`;
}
