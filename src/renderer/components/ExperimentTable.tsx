import { useEffect, useRef } from 'react';
import type { ExperimentSummary } from '../../shared/model';
import {
  formatFinalEval,
  formatFinalLoss,
  formatTimestamp,
  MISSING,
  problemText,
  shortHash,
} from '../format';
import { useExpdesk } from '../store-context';
import { StatusBadge } from './StatusBadge';

const COLUMNS = [
  'Status',
  'Name',
  'Algorithm',
  'Model',
  'Steps',
  'Final loss',
  'Final eval',
  'Started',
  'Git',
  'Problems',
] as const;

/** Every experiment of the workspace, one dense row each. Click opens; Up/Down/Enter from the keyboard. */
export function ExperimentTable(): React.JSX.Element {
  const listing = useExpdesk((s) => s.listing);
  const loading = useExpdesk((s) => s.listingLoading);
  const info = useExpdesk((s) => s.info);
  const selectedPath = useExpdesk((s) => s.selectedPath);
  const detailPath = useExpdesk((s) => s.detailPath);
  const openDetail = useExpdesk((s) => s.openDetail);
  const openWorkspace = useExpdesk((s) => s.openWorkspace);
  if (!listing) {
    return (
      <div className="empty" data-testid="empty-state">
        {loading ? (
          'Loading…'
        ) : (
          <>
            <p>No workspace is open. Type a folder&apos;s path above and press Open folder.</p>
            {info?.demoWorkspace && (
              <button type="button" onClick={() => void openWorkspace(info.demoWorkspace!)}>
                Open the demo workspace
              </button>
            )}
          </>
        )}
      </div>
    );
  }

  if (listing.experiments.length === 0) {
    return (
      <div className="empty" data-testid="empty-state">
        No experiments in <code>{listing.experimentsDir}</code> (an experiment is a folder with config.yaml,
        metadata.json or logs/metrics.jsonl).
      </div>
    );
  }

  return (
    <div className="table-scroll">
      <table className="experiments" data-testid="experiment-table" aria-busy={loading}>
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th key={c} scope="col" className={columnClass(c)}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {listing.experiments.map((e) => (
            <Row
              key={e.path}
              exp={e}
              selected={e.path === selectedPath}
              open={e.path === detailPath}
              onClick={() => void openDetail(e.path)}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

type Column = (typeof COLUMNS)[number];

/** Columns the detail panel repeats: hidden beside it on narrower windows (styles.css). */
const SECONDARY: ReadonlySet<Column> = new Set(['Model', 'Final eval', 'Started', 'Git']);

function columnClass(c: Column): string | undefined {
  const classes: string[] = [];
  if (c === 'Steps' || c === 'Final loss' || c === 'Problems') classes.push('num');
  if (SECONDARY.has(c)) classes.push('secondary');
  return classes.join(' ') || undefined;
}

function Row(props: {
  exp: ExperimentSummary;
  selected: boolean;
  open: boolean;
  onClick(): void;
}): React.JSX.Element {
  const { exp: e, selected } = props;
  const ref = useRef<HTMLTableRowElement>(null);
  // Keep the keyboard's highlight on screen.
  useEffect(() => {
    if (selected) ref.current?.scrollIntoView?.({ block: 'nearest' });
  }, [selected]);
  const finalEval = formatFinalEval(e.final_eval);
  return (
    <tr
      ref={ref}
      className={`${selected ? 'selected' : ''}${props.open ? ' open' : ''}`}
      aria-selected={selected}
      onClick={props.onClick}
      data-testid="experiment-row"
      data-path={e.path}
      data-name={e.name}
    >
      <td>
        <StatusBadge status={e.status} />
      </td>
      <td className="name" title={e.path} data-testid="cell-name">
        {e.name}
      </td>
      <td>{e.algorithm ?? MISSING}</td>
      <td className="ellipsis secondary" title={e.model ?? undefined}>
        {e.model ?? MISSING}
      </td>
      <td className="num">{e.total_steps ?? MISSING}</td>
      <td className="num" data-testid="cell-final-loss">
        {formatFinalLoss(e)}
      </td>
      <td className="ellipsis secondary" title={finalEval}>
        {finalEval}
      </td>
      <td className="nowrap secondary">{formatTimestamp(e.startedAt)}</td>
      <td className="mono nowrap secondary">
        {shortHash(e.gitHash)}
        {e.gitDirty && (
          <span className="dirty" title="uncommitted changes when the run started">
            *
          </span>
        )}
      </td>
      <td className="num" title={e.problems.map(problemText).join('\n') || undefined}>
        {e.problems.length > 0 ? <span className="problems">{e.problems.length}</span> : ''}
      </td>
    </tr>
  );
}
