import { useMemo, useState } from 'react';
import type { ExperimentState } from '../../shared/model';
import { columnDef, DEFAULT_COLUMNS, FIXED_COLUMNS, KEY_CONFIG_KEYS, metricKeys } from '../lib/columns';
import { parseQuery } from '../lib/query';
import { configKeyChoices } from '../lib/table-groups';
import { GroupByControl } from './GroupByControl';
import { modKey } from '../keyboard';
import { selectVisibleExperiments } from '../store';
import { useExpdesk } from '../store-context';
import { LoadOnMount, Popover } from './Popover';
import { WebhookSetting } from './Alerts';

const STATES: readonly ExperimentState[] = ['running', 'completed', 'failed', 'stopped', 'unknown'];

/** Filter box, status chips, column chooser and the Compare action above the table. */
export function ExperimentsToolbar({ compact }: { compact: boolean }): React.JSX.Element {
  const query = useExpdesk((s) => s.query);
  const setQuery = useExpdesk((s) => s.setQuery);
  // While only the first screenful is in (a large workspace's first listing), the count is the folder's.
  const total = useExpdesk((s) => s.listing?.total ?? s.listing?.experiments.length ?? 0);
  const partial = useExpdesk((s) => (s.listing?.total ?? 0) > (s.listing?.experiments.length ?? 0));
  const shown = useExpdesk((s) => selectVisibleExperiments(s).length);
  const checked = useExpdesk((s) => s.checked);
  const setChecked = useExpdesk((s) => s.setChecked);
  const openCompare = useExpdesk((s) => s.openCompare);
  const configLoading = useExpdesk((s) => s.configIndexLoading);
  const configError = useExpdesk((s) => s.configIndexError);
  const hasConditions = parseQuery(query).conditions.length > 0;
  const brushed = useExpdesk((s) => Object.keys(s.brush).length);
  const clearBrush = useExpdesk((s) => s.clearBrush);
  const parcoordsOpen = useExpdesk((s) => s.parcoordsOpen);
  const setParcoordsOpen = useExpdesk((s) => s.setParcoordsOpen);
  const openDiff = useExpdesk((s) => s.openDiff);

  return (
    <div className={`toolbar${compact ? ' compact' : ''}`} data-testid="experiments-toolbar">
      <div className="filter">
        <span className="filter-icon" aria-hidden="true">
          ⌕
        </span>
        <input
          type="text"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder={
            compact
              ? `Filter (${modKey('K')})`
              : `Filter: words, status:failed, dpo.beta=0.1, eval/loss<0.5   (${modKey('K')} or /)`
          }
          aria-label="Filter experiments"
          spellCheck={false}
          autoComplete="off"
          data-testid="filter-input"
          onKeyDown={(e) => {
            if (e.key === 'Escape' && query) {
              e.stopPropagation();
              setQuery('');
            } else if (e.key === 'ArrowDown' || e.key === 'Enter') {
              // From the filter straight into the results.
              e.preventDefault();
              e.currentTarget.blur();
            }
          }}
        />
        {query && (
          <button
            type="button"
            className="icon-btn"
            onClick={() => setQuery('')}
            aria-label="Clear the filter"
          >
            ×
          </button>
        )}
      </div>
      {!compact && <StatusChips />}
      <span className="toolbar-count muted" data-testid="shown-count">
        {shown === total ? `${total}` : `${shown} of ${total}`}
        {partial && ' · listing the rest…'}
        {hasConditions && configLoading && ' · reading configs…'}
        {hasConditions && configError && ` · config values unavailable (${configError})`}
      </span>
      {brushed > 0 && (
        <button type="button" className="btn ghost" onClick={clearBrush} data-testid="clear-brush">
          Clear brush ({brushed} axis{brushed > 1 ? 'es' : ''})
        </button>
      )}
      <div className="spacer" />
      {!compact && checked.length > 0 && (
        <>
          <span className="muted small" data-testid="checked-count">
            {checked.length} checked
          </span>
          <button type="button" className="btn ghost" onClick={() => setChecked([])}>
            Clear
          </button>
        </>
      )}
      {!compact && (
        <button
          type="button"
          className="btn primary"
          disabled={checked.length < 2}
          onClick={() => void openCompare()}
          title="Compare the checked experiments (c)"
          data-testid="compare-button"
        >
          Compare{checked.length >= 2 ? ` ${checked.length}` : ''}
        </button>
      )}
      {!compact && <GroupByControl />}
      {!compact && (
        <button
          type="button"
          className="btn"
          disabled={checked.length !== 2}
          onClick={() => void openDiff()}
          title="What changed between the two checked runs: config, code, environment (d)"
          data-testid="diff-button"
        >
          Diff
        </button>
      )}
      {!compact && (
        <button
          type="button"
          className={`btn${parcoordsOpen ? ' active' : ''}`}
          aria-pressed={parcoordsOpen}
          onClick={() => setParcoordsOpen(!parcoordsOpen)}
          title="Parallel coordinates of every run in the table; drag along an axis to filter"
          data-testid="parcoords-toggle"
        >
          Parallel coords
        </button>
      )}
      {!compact && <ColumnChooser />}
      {!compact && <WebhookSetting />}
    </div>
  );
}

function StatusChips(): React.JSX.Element {
  const listing = useExpdesk((s) => s.listing);
  const query = useExpdesk((s) => s.query);
  const setQuery = useExpdesk((s) => s.setQuery);
  const counts = useMemo(() => {
    const c = new Map<ExperimentState, number>();
    for (const e of listing?.experiments ?? []) c.set(e.status.state, (c.get(e.status.state) ?? 0) + 1);
    return c;
  }, [listing]);
  const active = new Set(parseQuery(query).statuses);
  const toggle = (s: ExperimentState): void => {
    const token = `status:${s}`;
    const parts = query.split(/\s+/).filter(Boolean);
    const has = parts.some((p) => p.toLowerCase() === token || p.toLowerCase() === `is:${s}`);
    const next = has
      ? parts.filter((p) => p.toLowerCase() !== token && p.toLowerCase() !== `is:${s}`)
      : [...parts, token];
    setQuery(next.join(' '));
  };
  return (
    <div className="chips" role="group" aria-label="Status filter">
      {STATES.filter((s) => counts.get(s)).map((s) => (
        <button
          type="button"
          key={s}
          className={`chip chip-${s}${active.has(s) ? ' active' : ''}`}
          aria-pressed={active.has(s)}
          onClick={() => toggle(s)}
          data-testid={`status-chip-${s}`}
        >
          <span className="dot" aria-hidden="true" />
          {s} <span className="chip-count">{counts.get(s)}</span>
        </button>
      ))}
    </div>
  );
}

function ColumnChooser(): React.JSX.Element {
  const columns = useExpdesk((s) => s.columns);
  const toggleColumn = useExpdesk((s) => s.toggleColumn);
  const setColumns = useExpdesk((s) => s.setColumns);
  const listing = useExpdesk((s) => s.listing);
  const varying = useExpdesk((s) => s.varyingConfigKeys);
  const configIndex = useExpdesk((s) => s.configIndex);
  const loadConfigValues = useExpdesk((s) => s.loadConfigValues);
  const [search, setSearch] = useState('');

  const metrics = useMemo(() => metricKeys(listing?.experiments ?? []), [listing]);
  const configKeys = useMemo(
    () => configKeyChoices(KEY_CONFIG_KEYS, configIndex, varying),
    [configIndex, varying],
  );

  const needle = search.trim().toLowerCase();
  const show = (label: string): boolean => !needle || label.toLowerCase().includes(needle);
  const item = (id: string, extra?: string): React.JSX.Element => (
    <label key={id} className="menu-check" title={id}>
      <input
        type="checkbox"
        checked={columns.includes(id)}
        disabled={id === 'status' || id === 'name'}
        onChange={() => toggleColumn(id)}
      />
      <span className="ellipsis">{columnDef(id).label}</span>
      {extra && <span className="muted small">{extra}</span>}
    </label>
  );

  return (
    <Popover label="Columns ▾" title="Choose columns" testId="column-chooser" align="right">
      {() => (
        <div className="menu column-menu" data-testid="column-menu">
          <LoadOnMount load={loadConfigValues} />
          <input
            type="text"
            placeholder="Search columns…"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            aria-label="Search columns"
            autoFocus
          />
          <div className="menu-scroll">
            <div className="menu-title">Fields</div>
            {FIXED_COLUMNS.filter((c) => show(c.label)).map((c) => item(c.id))}
            <div className="menu-title">Config (varying first)</div>
            {configKeys
              .filter(show)
              .slice(0, 200)
              .map((k) => item(`cfg:${k}`, varying.includes(k) ? 'varies' : undefined))}
            <div className="menu-title">Metrics (final value)</div>
            {metrics
              .filter(show)
              .slice(0, 200)
              .map((k) => item(`metric:${k}`))}
          </div>
          <div className="menu-sep" />
          <button type="button" className="menu-item" onClick={() => setColumns([...DEFAULT_COLUMNS])}>
            Reset to the default columns
          </button>
        </div>
      )}
    </Popover>
  );
}
