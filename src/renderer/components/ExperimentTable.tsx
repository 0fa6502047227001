import { observeElementRect, useVirtualizer, type Virtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useMemo, useRef } from 'react';
import { useNow } from '../hooks';
import type { ExperimentSummary } from '../../shared/model';
import {
  columnDef,
  COMPACT_COLUMNS,
  finalMetric,
  runDuration,
  sweepLabel,
  type ColumnDef,
} from '../lib/columns';
import { configValue, listedConfigKnown, type FlatConfig } from '../lib/query';
import {
  formatConfigValue,
  formatFinalEval,
  formatFinalLoss,
  formatGpuMemory,
  formatMetric,
  formatPercent,
  formatRunDuration,
  formatTimestamp,
  MISSING,
  problemText,
  shortHash,
} from '../format';
import { selectTableRows, selectVisibleExperiments } from '../store';
import { useExpdesk, useExpdeskStore } from '../store-context';
import { StatusBadge } from './StatusBadge';
import { GroupRow } from './GroupRow';

/** Dense rows: 24 px fits ~30 runs on a laptop screen. */
const ROW_HEIGHT = 24;
const CHECK_WIDTH = 28;

/**
 * A zero-sized scroll element (a test DOM, or a pane not laid out yet) would
 * make the virtualizer render no row at all; assume a screenful instead.
 */
export function observeRect<T extends Element>(
  instance: Virtualizer<T, Element>,
  cb: (rect: { width: number; height: number }) => void,
): (() => void) | undefined {
  return observeElementRect(instance, (rect) =>
    cb(rect.height > 0 ? rect : { width: rect.width || 1200, height: 800 }),
  );
}

/**
 * Every experiment of the workspace, one dense row each, virtualized so that
 * thousands of runs scroll smoothly: only the rows on screen exist in the DOM.
 * Click opens; Ctrl/Cmd+click or the checkbox checks for Compare.
 */
export function ExperimentTable({ compact = false }: { compact?: boolean }): React.JSX.Element {
  const store = useExpdeskStore();
  const listing = useExpdesk((s) => s.listing);
  const loading = useExpdesk((s) => s.listingLoading);
  const info = useExpdesk((s) => s.info);
  const rows = useExpdesk(selectVisibleExperiments);
  // The rows drawn: the runs, under group header rows when grouped (state/groups.ts).
  const shownRows = useExpdesk(selectTableRows);
  const columnIds = useExpdesk((s) => s.columns);
  const sort = useExpdesk((s) => s.sort);
  const selectedPath = useExpdesk((s) => s.selectedPath);
  const detailPath = useExpdesk((s) => s.detailPath);
  const checkedList = useExpdesk((s) => s.checked);
  const configIndex = useExpdesk((s) => s.configIndex);
  const configLoading = useExpdesk((s) => s.configIndexLoading);
  const openWorkspace = useExpdesk((s) => s.openWorkspace);
  const cycleSort = useExpdesk((s) => s.cycleSort);
  const checked = useMemo(() => new Set(checkedList), [checkedList]);
  const columns = useMemo(() => (compact ? COMPACT_COLUMNS : columnIds).map(columnDef), [compact, columnIds]);
  const template = useMemo(() => gridTemplate(columns, compact), [columns, compact]);
  const minWidth = useMemo(
    () => CHECK_WIDTH + columns.reduce((n, c) => n + (compact && c.id === 'name' ? 160 : c.width), 0),
    [columns, compact],
  );
  const now = useNow(rows.some((e) => e.status.state === 'running') && columnIds.includes('duration'));

  const scrollRef = useRef<HTMLDivElement>(null);
  // TanStack Virtual hands back a mutable instance, so the React Compiler skips this component; it is cheap.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: shownRows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 16,
    observeElementRect: observeRect,
    getItemKey: (i) => {
      const r = shownRows[i];
      return r ? (r.kind === 'group' ? `group:${r.id}` : r.exp.path) : i;
    },
  });

  // For benchmarks: when the first rows of a listing reached the DOM (see state/workspace.ts's marks).
  const hasRows = rows.length > 0;
  useEffect(() => {
    if (hasRows && typeof performance.mark === 'function') performance.mark('expdesk:rows-rendered');
  }, [hasRows]);

  // Keep the keyboard's highlight on screen.
  const selectedIndex = useMemo(
    () => shownRows.findIndex((r) => r.kind === 'exp' && r.exp.path === selectedPath),
    [shownRows, selectedPath],
  );
  useEffect(() => {
    if (selectedIndex >= 0) virtualizer.scrollToIndex(selectedIndex, { align: 'auto' });
  }, [selectedIndex, virtualizer]);

  if (!listing) {
    return (
      <div className="empty" data-testid="empty-state">
        {loading ? (
          'Loading…'
        ) : (
          <>
            <p>No workspace is open. Drop a folder here, or type its path in the Open field above.</p>
            {info?.demoWorkspace && (
              <button type="button" className="btn" onClick={() => void openWorkspace(info.demoWorkspace!)}>
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

  const onRowClick = (e: React.MouseEvent, path: string): void => {
    const s = store.getState();
    if (e.ctrlKey || e.metaKey) s.toggleChecked(path);
    else if (e.shiftKey) {
      // Shift+click checks the range from the highlight, like a file manager.
      const a = rows.findIndex((r) => r.path === s.selectedPath);
      const b = rows.findIndex((r) => r.path === path);
      if (a === -1) s.toggleChecked(path);
      else s.setChecked([...s.checked, ...rows.slice(Math.min(a, b), Math.max(a, b) + 1).map((r) => r.path)]);
      s.select(path);
    } else void s.openDetail(path);
  };

  const items = virtualizer.getVirtualItems();
  const allChecked = rows.length > 0 && rows.every((r) => checked.has(r.path));
  return (
    <div
      className="table-scroll"
      ref={scrollRef}
      role="grid"
      aria-rowcount={shownRows.length + 1}
      aria-busy={loading}
      data-testid="experiment-table"
      data-compact={compact ? 'true' : 'false'}
    >
      <div className="grid" style={{ minWidth }}>
        <div className="grid-head" role="row" style={{ gridTemplateColumns: template }}>
          <div className="cell check" role="columnheader">
            {!compact && (
              <input
                type="checkbox"
                aria-label="Check every shown experiment"
                checked={allChecked}
                onChange={() => store.getState().setChecked(allChecked ? [] : rows.map((r) => r.path))}
              />
            )}
          </div>
          {columns.map((c) => {
            const dir = sort?.column === c.id ? sort.dir : null;
            return (
              <div
                key={c.id}
                role="columnheader"
                aria-sort={dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : 'none'}
                className={`cell head${c.numeric ? ' num' : ''}${dir ? ' sorted' : ''}`}
                title={`${c.id.includes(':') ? c.id : c.label} — click to sort`}
                data-testid={`col-${c.id}`}
                onClick={() => cycleSort(c.id)}
              >
                <span className="ellipsis">{c.label}</span>
                {dir && <span className="sort-arrow">{dir === 'asc' ? '▲' : '▼'}</span>}
              </div>
            );
          })}
        </div>
        {rows.length === 0 ? (
          <div className="empty small" data-testid="no-match">
            No experiment matches the filter.
          </div>
        ) : (
          <div className="grid-body" style={{ height: virtualizer.getTotalSize() }}>
            {items.map((item) => {
              const r = shownRows[item.index]!;
              if (r.kind === 'group')
                return (
                  <GroupRow
                    key={`group:${r.id}`}
                    group={r}
                    top={item.start}
                    index={item.index}
                    template={template}
                    columns={columns}
                    checked={checked}
                  />
                );
              const e = r.exp;
              return (
                <Row
                  key={e.path}
                  exp={e}
                  top={item.start}
                  index={item.index}
                  template={template}
                  columns={columns}
                  compact={compact}
                  selected={e.path === selectedPath}
                  open={e.path === detailPath}
                  checked={checked.has(e.path)}
                  config={configIndex[e.path]}
                  configLoading={configLoading}
                  now={now}
                  onClick={onRowClick}
                  onCheck={store.getState().toggleChecked}
                />
              );
            })}
          </div>
        )}
      </div>
    </div>
  );
}

function gridTemplate(columns: readonly ColumnDef[], compact: boolean): string {
  return [
    `${CHECK_WIDTH}px`,
    ...columns.map((c) => (c.id === 'name' ? `minmax(${compact ? 160 : c.width}px, 1fr)` : `${c.width}px`)),
  ].join(' ');
}

interface RowProps {
  exp: ExperimentSummary;
  top: number;
  index: number;
  template: string;
  columns: readonly ColumnDef[];
  compact: boolean;
  selected: boolean;
  open: boolean;
  checked: boolean;
  config: FlatConfig | undefined;
  configLoading: boolean;
  now: number;
  onClick(e: React.MouseEvent, path: string): void;
  onCheck(path: string): void;
}

const Row = memo(function Row(p: RowProps): React.JSX.Element {
  const e = p.exp;
  return (
    <div
      role="row"
      aria-rowindex={p.index + 2}
      aria-selected={p.selected}
      className={`grid-row${p.selected ? ' selected' : ''}${p.open ? ' open' : ''}${p.checked ? ' checked' : ''}${p.index % 2 ? ' odd' : ''}`}
      style={{ transform: `translateY(${p.top}px)`, gridTemplateColumns: p.template }}
      onClick={(ev) => p.onClick(ev, e.path)}
      data-testid="experiment-row"
      data-path={e.path}
      data-name={e.name}
      data-folder={e.folder}
    >
      <div className="cell check" role="gridcell" onClick={(ev) => ev.stopPropagation()}>
        <input
          type="checkbox"
          checked={p.checked}
          onChange={() => p.onCheck(e.path)}
          aria-label={`Check ${e.name} for Compare`}
          data-testid="row-check"
          tabIndex={-1}
        />
      </div>
      {p.columns.map((c) => (
        <Cell key={c.id} column={c} exp={e} config={p.config} configLoading={p.configLoading} now={p.now} />
      ))}
    </div>
  );
});

/** The run's star (a click toggles it, written into its notes file) and tags. */
function TagsCell({ cls, exp }: { cls: string; exp: ExperimentSummary }): React.JSX.Element {
  const annotate = useExpdesk((s) => s.annotate);
  const a = exp.annotations;
  const starred = a?.starred ?? false;
  return (
    <div className={cls} role="gridcell" data-testid="cell-tags" title={a?.note || undefined}>
      <button
        type="button"
        className="star-toggle"
        aria-pressed={starred}
        aria-label={starred ? 'unstar' : 'star'}
        onClick={(ev) => {
          ev.stopPropagation();
          void annotate([exp.path], { starred: !starred });
        }}
      >
        {starred ? '★' : '☆'}
      </button>
      {a?.tags.map((t) => `#${t}`).join(' ')}
    </div>
  );
}

function Cell(props: {
  column: ColumnDef;
  exp: ExperimentSummary;
  config: FlatConfig | undefined;
  configLoading: boolean;
  now: number;
}): React.JSX.Element {
  const { column: c, exp: e } = props;
  const cls = `cell${c.numeric ? ' num' : ''}`;
  switch (c.id) {
    case 'status':
      return (
        <div className={cls} role="gridcell">
          <StatusBadge status={e.status} />
          {e.diverged && (
            <span
              className="diverged-mark"
              data-testid="diverged-mark"
              title={`Diverged: ${e.diverged.metric} is ${e.diverged.value}${e.diverged.step !== null ? ` at step ${e.diverged.step}` : ''}`}
              aria-label="diverged"
            >
              ↯
            </span>
          )}
        </div>
      );
    case 'name':
      return <IdentityCell exp={e} cls={cls} />;
    case 'algorithm':
      return <Text cls={cls} text={e.algorithm} />;
    case 'model':
      return <Text cls={cls} text={e.model} />;
    case 'started':
      return <Text cls={`${cls} tabular`} text={formatTimestamp(e.status.startedAt ?? e.startedAt)} />;
    case 'duration': {
      const d = formatRunDuration(runDuration(e, props.now));
      return (
        <div className={cls} role="gridcell" title={d.title}>
          {d.text}
        </div>
      );
    }
    case 'git':
      return (
        <div className={`${cls} mono`} role="gridcell" title={e.gitHash ?? undefined}>
          {shortHash(e.gitHash)}
          {e.gitDirty && (
            <span className="dirty" title="Uncommitted changes when the run started (see uncommitted.patch)">
              ●
            </span>
          )}
        </div>
      );
    case 'steps':
      return <Text cls={cls} text={e.total_steps === null ? MISSING : String(e.total_steps)} />;
    case 'final_loss':
      return (
        <div className={cls} role="gridcell" data-testid="cell-final-loss">
          {formatFinalLoss(e)}
        </div>
      );
    case 'final_eval':
      return <Text cls={cls} text={formatFinalEval(e.final_eval)} />;
    case 'tags':
      return <TagsCell cls={cls} exp={e} />;
    case 'sweep':
      return <Text cls={cls} text={e.sweep ? `${e.sweep.id} · ${sweepLabel(e.sweep)}` : MISSING} />;
    case 'gpu_memory':
      return <Text cls={cls} text={formatGpuMemory(e.gpu?.peakMemoryMiB)} />;
    case 'gpu_util':
      return <Text cls={cls} text={formatPercent(e.gpu?.meanUtilization)} />;
    case 'problems':
      return (
        <div className={cls} role="gridcell" title={e.problems.map(problemText).join('\n') || undefined}>
          {e.problems.length > 0 ? <span className="problems">{e.problems.length}</span> : ''}
        </div>
      );
  }
  if (c.id.startsWith('cfg:')) {
    // The loaded config, else the key hyperparameters the listing carries, else "loading".
    const key = c.id.slice(4);
    const known = props.config !== undefined || listedConfigKnown(e, key);
    const value = known ? configValue(e, key, props.config) : undefined;
    const text =
      value !== undefined ? formatConfigValue(value) : !known && props.configLoading ? '…' : MISSING;
    return <Text cls={cls} text={text} />;
  }
  if (c.id.startsWith('metric:'))
    return <Text cls={cls} text={formatMetric(finalMetric(e, c.id.slice(7)))} />;
  return <Text cls={cls} text={MISSING} />;
}

/**
 * A row's identity is its folder (copies of one config share a name); a
 * different name from config or metadata follows it, muted, and a row with
 * problems carries a mark and its first problem in words (issue 16).
 */
function IdentityCell({ exp: e, cls }: { exp: ExperimentSummary; cls: string }): React.JSX.Element {
  const first = e.problems[0];
  return (
    <div className={`${cls} name`} role="gridcell" title={e.path} data-testid="cell-name">
      {e.sweep && (
        <span
          className="sweep-tag"
          data-testid="sweep-tag"
          title={`${e.sweep.id}: member ${e.sweep.index + 1} of ${e.sweep.count} (${sweepLabel(e.sweep)})`}
        >
          {e.sweep.index + 1}/{e.sweep.count}
        </span>
      )}
      <span className="folder" data-testid="cell-folder">
        {e.folder}
      </span>
      {e.name !== e.folder && (
        <span className="alias" data-testid="cell-alias">
          {e.name}
        </span>
      )}
      {first && (
        <span
          className="row-problem"
          data-testid="row-problem"
          title={e.problems.map(problemText).join('\n')}
        >
          ⚠ {first.message}
          {e.problems.length > 1 ? ` (+${e.problems.length - 1})` : ''}
        </span>
      )}
    </div>
  );
}

function Text({ cls, text }: { cls: string; text: string | null }): React.JSX.Element {
  const t = text ?? MISSING;
  return (
    <div className={cls} role="gridcell" title={t.length > 12 ? t : undefined}>
      {t}
    </div>
  );
}
