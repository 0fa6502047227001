/**
 * A run starts once what could change after its start is captured (git state,
 * the patch, the frozen config); pip freeze runs beside it and lands in the
 * folder afterwards, atomically, with metadata.json saying when it was taken.
 * Shown with an interpreter whose `pip freeze` waits for the test's word: the
 * run's first line reaches train.log while the freeze is still held.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-async';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';
import { SEED_METADATA_KEYS } from '../helpers/experiments';
import { git } from '../helpers/git';
import { tmpDir } from '../helpers/tmp';

const tmux = usePrivateTmux();

const json = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

async function waitFor(cond: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('expdesk run and the environment capture', { timeout: 180_000 }, () => {
  it('starts the command before pip freeze ends, then records the freeze and when it was taken', async () => {
    const proj = demoProject('expdesk-capture-');
    writeFileSync(path.join(proj, 'notes.md'), 'uncommitted\n'); // a dirty tree: a patch is due before the start
    const gate = path.join(tmpDir(), 'release');
    const python = path.join(tmpDir(), 'python3');
    // `pip freeze` waits for the gate; everything else is the real python3.
    writeFileSync(
      python,
      [
        '#!/bin/sh',
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then',
        `  while [ ! -e '${gate}' ]; do sleep 0.05; done`,
        "  echo 'heldpkg==1.2.3'",
        '  exit 0',
        'fi',
        'exec python3 "$@"',
        '',
      ].join('\n'),
    );
    chmodSync(python, 0o755);
    const script = `print("first line", flush=True)\nimport os, time\nwhile not os.path.exists(${JSON.stringify(gate)}): time.sleep(0.05)\n`;

    const running = cli(
      [
        'run',
        '--workspace',
        proj,
        '--cwd',
        proj,
        '--python',
        python,
        '--config',
        path.join(proj, 'configs/base.yaml'),
        '--',
        'python3',
        '-c',
        script,
      ],
      { ...tmux.env, EXPDESK_CACHE_DIR: tmpDir() },
      undefined,
      170_000,
    );
    let ended: string | null = null;
    void running.then((r) => (ended = `expdesk run ended early (${r.code}): ${r.stderr}`));
    const experiments = path.join(proj, 'experiments');
    const before = new Set(existsSync(experiments) ? readdirSync(experiments) : []);
    let exp = '';
    await waitFor(() => {
      if (ended) throw new Error(ended);
      exp = newExperiment(experiments, before);
      const log = path.join(exp, 'logs', 'train.log');
      return exp !== '' && existsSync(log) && readFileSync(log, 'utf8').includes('first line');
    }, "the run's first line in train.log");

    // The command runs while pip freeze is held: what must precede the start is there, the rest is pending.
    expect(existsSync(path.join(exp, 'requirements.txt'))).toBe(false);
    const early = json(path.join(exp, 'metadata.json'));
    expect(Object.keys(early).slice(0, 10)).toEqual(SEED_METADATA_KEYS);
    expect(early).toMatchObject({
      git_hash: git(proj, 'rev-parse', 'HEAD').trim(),
      git_dirty: true,
      python_version: 'pending',
      environment_capture: { state: 'pending' },
    });
    expect(readFileSync(path.join(exp, 'uncommitted.patch'), 'utf8')).toContain('notes.md');

    writeFileSync(gate, '');
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(exp, 'requirements.txt'), 'utf8')).toBe('heldpkg==1.2.3\n');
    const late = json(path.join(exp, 'metadata.json'));
    expect(Object.keys(late).slice(0, 10)).toEqual(SEED_METADATA_KEYS);
    expect(late.python_version).toMatch(/^3\.\d+/);
    expect(late.environment_capture).toMatchObject({ state: 'complete', after_start: true });
    const takenAt = (late.environment_capture as { taken_at: string }).taken_at;
    expect(takenAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(takenAt > String(late.started_at)).toBe(true);
  });
});

/** The experiment folder the run created, or '' before it exists. */
function newExperiment(experiments: string, before: Set<string>): string {
  const created = (existsSync(experiments) ? readdirSync(experiments) : []).filter((n) => !before.has(n));
  return created.length === 1 ? path.join(experiments, created[0]!) : '';
}
