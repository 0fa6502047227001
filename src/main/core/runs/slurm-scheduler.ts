/**
 * Talking to a SLURM scheduler: where its commands run (`SchedulerShell`:
 * this machine here, the login node over SSH in ../remote) and one reading of
 * many jobs (`SlurmQuery`): one `squeue` for every job of the user, and only
 * for jobs squeue no longer holds one `sacct` (the job completion record
 * `sacct -c` where accounting is disabled; `scontrol show job` where sacct is
 * missing). An ended job's answer is kept, so it is never asked again. What
 * the output means is src/shared/slurm.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  parseSacct,
  parseScontrol,
  parseSqueue,
  sacctArgs,
  schedulerPhase,
  SQUEUE_ARGS,
  type SlurmJob,
} from '../../../shared/slurm';
import { ExpdeskError } from '../../../shared/errors';

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The command does not exist there. */
  missing?: boolean;
}

/** Where scheduler commands run. */
export interface SchedulerShell {
  /** Where, for messages: "this machine", "ssh://login". */
  readonly label: string;
  /** Run a command there; `stdin`, if given, is its standard input (sbatch reads a job array's script so). */
  exec(argv: readonly string[], stdin?: string): Promise<ShellResult>;
  /** The command's path there, and the PATH searched (said when it is missing). */
  which(cmd: string): Promise<{ found: string | null; searched: string }>;
}

export class SchedulerError extends ExpdeskError {
  constructor(message: string) {
    super('bad-request', message);
  }
}

/** This machine's scheduler commands (SLURM_CONF and PATH from this process's environment). */
export class LocalSchedulerShell implements SchedulerShell {
  readonly label = 'this machine';
  /** Every command run, for tests and the benchmark. */
  commands = 0;

  exec(argv: readonly string[], stdin?: string): Promise<ShellResult> {
    this.commands++;
    return new Promise((resolve) => {
      const child = execFile(
        argv[0]!,
        argv.slice(1),
        { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
          resolve({ code, stdout, stderr, missing: err?.code === 'ENOENT' });
        },
      );
      child.stdin?.on('error', () => undefined); // a command that does not read it
      child.stdin?.end(stdin ?? '');
    });
  }

  which(cmd: string): Promise<{ found: string | null; searched: string }> {
    const searched = process.env.PATH ?? '';
    const found = searched
      .split(path.delimiter)
      .filter(Boolean)
      .map((d) => path.join(d, cmd))
      .find((p) => existsSync(p));
    return Promise.resolve({ found: found ?? null, searched });
  }
}

/** The first line of a command's complaint, for a message. */
export function firstError(r: ShellResult): string {
  return (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ').trim() || `exit code ${r.code}`;
}

/** Reads many jobs with one or two scheduler commands. */
export class SlurmQuery {
  private readonly ended = new Map<string, SlurmJob>();
  /** null: not known yet; false: sacct answers only from the job completion file (`-c`). */
  private accounting: boolean | null = null;

  private last: { at: number; jobs: Map<string, SlurmJob>; asked: Set<string>; fingerprint: string } | null =
    null;
  private interval: number;

  /** `poll`: how often squeue is asked at most (default every 15 s, backing off to 2 min); 0 asks every time. */
  constructor(
    readonly shell: SchedulerShell,
    private readonly poll: { minMs: number; maxMs: number } = { minMs: 15_000, maxMs: 120_000 },
  ) {
    this.interval = poll.minMs;
  }

  /**
   * The jobs among `ids` the scheduler knows (a job it forgot is absent from
   * the map). Throws SchedulerError when squeue itself fails: then nothing
   * may be concluded about any job.
   */
  async jobs(ids: readonly string[]): Promise<Map<string, SlurmJob>> {
    const out = new Map<string, SlurmJob>();
    const ask = ids.filter((id) => {
      const known = this.ended.get(id);
      if (known) out.set(id, known);
      return !known;
    });
    if (ask.length === 0) return out;
    const listed = await this.squeue(ask);
    const missing: string[] = [];
    for (const id of ask) {
      const job = listed.get(id);
      if (job) out.set(id, job);
      else missing.push(id);
    }
    if (missing.length) for (const [id, job] of await this.older(missing)) out.set(id, job);
    for (const [id, job] of out) if (schedulerPhase(job.state) === 'ended') this.ended.set(id, job);
    return out;
  }

  /**
   * squeue's answer: asked again only when the last one is older than the
   * interval (or lacks a job asked for); the interval doubles up to `maxMs`
   * while nothing changes and falls back to `minMs` when something does.
   */
  private async squeue(ids: readonly string[]): Promise<Map<string, SlurmJob>> {
    const last = this.last;
    const now = Date.now();
    if (last && now - last.at < this.interval && ids.every((id) => last.jobs.has(id) || last.asked.has(id)))
      return last.jobs;
    const r = await this.shell.exec(['squeue', ...SQUEUE_ARGS]);
    if (r.code !== 0) throw new SchedulerError(`squeue failed on ${this.shell.label}: ${firstError(r)}`);
    const jobs = parseSqueue(r.stdout);
    const fingerprint = [...jobs.values()].map((j) => `${j.jobId}:${j.state}:${j.reason}`).join(',');
    this.interval =
      last && last.fingerprint === fingerprint
        ? Math.min(this.interval * 2, this.poll.maxMs)
        : this.poll.minMs;
    this.last = { at: now, jobs, asked: new Set(ids), fingerprint };
    return jobs;
  }

  /** Jobs squeue no longer holds: sacct (or its completion-file mode), else scontrol. One command. */
  private async older(ids: string[]): Promise<Map<string, SlurmJob>> {
    const args = sacctArgs(ids);
    const r = await this.shell.exec(['sacct', ...(this.accounting === false ? ['-c'] : []), ...args]);
    if (r.missing) {
      const s = await this.shell.exec(['scontrol', 'show', 'job', '-o']);
      return s.code === 0 ? parseScontrol(s.stdout) : new Map();
    }
    if (r.code !== 0 && this.accounting === null && /accounting storage is disabled/i.test(r.stderr)) {
      this.accounting = false;
      const c = await this.shell.exec(['sacct', '-c', ...args]);
      return c.code === 0 ? parseSacct(c.stdout) : new Map();
    }
    if (r.code === 0 && this.accounting === null) this.accounting = true;
    return r.code === 0 ? parseSacct(r.stdout) : new Map();
  }
}
