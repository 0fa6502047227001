/**
 * Text from folders reaches the terminal with its control characters shown,
 * never sent (finding D of issue 15): a folder name holding an OSC 52
 * clipboard write, config values with a screen clear and a title, a metric
 * name with an OSC 8 link, a FAILED.txt with a C1 CSI. Every command's
 * output is free of raw escapes; --json still gives the exact strings back;
 * compare --csv neutralises formula cells; tail keeps a log's colours and
 * shows its clipboard write escaped.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli';
import { metricsLines, writeExperiment } from '../../helpers/experiments';
import { tmpDir } from '../../helpers/tmp';

const OSC52 = '\x1b]52;c;cm0gLXJmIH4K\x07';
const NAME = `exp001_${OSC52}x`;
const METRIC = 'train/\x1b]8;;https://evil.invalid\x1b\\loss';

/** Raw ESC, BEL, DEL and C1 controls. */
// eslint-disable-next-line no-control-regex -- control characters are what this finds
const RAW = /[\x07\x1b\x7f-\x9f]/;

function hostile(): { root: string; a: string; b: string; env: NodeJS.ProcessEnv } {
  const root = tmpDir();
  const a = writeExperiment(path.join(root, 'experiments', NAME), {
    config:
      'experiment:\n  name: "exp001_\\e]0;owned\\a"\nalgorithm:\n  name: dpo\nnote: "\\e[2J\\e[Hcleared"\n' +
      'link: "=HYPERLINK(\\"http://evil.invalid\\",\\"x\\")"\n',
    metrics: metricsLines([
      { step: 1, prefix: 'train', [METRIC]: 0.5, 'train/loss': 0.9 },
      { step: 2, prefix: 'eval', 'eval/\u009b2Jacc': 0.6 },
    ]),
    failed: 'Failed at step 2\n\u009b2J\x1b[31mboom\n',
  });
  const b = writeExperiment(path.join(root, 'experiments', 'exp002_dpo'), {
    config: 'experiment:\n  name: exp002_dpo\nalgorithm:\n  name: dpo\nnote: "+cmd|calc"\nlink: "@SUM(A1)"\n',
    metrics: metricsLines([{ step: 1, prefix: 'train', 'train/loss': 0.4 }]),
  });
  return { root, a, b, env: { EXPDESK_CACHE_DIR: tmpDir() } };
}

describe('CLI output of hostile folders', { timeout: 120_000 }, () => {
  it('list, show, compare and summarize print no raw escape; --json gives the strings back', () => {
    const { root, a, b, env } = hostile();
    for (const args of [
      ['list', root],
      ['show', a],
      ['compare', a, b],
      ['compare', a, b, '--csv'],
      ['list', root, '--json'],
      ['show', a, '--json'],
      ['compare', a, b, '--json'],
      ['summarize', a, b],
    ]) {
      const r = runCli(args, env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout, args.join(' ')).not.toMatch(RAW);
      expect(r.stderr, args.join(' ')).not.toMatch(RAW);
    }
    const list = runCli(['list', root], env).stdout;
    expect(list).toContain('exp001_\\x1b]52;c;cm0gLXJmIH4K\\x07x');
    const show = runCli(['show', a], env).stdout;
    expect(show).toContain('\\x1b[2J\\x1b[Hcleared');
    expect(show).toContain('train/\\x1b]8;;https://evil.invalid\\x1b\\loss');
    const json = JSON.parse(runCli(['list', root, '--json'], env).stdout) as {
      experiments: Array<{ path: string }>;
    };
    expect(json.experiments.map((e) => path.basename(e.path))).toContain(NAME);
    const detail = JSON.parse(runCli(['show', a, '--json'], env).stdout) as { config: { note: string } };
    expect(detail.config.note).toBe('\x1b[2J\x1b[Hcleared');
  });

  it('compare --csv neutralises formula cells as the interface does', () => {
    const { a, b, env } = hostile();
    const csv = runCli(['compare', a, b, '--csv'], env).stdout;
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.invalid"",""x"")"`);
    expect(csv).toContain("'+cmd|calc");
    expect(csv).toContain("'@SUM(A1)");
    expect(csv).not.toMatch(/(^|,)[=+@]/m);
  });

  it("tail keeps a log's colours and progress bars and shows a clipboard write escaped", () => {
    const { a, env } = hostile();
    writeFileSync(
      path.join(a, 'logs', 'train.log'),
      `\x1b[32mstep 1\x1b[0m\r 50%|##|\n${OSC52}\x1b]0;title\x07\x1b[2Jdone\n`,
    );
    const r = runCli(['tail', a], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      '\x1b[32mstep 1\x1b[0m\r 50%|##|\n\\x1b]52;c;cm0gLXJmIH4K\\x07\\x1b]0;title\\x07\\x1b[2Jdone\n',
    );
  });
});
