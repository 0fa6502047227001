/**
 * The launch form's SLURM fields and the sbatch options they make. No zod
 * here: the renderer imports it (zod's eval probe breaks the CSP).
 */
/** The launch form's SLURM fields (empty: left to the cluster's defaults). */
export interface SlurmFields {
  partition: string;
  nodes: string;
  tasksPerNode: string;
  gpusPerNode: string;
  cpusPerTask: string;
  memory: string;
  time: string;
  account: string;
  qos: string;
  /** Free sbatch options, split like a command line by the caller. */
  extra: string;
}

export const EMPTY_SLURM_FIELDS: SlurmFields = {
  partition: '',
  nodes: '',
  tasksPerNode: '',
  gpusPerNode: '',
  cpusPerTask: '',
  memory: '',
  time: '',
  account: '',
  qos: '',
  extra: '',
};

const FIELD_OPTIONS: Array<[Exclude<keyof SlurmFields, 'extra'>, string]> = [
  ['partition', '--partition'],
  ['nodes', '--nodes'],
  ['tasksPerNode', '--ntasks-per-node'],
  ['gpusPerNode', '--gpus-per-node'],
  ['cpusPerTask', '--cpus-per-task'],
  ['memory', '--mem'],
  ['time', '--time'],
  ['account', '--account'],
  ['qos', '--qos'],
];

/** The sbatch options the form's fields ask for, then the free ones (already split into words). */
export function sbatchOptionsOf(fields: SlurmFields, extraWords: readonly string[]): string[] {
  const out: string[] = [];
  for (const [key, flag] of FIELD_OPTIONS) {
    const v = fields[key].trim();
    if (v) out.push(`${flag}=${v}`);
  }
  return [...out, ...extraWords];
}
