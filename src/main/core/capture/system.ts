/** The machine a run starts on: OS, CPU, memory, GPUs, and an allow-list of environment variables. */
import os from 'node:os';
import { run } from './exec';

export interface GpuInfo {
  name: string;
  memory_total: string;
  driver_version: string;
}

export interface SystemInfo {
  hostname: string;
  os: string;
  cpu: { model: string; count: number };
  memory_bytes: number;
  gpus: GpuInfo[];
}

/** The machine; `gpus: false` leaves out the GPU inventory (nvidia-smi can take seconds). */
export async function systemInfo(options: { gpus?: boolean } = {}): Promise<SystemInfo> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: { model: cpus[0]?.model.trim() ?? 'unknown', count: cpus.length },
    memory_bytes: os.totalmem(),
    gpus: options.gpus === false ? [] : await nvidiaGpus(),
  };
}

/** GPUs from nvidia-smi where it exists; none otherwise (and no error: most laptops have none). */
export async function nvidiaGpus(): Promise<GpuInfo[]> {
  const r = await run(
    'nvidia-smi',
    ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'],
    {
      timeoutMs: 10_000,
    },
  );
  if (!r.ok) return [];
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', memory_total = '', driver_version = ''] = line.split(',').map((s) => s.trim());
      return { name, memory_total, driver_version };
    });
}

/**
 * Environment variables worth recording because they change results
 * (devices, threads, determinism, distributed setup). Names that look like
 * secrets are dropped even when they match a recorded prefix.
 */
const ALLOWED = [
  /^CUDA_VISIBLE_DEVICES$/,
  /^CUDA_LAUNCH_BLOCKING$/,
  /^CUBLAS_WORKSPACE_CONFIG$/,
  /^PYTHONHASHSEED$/,
  /^PYTHONPATH$/,
  /^OMP_NUM_THREADS$/,
  /^MKL_NUM_THREADS$/,
  /^OPENBLAS_NUM_THREADS$/,
  /^TOKENIZERS_PARALLELISM$/,
  /^NCCL_/,
  /^TORCH_/,
  /^PYTORCH_/,
  /^HF_HOME$/,
  /^HF_DATASETS_OFFLINE$/,
  /^TRANSFORMERS_OFFLINE$/,
  /^WORLD_SIZE$/,
  /^LOCAL_RANK$/,
  /^RANK$/,
  /^MASTER_ADDR$/,
  /^MASTER_PORT$/,
  /^CONDA_DEFAULT_ENV$/,
  /^VIRTUAL_ENV$/,
  /^EXPDESK_/,
];
const SECRET = /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE|AUTH/i;

export function recordedEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || SECRET.test(k)) continue;
    if (ALLOWED.some((re) => re.test(k))) out[k] = v;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
