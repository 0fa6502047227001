/** Real git repositories for tests. */
import { execFileSync } from 'node:child_process';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Expdesk Test',
  GIT_AUTHOR_EMAIL: 'test@expdesk.invalid',
  GIT_COMMITTER_NAME: 'Expdesk Test',
  GIT_COMMITTER_EMAIL: 'test@expdesk.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...GIT_ENV },
  });
}

export function initRepo(dir: string): void {
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
}
