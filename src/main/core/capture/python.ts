/**
 * The Python side of a run's environment, probed from the interpreter the run
 * will use (not from whatever `python` Expdesk itself finds): versions of
 * Python, torch and CUDA, pip freeze, and conda's package list inside a conda
 * environment. Every probe has a timeout: importing a broken torch can hang.
 */
import path from 'node:path';
import { run } from './exec';

export interface PythonInfo {
  python_version: string;
  torch_version: string;
  cuda_version: string;
  python_executable: string;
  conda: boolean;
  error?: string;
}

/** The script that reports a Python's versions; the remote helper runs the same one (sent with `prepare`). */
export const PYTHON_PROBE = `
import json, os, sys
out = {"python_version": sys.version, "python_executable": sys.executable,
       "conda": os.path.exists(os.path.join(sys.prefix, "conda-meta"))}
try:
    import torch
    out["torch_version"] = str(torch.__version__)
    out["cuda_version"] = str(torch.version.cuda) if torch.version.cuda else "N/A"
except ImportError:
    out["torch_version"] = "not installed"
    out["cuda_version"] = "N/A"
except Exception as e:
    out["torch_version"] = "error: %s" % (e,)
    out["cuda_version"] = "unknown"
print(json.dumps(out))
`;

export function probeTimeoutMs(): number {
  return Number(process.env.EXPDESK_PROBE_TIMEOUT_MS ?? 30_000);
}

export function freezeTimeoutMs(): number {
  return Number(process.env.EXPDESK_FREEZE_TIMEOUT_MS ?? 120_000);
}

export async function probePython(python: string, cwd: string): Promise<PythonInfo> {
  const r = await run(python, ['-c', PYTHON_PROBE], { cwd, timeoutMs: probeTimeoutMs() });
  const fallback = (error: string): PythonInfo => ({
    python_version: 'unknown',
    torch_version: 'unknown',
    cuda_version: 'unknown',
    python_executable: python,
    conda: false,
    error,
  });
  if (!r.ok) return fallback(`probing ${python}: ${r.error ?? r.stderr.trim()}`);
  try {
    const lastLine = r.stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(lastLine) as PythonInfo;
  } catch {
    return fallback(`probing ${python}: unexpected output ${JSON.stringify(r.stdout.slice(0, 200))}`);
  }
}

export async function pipFreeze(python: string, cwd: string): Promise<{ text: string; error?: string }> {
  const r = await run(python, ['-m', 'pip', 'freeze'], {
    cwd,
    timeoutMs: freezeTimeoutMs(),
  });
  if (r.ok) return { text: r.stdout };
  const why = r.timedOut ? r.error! : (r.stderr.trim().split('\n').pop() ?? r.error ?? 'failed');
  return { text: `# pip freeze failed for ${python}: ${why}\n`, error: `pip freeze: ${why}` };
}

export async function condaExport(info: PythonInfo, cwd: string): Promise<string | null> {
  if (!info.conda) return null;
  const prefix = path.dirname(path.dirname(info.python_executable));
  const conda = process.env.CONDA_EXE || 'conda';
  const r = await run(conda, ['list', '--export', '-p', prefix], { cwd, timeoutMs: 120_000 });
  return r.ok ? r.stdout : `# conda list --export failed: ${r.error ?? r.stderr.trim()}\n`;
}
