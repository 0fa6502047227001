/**
 * The files Expdesk writes into a SLURM experiment's folder, by name: apart
 * from ./slurm.ts (schemas, zod) so that a listing can look for them without
 * loading the SLURM code.
 */

/** The file Expdesk writes into a SLURM experiment's folder: the job it was submitted as. */
export const SLURM_RECORD = 'expdesk_slurm.json';
/** The batch script, kept in the folder so the user can read and resubmit it. */
export const SLURM_SCRIPT = 'expdesk_job.sbatch';
