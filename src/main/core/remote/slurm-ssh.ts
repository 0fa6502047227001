/**
 * SLURM through SSH: the login node is the site (../runs/slurm-executor.ts
 * `SlurmSite`). The folder is prepared there by the helper's `prepare`, as
 * for an SSH run (./remote-runs.ts `prepareRemoteRun`); sbatch, squeue and
 * scancel run there through the connection, one exec each, so a listing of
 * any number of jobs costs one squeue round trip. Files are written with an
 * exec whose stdin is the data (temp + rename there); the folders' status,
 * FAILED.txt and SLURM record are read for many folders in one exec.
 */
import { readFile } from 'node:fs/promises';
import { remoteJoin } from '../../../shared/remote-location';
import { shellJoin, shellQuote } from '../../../shared/shell-quote';
import { SLURM_RECORD, SlurmRecord } from '../../../shared/slurm';
import { runnerScript, systemSamplerScript } from '../app/paths';
import type { SlurmFolderState, SlurmSite } from '../runs/slurm-executor';
import type { SchedulerShell, ShellResult } from '../runs/slurm-scheduler';
import { parseStatusFile } from '../workspace/status-file';
import type { SshConnection } from './connection';
import { prepareRemoteRun } from './remote-runs';

/** Reads each folder's small files (regular files only, 1 MiB at most); prints one JSON answer. */
const READ_FOLDERS = `
import json, os, stat, sys
def small(p):
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, 1 << 20).decode("utf-8", "replace")
    finally:
        os.close(fd)
out = []
for d in json.load(sys.stdin):
    out.append({"status": small(os.path.join(d, "expdesk_status.json")),
                "record": small(os.path.join(d, "${SLURM_RECORD}")),
                "failed": os.path.isfile(os.path.join(d, "FAILED.txt"))})
print(json.dumps(out))
`;

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export class SshSchedulerShell implements SchedulerShell {
  readonly label: string;
  /** Every scheduler command run, for tests and the benchmark. */
  commands = 0;

  constructor(private readonly conn: SshConnection) {
    this.label = conn.label;
  }

  async exec(argv: readonly string[], stdin?: string): Promise<ShellResult> {
    this.commands++;
    const r = await this.conn.exec(shellJoin(argv), stdin === undefined ? {} : { stdin });
    return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr, missing: r.code === 127 };
  }

  async which(cmd: string): Promise<{ found: string | null; searched: string }> {
    const r = await this.conn.exec(`printf '%s\\n' "$PATH"; command -v ${shellQuote(cmd)} || true`);
    const [searched = '', found = ''] = r.stdout.toString('utf8').split('\n');
    return { found: found.trim() || null, searched };
  }
}

export function sshSlurmSite(conn: SshConnection): SlurmSite {
  const shell = new SshSchedulerShell(conn);
  const run = async (script: string, stdin?: string): Promise<string> => {
    const r = await conn.exec(script, stdin === undefined ? {} : { stdin });
    if (r.code !== 0) throw new Error(`on ${conn.label}: ${r.stderr.trim() || `exit code ${r.code}`}`);
    return r.stdout.toString('utf8');
  };
  const write = async (file: string, data: string | Buffer, mode: number): Promise<void> => {
    const f = shellQuote(file);
    const m = shellQuote(mode.toString(8));
    await run(`t=${f}.tmp-$$ && cat > "$t" && chmod ${m} "$t" && mv -f "$t" ${f}`, data.toString());
  };
  return {
    shell,
    host: conn.label,
    join: (...p) => remoteJoin(...p),
    async prepare(plan) {
      const prepared = await prepareRemoteRun(conn, plan);
      for (const f of prepared.files)
        await write(f.path, Buffer.from(f.data, 'base64').toString('utf8'), f.mode);
      return prepared;
    },
    write: (file, text, mode = 0o644) => write(file, text, mode),
    async folders(expDirs): Promise<SlurmFolderState[]> {
      if (expDirs.length === 0) return [];
      const out = JSON.parse(
        await run(`python3 -c ${shellQuote(READ_FOLDERS)}`, JSON.stringify(expDirs)),
      ) as Array<{ status: string | null; record: string | null; failed: boolean }>;
      return out.map((f) => {
        const record = SlurmRecord.safeParse(parseJson(f.record));
        return {
          status: parseStatusFile(parseJson(f.status)).value,
          failed: f.failed,
          record: record.success ? record.data : null,
        };
      });
    },
    removeFolder: async (expDir) => void (await run(`rm -rf -- ${shellQuote(expDir)}`)),
    runnerSource: () => readFile(runnerScript(), 'utf8'),
    systemSource: () => readFile(systemSamplerScript(), 'utf8'),
    runnerPython: 'python3',
  };
}
