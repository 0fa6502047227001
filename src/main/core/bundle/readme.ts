/**
 * README.md of a bundle: for the person who receives it (a colleague, a
 * reviewer, a cluster admin) and has neither the original repository nor
 * Expdesk. It says what the run was, how to run it again, how to check the
 * result, and — first and plainly — what the bundle lacks.
 */
import { shellJoin } from '../../../shared/shell-quote';

export interface ReadmeInput {
  name: string;
  bundleFolder: string;
  createdAt: string;
  expdeskVersion: string;
  metadata: Record<string, unknown> | null;
  seed: number | null;
  commandTemplate: string[] | null;
  relativeCwd: string;
  source:
    { included: true; gitHash: string; files: number; bytes: number } | { included: false; reason: string };
  /** Files left out of source/ (and why). */
  sourceOmitted: Array<{ path: string; bytes: number; reason: string }>;
  submodules: string[];
  patch: { present: boolean; bytes: number; complete: boolean; omitted: string[]; error: string | null };
  /** Recorded files that are absent (conda_env.txt, requirements.txt …) with what it means. */
  absent: Array<{ file: string; meaning: string }>;
  /** The experiment's own files packed at the bundle's top (config.yaml, conda_env.txt …). */
  included: string[];
  hasMetrics: boolean;
  checkpoint: string | null;
  withLogs: boolean;
  warnings: string[];
}

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

function str(meta: Record<string, unknown> | null, key: string): string | null {
  const v = meta?.[key];
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
}

/** A fenced block that no recorded text can close early. */
function fence(text: string, lang = ''): string {
  const ticks = '`'.repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  return `${ticks}${lang}\n${text}\n${ticks}`;
}

export function bundleReadme(r: ReadmeInput): string {
  const m = r.metadata;
  const out: string[] = [];
  out.push(`# Reproduction bundle: ${r.name}`, '');
  out.push(
    `Everything needed to run this experiment again and check that it gives the same numbers, ` +
      `without the original repository and without Expdesk. Made by Expdesk ${r.expdeskVersion} on ${r.createdAt}.`,
    '',
  );

  const lacks: string[] = [];
  if (!r.source.included)
    lacks.push(
      `**No source tree**: ${r.source.reason}. \`reproduce.sh\` needs a copy of the project at commit ` +
        `\`${str(m, 'git_hash') ?? 'unknown'}\`: pass it with \`--source DIR\` (it is copied, never changed).`,
    );
  if (r.sourceOmitted.length) {
    lacks.push(
      `**Files left out of source/** (\`reproduce.sh\` stops and names them until they are put back ` +
        `under \`source/\` at the same paths, or \`--source DIR\` is given):\n` +
        r.sourceOmitted.map((f) => `  - \`${f.path}\` (${humanBytes(f.bytes)}): ${f.reason}`).join('\n'),
    );
  }
  if (r.submodules.length)
    lacks.push(
      `**Git submodules are not included** (they are other repositories): ${r.submodules.map((s) => `\`${s}\``).join(', ')}.`,
    );
  if (!r.commandTemplate)
    lacks.push(
      `**No recorded command.** This folder was not launched by Expdesk, and the seed's metadata.json keeps only ` +
        `\`command: ${str(m, 'command') ?? '(nothing)'}\` (the script's arguments, without the interpreter). ` +
        `Give the command to \`reproduce.sh\` after \`--\`, with \`{config}\` where the config file goes and ` +
        `\`{seed}\` for the seed, e.g. \`bash reproduce.sh -- python train.py --config {config}\`.`,
    );
  if (r.seed === null)
    lacks.push(
      '**No recorded seed** (neither metadata.json nor config.yaml holds one): the run may not be repeatable.',
    );
  if (!r.patch.complete)
    lacks.push(
      r.patch.error
        ? `**The uncommitted changes could not be recorded in full** at launch: ${r.patch.error.split('\n')[0]}. The reproduction may differ.`
        : `**The uncommitted changes were recorded only in part** at launch (over the patch size limit): ` +
            `${r.patch.omitted.map((p) => `\`${p}\``).join(', ') || 'see metadata.json'}. The reproduction may differ.`,
    );
  else if (!r.patch.present && m && m.git_dirty === true && r.source.included)
    lacks.push(
      '**The tree was dirty at launch but no uncommitted.patch was recorded**: the reproduction runs the commit as it was committed.',
    );
  for (const a of r.absent) lacks.push(`\`${a.file}\` was not recorded: ${a.meaning}`);
  if (lacks.length) {
    out.push('## What this bundle lacks', '', ...lacks.map((l) => `- ${l}`), '');
  }

  out.push('## Reproduce', '');
  out.push(`Unpack the bundle and run, from anywhere:`, '');
  out.push(fence(`bash ${r.bundleFolder}/reproduce.sh`, 'sh'), '');
  out.push(
    'It checks first everything that can fail (a Python, the source, whether the patch applies) and stops with a clear message before creating anything. Then it:',
    '',
    (r.source.included
      ? `1. copies \`source/\` (the repository at commit \`${str(m, 'git_hash') ?? 'unknown'}\`) into \`work/<new name>/\``
      : `1. copies the project you give with \`--source DIR\` (at commit \`${str(m, 'git_hash') ?? 'unknown'}\`) into \`work/<new name>/\``) +
      (r.patch.present ? ' and applies `uncommitted.patch` there (`git apply`, else `patch -p1`)' : '') +
      ';',
    '2. creates a virtual environment in `venv/` and installs `requirements.txt` with pip — or, with `--python PATH`, uses that interpreter as it is and lists every package whose version differs from `requirements.txt`;',
    '3. creates a new experiment folder `reproduced/<name>_repro_<date>_<time>/` (or under `--out DIR`) with the frozen `config.yaml` (its `experiment.name` and `experiment.output_dir` pointing at the new folder) and a `metadata.json` saying where it came from;',
    `4. runs the recorded command there${r.relativeCwd && r.relativeCwd !== '.' ? ` (in \`${r.relativeCwd}\` of the source)` : ''}, with \`EXPDESK_EXPERIMENT_DIR\`, \`EXPDESK_CONFIG\`, \`EXPDESK_SEED\` and \`PYTHONUNBUFFERED=1\` set as Expdesk sets them, its output copied to \`logs/train.log\`;`,
    '5. prints the new folder on its last line.',
    '',
  );
  if (r.commandTemplate) {
    out.push(
      'The recorded command (`{config}` is the frozen config, `{seed}` the seed; a leading `python` is the chosen interpreter):',
      '',
      fence(shellJoin(r.commandTemplate)),
      '',
    );
  }
  out.push(
    'Without network access to a package index, use an interpreter that already has the packages: `bash reproduce.sh --python /path/to/python`.',
    '',
  );

  out.push('## Check the result', '');
  out.push(
    (r.hasMetrics
      ? `The original run's metrics are in \`logs/metrics.jsonl\`. With Expdesk:`
      : `This bundle holds no metrics of the original run (it recorded none); with the original experiment folder at hand and Expdesk:`) +
      '',
    '',
    fence(
      `expdesk verify ${r.hasMetrics ? r.bundleFolder : 'ORIGINAL_EXPERIMENT'} NEW_EXPERIMENT_FOLDER`,
      'sh',
    ),
    '',
    'It compares the two runs step by step and says `identical`, `within tolerance` (with the largest difference) or `diverged` (with the first step and metric that differ). Without Expdesk, compare the two `logs/metrics.jsonl` files line by line, ignoring `timestamp`.',
    '',
    'Check that the bundle arrived intact: `sha256sum -c MANIFEST` in the unpacked folder.',
    '',
  );

  out.push('## The original run', '');
  const rows: Array<[string, string | null]> = [
    ['name', str(m, 'name') ?? r.name],
    ['started at', str(m, 'started_at')],
    ['git commit', str(m, 'git_hash')],
    ['git branch', str(m, 'git_branch')],
    [
      'uncommitted changes',
      m && typeof m.git_dirty === 'boolean' ? (m.git_dirty ? 'yes (in uncommitted.patch)' : 'no') : null,
    ],
    ['seed', r.seed === null ? null : String(r.seed)],
    ['command', str(m, 'command')],
    ['python', str(m, 'python_version')],
    ['torch', str(m, 'torch_version')],
    ['cuda', str(m, 'cuda_version')],
    ['host', str(m, 'hostname')],
  ];
  out.push('| | |', '| --- | --- |');
  for (const [k, v] of rows)
    if (v !== null) out.push(`| ${k} | ${v.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
  out.push('');

  out.push('## Contents', '');
  const contents: string[] = [
    '`README.md` — this file',
    '`reproduce.sh` — runs the experiment again (see above)',
    '`MANIFEST` — the sha256 of every other file (`sha256sum -c MANIFEST`)',
    '`bundle.json` — what this bundle holds and lacks, for programs',
    '`config.yaml` — the frozen config, every key resolved',
    '`metadata.json` — the code version, environment and command recorded at launch',
  ];
  if (!r.absent.some((a) => a.file === 'requirements.txt'))
    contents.push('`requirements.txt` — `pip freeze` at launch');
  if (!r.absent.some((a) => a.file === 'conda_env.txt'))
    contents.push('`conda_env.txt` — `conda list --export` at launch');
  if (r.patch.present)
    contents.push(
      `\`uncommitted.patch\` — the uncommitted changes at launch (${humanBytes(r.patch.bytes)}), applied by reproduce.sh`,
    );
  if (r.source.included)
    contents.push(
      `\`source/\` — the repository at commit \`${r.source.gitHash}\` (${r.source.files} files, ${humanBytes(r.source.bytes)})`,
    );
  if (r.hasMetrics) contents.push("`logs/metrics.jsonl` — the original run's metrics, to compare with");
  if (r.withLogs) contents.push("`logs/` — the original run's logs");
  if (r.checkpoint) contents.push(`\`${r.checkpoint}/\` — the original run's final checkpoint`);
  out.push(...contents.map((c) => `- ${c}`));
  const others: Array<[string, string]> = [
    ['FAILED.txt', "the original run's failure record"],
    ['expdesk_status.json', "the original run's status, as Expdesk recorded it"],
    ['reproduce.original.sh', 'the script written at launch; it needs the original repository'],
  ];
  for (const [file, what] of others) if (r.included.includes(file)) out.push(`- \`${file}\` — ${what}`);
  out.push('');
  if (r.warnings.length) {
    out.push('## Notes from the export', '', ...r.warnings.map((w) => `- ${w}`), '');
  }
  return out.join('\n');
}
