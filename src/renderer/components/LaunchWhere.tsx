/**
 * The launch form's "where": this machine, or SLURM (sbatch where the
 * workspace is, the login node for an SSH workspace) with the job's
 * resources and free sbatch options. Remembered per workspace (state/launch.ts).
 */
import type { SlurmFields } from '../../shared/slurm-fields';
import { useExpdeskPick } from '../store-context';

const FIELDS: Array<{ key: keyof SlurmFields; label: string; placeholder: string }> = [
  { key: 'partition', label: 'Partition', placeholder: 'default' },
  { key: 'nodes', label: 'Nodes', placeholder: '1' },
  { key: 'tasksPerNode', label: 'Tasks per node', placeholder: '1' },
  { key: 'gpusPerNode', label: 'GPUs per node', placeholder: '0' },
  { key: 'cpusPerTask', label: 'CPUs per task', placeholder: '1' },
  { key: 'memory', label: 'Memory', placeholder: '16G' },
  { key: 'time', label: 'Time limit', placeholder: '04:00:00' },
  { key: 'account', label: 'Account', placeholder: 'default' },
  { key: 'qos', label: 'QoS', placeholder: 'default' },
];

export function LaunchWhere(): React.JSX.Element {
  const s = useExpdeskPick('where', 'slurm', 'setWhere', 'setSlurmField');
  return (
    <div className="field launch-where" data-testid="launch-where">
      <span className="field-label">Where</span>
      <div className="where-choice" role="radiogroup" aria-label="Where the run goes">
        {(
          [
            ['local', 'This machine'],
            ['slurm', 'SLURM'],
          ] as const
        ).map(([value, label]) => (
          <label key={value} className="check-label">
            <input
              type="radio"
              name="launch-where"
              checked={s.where === value}
              onChange={() => s.setWhere(value)}
              data-testid={`where-${value}`}
            />
            {label}
          </label>
        ))}
      </div>
      {s.where === 'slurm' && (
        <div className="slurm-fields" data-testid="slurm-fields">
          {FIELDS.map((f) => (
            <label key={f.key} className="field narrow">
              <span className="field-label">{f.label}</span>
              <input
                type="text"
                value={s.slurm[f.key]}
                placeholder={f.placeholder}
                onChange={(e) => s.setSlurmField({ [f.key]: e.target.value })}
                data-testid={`slurm-${f.key}`}
                spellCheck={false}
              />
            </label>
          ))}
          <label className="field slurm-extra">
            <span className="field-label">
              sbatch options <span className="muted">e.g. --gres=gpu:4 --constraint=a100</span>
            </span>
            <input
              type="text"
              value={s.slurm.extra}
              onChange={(e) => s.setSlurmField({ extra: e.target.value })}
              data-testid="slurm-extra"
              spellCheck={false}
            />
          </label>
        </div>
      )}
    </div>
  );
}
