/**
 * `expdesk diff A B [--json]`: what changed between two runs — config keys
 * (old → new, added, removed), code (commits between the recorded hashes,
 * the files each uncommitted.patch changes), environment (packages of
 * requirements.txt, Python/torch/CUDA versions). One implementation with
 * the interface's Diff view: core/backend/run-diff.ts.
 */
import type { Command } from 'commander';
import { formatValue } from '../shared/config-diff';
import type { JsonValue } from '../shared/model';
import type { PatchFile } from '../shared/patch-files';
import type { RunDiff } from '../shared/run-diff';
import { jsonText } from '../shared/terminal-text';
import { ExpdeskError } from '../shared/errors';
import type { SummaryStore } from '../main/core/summary/summary-store';
import { CliError } from './errors';
import { textTable } from './output';

/** A value on one line: a string holding a line break is shown quoted. */
function one(v: JsonValue | null): string {
  return typeof v === 'string' && /[\r\n\t]/.test(v) ? JSON.stringify(v) : formatValue(v);
}

function configText(d: RunDiff): string[] {
  const c = d.config;
  const n = c.changed.length + c.added.length + c.removed.length;
  const out = [`config: ${n === 0 ? 'no key differs' : `${n} key(s) differ`}`];
  for (const m of c.missing) out.push(`  (run ${m.toUpperCase()} has no config.yaml)`);
  for (const r of c.changed) out.push(`  ~ ${r.key}: ${one(r.from)} → ${one(r.to)}`);
  for (const r of c.added) out.push(`  + ${r.key}: ${one(r.value)}`);
  for (const r of c.removed) out.push(`  - ${r.key}: ${one(r.value)}`);
  if (c.identity.length)
    out.push(
      `  (${c.identity.length} key(s) naming the run left out: ${c.identity.map((r) => r.key).join(', ')})`,
    );
  return out;
}

function short(h: string | null): string {
  return h ? h.slice(0, 12) : '(none recorded)';
}

function changeText(f: PatchFile | null): string {
  if (!f) return '—';
  return f.status === 'binary'
    ? 'binary'
    : `${f.status === 'modified' ? '' : `${f.status} `}+${f.added} -${f.removed}`;
}

function codeText(d: RunDiff): string[] {
  const c = d.code;
  const branch = (b: string | null): string => (b ? ` (${b})` : '');
  const out = [
    `code: ${short(c.hashes.a)}${branch(c.branches.a)} → ${short(c.hashes.b)}${branch(c.branches.b)}`,
  ];
  const cm = c.commits;
  if (!cm.available) out.push(`  commits: unavailable: ${cm.reason}`);
  else if (c.hashes.a === c.hashes.b) out.push('  same commit');
  else {
    out.push(`  commits in B, not in A (${cm.forward.length}):`);
    for (const x of cm.forward) out.push(`    ${x.hash.slice(0, 12)} ${x.subject}`);
    if (cm.backward.length) {
      out.push(`  commits in A, not in B (${cm.backward.length}):`);
      for (const x of cm.backward) out.push(`    ${x.hash.slice(0, 12)} ${x.subject}`);
    }
    if (cm.truncated) out.push('  (more commits than listed)');
    out.push(`  (in ${cm.repository})`);
  }
  const side = (p: RunDiff['code']['patches']['a']): string =>
    p ? `${p.files} file(s), ${p.bytes} B${p.truncated ? ', only the start read' : ''}` : 'none';
  out.push(`  uncommitted.patch: A ${side(c.patches.a)}; B ${side(c.patches.b)}`);
  if (c.patches.files.length) {
    const rows = c.patches.files.map((f) => [
      f.path,
      changeText(f.a),
      changeText(f.b),
      f.a && f.b ? (f.same ? 'same change' : 'different change') : f.a ? 'only A' : 'only B',
    ]);
    out.push(textTable(['FILE', 'A', 'B', ''], rows).replace(/^/gm, '    '));
  }
  return out;
}

function environmentText(d: RunDiff): string[] {
  const e = d.environment;
  const out = ['environment:'];
  for (const v of e.versions)
    out.push(`  ${v.key}: ${v.differs ? `${v.a ?? '—'} → ${v.b ?? '—'}` : `same (${v.a ?? '—'})`}`);
  if (!e.packages) {
    out.push(
      `  packages: no requirements.txt in ${e.missing.map((m) => `run ${m.toUpperCase()}`).join(' and ')}`,
    );
    return out;
  }
  const p = e.packages;
  out.push(
    `  packages: ${p.added.length} added, ${p.removed.length} removed, ${p.changed.length} changed, ${p.unchanged} unchanged`,
  );
  for (const x of p.added) out.push(`    + ${x.name} ${x.version}`);
  for (const x of p.removed) out.push(`    - ${x.name} ${x.version}`);
  for (const x of p.changed) out.push(`    ~ ${x.name} ${x.from} → ${x.to}`);
  return out;
}

export function diffText(d: RunDiff): string {
  return [
    `A: ${d.a.name}  (${d.a.path})`,
    `B: ${d.b.name}  (${d.b.path})`,
    '',
    ...configText(d),
    '',
    ...codeText(d),
    '',
    ...environmentText(d),
  ].join('\n');
}

export async function diffCommand(
  a: string,
  b: string,
  opts: { json?: boolean },
  store?: SummaryStore,
): Promise<string> {
  let d: RunDiff;
  try {
    // Loaded here, not with the command list: the entry stays light for the commands that need none of it.
    const [{ diffRuns }, { cliBackends }] = await Promise.all([
      import('../main/core/backend/run-diff'),
      import('./backends'),
    ]);
    d = await diffRuns(a, b, cliBackends(store));
  } catch (err) {
    throw err instanceof ExpdeskError ? err : new CliError(err instanceof Error ? err.message : String(err));
  }
  return opts.json ? jsonText(d) : diffText(d);
}

export function registerDiffCommand(program: Command, print: (text: string) => void): void {
  program
    .command('diff')
    .description(
      'what changed between two runs: config keys, commits and uncommitted patches, packages and Python/torch/CUDA',
    )
    .argument('<A>', 'the first experiment folder')
    .argument('<B>', 'the second experiment folder')
    .option('--json', 'machine-readable output')
    .action(async (a: string, b: string, opts: { json?: boolean }) => print(await diffCommand(a, b, opts)));
}
