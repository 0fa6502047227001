import { lazy, Suspense, useEffect } from 'react';
import { loadPlotly } from '../lib/plotly';
import type { ExperimentDetail } from '../../shared/model';
import { DETAIL_TABS, basename, type DetailTab } from '../state/detail';
import { useExpdesk } from '../store-context';
import { ExportBundle } from './ExportBundle';
import { OutputsTab } from './OutputsTab';
import { OverviewTab } from './OverviewTab';
import { StatusBadge } from './StatusBadge';

// CodeMirror, xterm and plotly load when their tab is first shown.
const ConfigTab = lazy(() => import('./ConfigTab'));
const LogTab = lazy(() => import('./LogTab'));
const loadMetricsTab = (): Promise<typeof import('./MetricsTab')> => import('./MetricsTab');
const MetricsTab = lazy(loadMetricsTab);

/**
 * The Metrics tab's code and plotly, fetched together as soon as the tab is
 * wanted (pointer over its button, or chosen by key) rather than one after the
 * other. Never earlier: evaluating plotly is one long main-thread task, which
 * a preload while the user reads the log would spend at the worst time.
 */
function prefetchMetrics(): void {
  void loadMetricsTab().catch(() => undefined);
  void loadPlotly().catch(() => undefined);
}

const TAB_LABEL: Record<DetailTab, string> = {
  overview: 'Overview',
  config: 'Config',
  log: 'Log',
  metrics: 'Metrics',
  outputs: 'Outputs',
};

/**
 * One experiment in full, beside the compact list. Everything from the folder
 * is untrusted text and is rendered as text (React escapes it); nothing here
 * sets HTML.
 */
export function DetailView(): React.JSX.Element | null {
  const detailPath = useExpdesk((s) => s.detailPath);
  const detail = useExpdesk((s) => s.detail);
  const loading = useExpdesk((s) => s.detailLoading);
  const error = useExpdesk((s) => s.detailError);
  const tab = useExpdesk((s) => s.tab);
  const setTab = useExpdesk((s) => s.setTab);
  const close = useExpdesk((s) => s.closeDetail);
  const notes = useExpdesk((s) => (s.launchNotes?.expDir === s.detailPath ? s.launchNotes : null));
  useEffect(() => {
    if (tab === 'metrics') prefetchMetrics();
  }, [tab]);
  if (!detailPath) return null;

  return (
    <section className="detail" data-testid="detail-panel" aria-busy={loading} aria-label="Experiment">
      <div className="detail-head">
        <div className="detail-title">
          {detail && <StatusBadge status={detail.summary.status} />}
          <h2 data-testid="detail-name" className="ellipsis" title={detail?.summary.name}>
            {detail?.summary.name ?? basename(detailPath)}
          </h2>
          {loading && <span className="spinner" aria-label="Loading" />}
        </div>
        {detail && <RunActions detail={detail} />}
        <button
          type="button"
          className="icon-btn"
          onClick={close}
          title="Close (Esc)"
          data-testid="detail-close"
        >
          ×
        </button>
      </div>
      <code className="detail-path" title={detailPath}>
        {detailPath}
      </code>
      {notes && notes.warnings.length > 0 && (
        <div className="banner banner-warning" data-testid="launch-warnings" role="status">
          {notes.warnings.map((w, i) => (
            <div key={i}>⚠ {w}</div>
          ))}
        </div>
      )}
      {error && (
        <div className="banner banner-error" role="alert" data-testid="detail-error">
          {error}
        </div>
      )}
      <div className="tabs" role="tablist" aria-label="Experiment views">
        {DETAIL_TABS.map((t, i) => (
          <button
            type="button"
            role="tab"
            key={t}
            aria-selected={tab === t}
            className={`tab${tab === t ? ' active' : ''}`}
            onClick={() => setTab(t)}
            onPointerEnter={t === 'metrics' ? prefetchMetrics : undefined}
            onFocus={t === 'metrics' ? prefetchMetrics : undefined}
            title={`${TAB_LABEL[t]} (${i + 1})`}
            data-testid={`tab-${t}`}
          >
            {TAB_LABEL[t]}
            <span className="tab-key">{i + 1}</span>
          </button>
        ))}
      </div>
      <div className="tab-body" role="tabpanel" data-testid={`tabpanel-${tab}`}>
        {!detail && loading && <p className="muted pad">Loading…</p>}
        {detail && (
          <Suspense fallback={<p className="muted pad">Loading…</p>}>
            {tab === 'overview' && <OverviewTab detail={detail} />}
            {tab === 'config' && <ConfigTab detail={detail} />}
            {tab === 'log' && <LogTab key={detail.summary.path} detail={detail} />}
            {tab === 'metrics' && <MetricsTab key={detail.summary.path} detail={detail} />}
            {tab === 'outputs' && <OutputsTab key={detail.summary.path} detail={detail} />}
          </Suspense>
        )}
      </div>
    </section>
  );
}

/** Stop, reveal in the file manager (desktop only), copy the path. */
function RunActions({ detail }: { detail: ExperimentDetail }): React.JSX.Element {
  const mode = useExpdesk((s) => s.info?.mode);
  const stopping = useExpdesk((s) => s.stopping === detail.summary.path);
  const stopRun = useExpdesk((s) => s.stopRun);
  const showInFolder = useExpdesk((s) => s.showInFolder);
  const copyPath = useExpdesk((s) => s.copyPath);
  const path = detail.summary.path;
  const state = detail.summary.status.state;
  const running = state === 'running' || state === 'queued';
  const sweep = detail.summary.sweep;
  const stopSweep = useExpdesk((s) => s.stopSweep);
  const desktop = mode === 'electron';
  return (
    <div className="actions">
      {running && (
        <button
          type="button"
          className="btn danger"
          disabled={stopping}
          onClick={() => {
            if (window.confirm(`Stop ${detail.summary.name}? (SIGINT, then SIGTERM, then SIGKILL)`))
              void stopRun(path);
          }}
          data-testid="action-stop"
        >
          {stopping ? 'Stopping…' : '■ Stop'}
        </button>
      )}
      {running && sweep && (
        <button
          type="button"
          className="btn danger"
          disabled={stopping}
          title={`${sweep.id}: all ${sweep.count} runs; queued ones never start`}
          onClick={() => {
            if (window.confirm(`Stop the whole sweep ${sweep.id} (${sweep.count} runs)?`))
              void stopSweep(sweep.id);
          }}
          data-testid="action-stop-sweep"
        >
          ■ Stop sweep
        </button>
      )}
      <ExportBundle path={path} />
      <button
        type="button"
        className="btn"
        disabled={!desktop}
        onClick={() => void showInFolder(path)}
        title={
          desktop
            ? 'Show the folder in the file manager'
            : 'Only in the desktop app: a browser cannot open your file manager'
        }
        data-testid="action-reveal"
      >
        Show in folder
      </button>
      <button
        type="button"
        className="btn"
        onClick={() => void copyPath(path)}
        title="Copy the folder's path"
        data-testid="action-copy-path"
      >
        Copy path
      </button>
    </div>
  );
}
