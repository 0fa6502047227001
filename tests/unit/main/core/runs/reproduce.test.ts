/**
 * reproduce.sh with hostile text in every value it embeds (finding E of issue
 * 15): a project whose path holds $(…), backticks, quotes and a newline, a
 * run name and command words that do the same. The script is run for real
 * with bash: nothing in the values is executed, and every value reaches the
 * command intact.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleReproduceScript } from '../../../../../src/main/core/bundle/reproduce-bundle';
import { reproduceScript } from '../../../../../src/main/core/runs/reproduce';
import { shellJoin, shellQuote } from '../../../../../src/shared/shell-quote';
import { initRepo } from '../../../../helpers/git';
import { tmpDir } from '../../../../helpers/tmp';

const HOSTILE = `proj $(touch PWNED1) \`touch PWNED2\` 'q' "d" $HOME \\ nl\nend`;
const WORD = `arg $(touch PWNED3) \`touch PWNED4\` 'q' "d";touch PWNED5 \\\nx`;

function markers(root: string): string[] {
  const out = execFileSync('find', [root, '-name', 'PWNED*'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

describe('shellQuote', () => {
  it('gives back every string unchanged through a real shell', () => {
    const words = [
      '',
      'plain',
      'a b',
      "it's",
      '$(id)',
      '`id`',
      'a\nb',
      '"x"',
      '\\',
      '-n',
      '*',
      '~',
      '{config}',
    ];
    const out = execFileSync('bash', ['-c', `for w in ${shellJoin(words)}; do printf '%s\\0' "$w"; done`], {
      encoding: 'utf8',
    });
    expect(out.split('\0').slice(0, -1)).toEqual(words);
    expect(shellQuote("'")).toBe(`''\\'''`);
  });
});

describe('reproduce.sh', () => {
  it('runs a project at a hostile path with hostile command words, executing none of them', () => {
    const root = tmpDir('expdesk-repro-');
    const proj = path.join(root, HOSTILE);
    const sub = path.join(proj, 'sub $(touch PWNED6)');
    mkdirSync(sub, { recursive: true });
    writeFileSync(
      path.join(sub, 'train.py'),
      'import json, os, sys\n' +
        'json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "seed": os.environ["EXPDESK_SEED"]},\n' +
        '          open(os.environ["REPRO_OUT"], "w"))\n',
    );
    initRepo(proj);
    const hash = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: proj, encoding: 'utf8' }).trim();

    // A "python" in a hostile folder too: pip is skipped, anything else goes to python3.
    const binDir = path.join(root, 'bin $(touch PWNED7)');
    mkdirSync(binDir);
    const fakePython = path.join(binDir, 'py');
    writeFileSync(fakePython, '#!/bin/sh\n[ "$1" = -m ] && exit 0\nexec python3 "$@"\n');
    chmodSync(fakePython, 0o755);

    const expDir = path.join(root, 'exp');
    mkdirSync(expDir);
    writeFileSync(path.join(expDir, 'config.yaml'), 'lr: 0.1\n');
    writeFileSync(path.join(expDir, 'requirements.txt'), '');
    const script = reproduceScript({
      name: `exp001 $(touch PWNED8)\ntouch PWNED9`,
      gitHash: hash,
      gitRoot: proj,
      gitRemote: null,
      relativeCwd: path.relative(proj, sub),
      commandTemplate: [
        fakePython,
        'train.py',
        '--config',
        '{config}',
        `--cfg={config}'x`,
        '--seed={seed}',
        WORD,
      ],
      seed: 42,
      hasPatch: false,
      python: fakePython,
      generatedAt: '2026-12-01T00:00:00',
    });
    writeFileSync(path.join(expDir, 'reproduce.sh'), script, { mode: 0o755 });
    expect(spawnSync('bash', ['-n', path.join(expDir, 'reproduce.sh')]).status).toBe(0);

    const workdir = path.join(root, `work $(touch PWNED10) 'w'`);
    mkdirSync(workdir);
    const out = path.join(root, 'out.json');
    const r = spawnSync('bash', [path.join(expDir, 'reproduce.sh'), '', workdir], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, REPRO_OUT: out, GIT_CONFIG_NOSYSTEM: '1' },
      timeout: 120_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(markers(root)).toEqual([]);
    const got = JSON.parse(readFileSync(out, 'utf8')) as { argv: string[]; cwd: string; seed: string };
    const config = path.join(expDir, 'config.yaml');
    expect(got.argv).toEqual(['--config', config, `--cfg=${config}'x`, '--seed=42', WORD]);
    expect(got.cwd).toBe(path.join(workdir, 'src', path.relative(proj, sub)));
    expect(got.seed).toBe('42');
  }, 120_000);

  it('prints the hostile command as text when no commit was recorded', () => {
    const root = tmpDir('expdesk-repro-');
    const script = reproduceScript({
      name: 'exp',
      gitHash: 'unknown',
      gitRoot: null,
      gitRemote: null,
      relativeCwd: '',
      commandTemplate: ['python', WORD],
      seed: 1,
      hasPatch: false,
      python: 'python',
      generatedAt: 'now',
    });
    const file = path.join(root, 'reproduce.sh');
    writeFileSync(file, script);
    const r = spawnSync('bash', [file], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`  python ${shellQuote(WORD)}\n`);
    expect(markers(root)).toEqual([]);
    expect(existsSync(path.join(root, 'PWNED5'))).toBe(false);
  });
});

describe("the bundle's reproduce.sh", () => {
  it('holds hostile recorded values as data: its header runs nothing and gives them back intact', () => {
    const root = tmpDir('expdesk-repro-');
    const spec = {
      name: `exp001 $(touch PWNED1)\ntouch PWNED2`,
      gitHash: 'a'.repeat(40),
      seed: 3,
      relativeCwd: HOSTILE,
      hasSource: false,
      sourceMissingReason: "it's `touch PWNED3` gone",
      sourceOmitted: [HOSTILE, 'b $(touch PWNED4)'],
      hasPatch: false,
      patchComplete: true,
      patchOmitted: [],
      pythonVersion: '3.11.2',
      commandTemplate: ['python', 'train.py', '{config}', WORD],
      recordedCommand: `python train.py $(touch PWNED5)`,
      environment: { PYTHONHASHSEED: `0 $(touch PWNED6) \`touch PWNED7\`` },
      generatedAt: 'now\ntouch PWNED8',
      expdeskVersion: '0.1.0',
    };
    const script = bundleReproduceScript(spec);
    const file = path.join(root, 'reproduce.sh');
    writeFileSync(file, script);
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    // The generated header alone, then its variables printed NUL-separated.
    const header = script.slice(0, script.indexOf('# --- How it works'));
    const dump =
      'for v in "$NAME" "$REL_CWD" "$SOURCE_MISSING_REASON" "$RECORDED_COMMAND" "${SOURCE_OMITTED[@]}" ' +
      '"${COMMAND[@]}" "${RECORDED_ENV[@]}"; do printf "%s\\0" "$v"; done';
    const r = spawnSync('bash', ['-c', `${header}\n${dump}`], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual([
      spec.name,
      HOSTILE,
      spec.sourceMissingReason,
      spec.recordedCommand,
      ...spec.sourceOmitted,
      ...spec.commandTemplate,
      `PYTHONHASHSEED=${spec.environment.PYTHONHASHSEED}`,
    ]);
    // --help runs the header and prints the name through the usage text.
    const help = spawnSync('bash', [file, '--help'], { cwd: root, encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain(spec.name);
    expect(markers(root)).toEqual([]);
  });
});
