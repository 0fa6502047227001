import type { ExperimentStatus } from '../../shared/model';
import { statusLabel, statusReason } from '../format';

/** A colored status; an inferred one is italic, ends in "?" and explains itself on hover. */
export function StatusBadge({ status }: { status: ExperimentStatus }): React.JSX.Element {
  const inferred = status.source === 'inferred';
  return (
    <span
      className={`badge badge-${status.state}${inferred ? ' badge-inferred' : ''}`}
      title={statusReason(status)}
      data-testid="status-badge"
      data-state={status.state}
      data-inferred={inferred ? 'true' : 'false'}
    >
      {statusLabel(status)}
    </span>
  );
}
