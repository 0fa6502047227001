import { useState } from 'react';
import type { ExperimentDetail, ExperimentStatus, JsonValue } from '../../shared/model';
import { useNow } from '../hooks';
import { runDuration } from '../lib/columns';
import {
  formatBytes,
  formatFinalEval,
  formatFinalLoss,
  formatJsonValue,
  formatRunDuration,
  formatMetric,
  formatMetricLast,
  formatTimestamp,
  MISSING,
  problemText,
  statusReason,
} from '../format';
import { StatusBadge } from './StatusBadge';
import { NotesEditor } from './NotesEditor';

/** Environment fields worth a glance, in the seed's ExperimentMetadata order. */
const ENV_KEYS = ['python_version', 'torch_version', 'cuda_version', 'hostname', 'command'] as const;

/** Rows of the metrics table shown at first: a run may log thousands (issue 16), the rest on request. */
const METRIC_ROWS = 100;

function text(v: JsonValue | undefined): string {
  return v === undefined || v === null || v === '' ? MISSING : formatJsonValue(v);
}

/** Status, summary, git, environment, metrics, files: everything at a glance. */
export function OverviewTab({ detail }: { detail: ExperimentDetail }): React.JSX.Element {
  const s = detail.summary;
  const md = detail.metadata ?? {};
  const metrics = Object.entries(s.metrics);
  const [allMetrics, setAllMetrics] = useState(false);
  const shownMetrics = allMetrics ? metrics : metrics.slice(0, METRIC_ROWS);
  const now = useNow(s.status.state === 'running');
  const duration = formatRunDuration(runDuration(s, now));
  return (
    <div className="overview" data-testid="overview">
      <StatusBlock status={s.status} />

      {s.gitDirty && (
        <div className="banner banner-warning dirty-warning" data-testid="dirty-warning" role="note">
          <strong>Dirty working tree.</strong> This run started with uncommitted changes, so its commit alone
          does not reproduce it. Runs launched by Expdesk keep those changes in <code>uncommitted.patch</code>
          .
        </div>
      )}

      <div className="cards">
        <NotesEditor key={`${s.path}\n${s.annotations?.note ?? ''}`} summary={s} />
        <KvCard title="Run" testId="detail-summary">
          <dt>Algorithm</dt>
          <dd>{s.algorithm ?? MISSING}</dd>
          <dt>Model</dt>
          <dd>{s.model ?? MISSING}</dd>
          <dt>Started</dt>
          <dd>{formatTimestamp(s.status.startedAt ?? s.startedAt)}</dd>
          <dt>Duration</dt>
          <dd title={duration.title}>{duration.text}</dd>
          <dt>Steps</dt>
          <dd>{s.total_steps ?? MISSING}</dd>
          <dt>Final loss</dt>
          <dd>{formatFinalLoss(s)}</dd>
          <dt>Final eval</dt>
          <dd>{formatFinalEval(s.final_eval)}</dd>
          <dt>Records</dt>
          <dd>
            {s.records}
            {s.malformedLines > 0 && ` (${s.malformedLines} malformed line(s) skipped)`}
          </dd>
        </KvCard>

        <KvCard title="Code" testId="detail-git">
          <dt>Commit</dt>
          <dd className="mono">
            {s.gitHash ?? MISSING}
            {s.gitDirty && (
              <span className="tag tag-warning" title="uncommitted changes when it started">
                dirty
              </span>
            )}
          </dd>
          <dt>Branch</dt>
          <dd className="mono">{text(md.git_branch)}</dd>
          {md.git_remote !== undefined && (
            <>
              <dt>Remote</dt>
              <dd className="mono wrap">{text(md.git_remote)}</dd>
            </>
          )}
          <dt>Reproduce</dt>
          <dd>
            {detail.hasReproduceScript ? 'reproduce.sh' : 'no reproduce.sh'} ·{' '}
            {detail.hasRequirements ? 'requirements.txt' : 'no requirements.txt'}
          </dd>
        </KvCard>

        <KvCard title="Environment" testId="detail-environment">
          {ENV_KEYS.map((k) => (
            <div key={k} className="kv-row">
              <dt>{k.replace(/_/g, ' ')}</dt>
              <dd className={k === 'command' ? 'mono wrap' : 'wrap'}>{text(md[k])}</dd>
            </div>
          ))}
        </KvCard>

        <FilesCard title="Checkpoints" testId="detail-checkpoints" files={detail.checkpoints}>
          {(c) => (
            <>
              <span className="mono">{c.name}</span>
              {c.final && <span className="tag">final</span>}
            </>
          )}
        </FilesCard>
      </div>

      {s.problems.length > 0 && (
        <section className="card wide" data-testid="detail-problems">
          <h3>Problems ({s.problems.length})</h3>
          <ul className="problems-list">
            {s.problems.map((p, i) => (
              <li key={i}>{problemText(p)}</li>
            ))}
          </ul>
        </section>
      )}

      {metrics.length > 0 && (
        <section className="card wide" data-testid="detail-metrics">
          <h3>Metrics ({metrics.length})</h3>
          <table className="mini">
            <thead>
              <tr>
                <th>metric</th>
                <th className="num">last</th>
                <th className="num">best</th>
                <th className="num">min</th>
                <th className="num">max</th>
                <th className="num">count</th>
                <th className="num" title="records where the value was NaN or ±Infinity">
                  NaN/Inf
                </th>
              </tr>
            </thead>
            <tbody>
              {shownMetrics.map(([key, m]) => (
                <tr key={key}>
                  <td className="mono">{key}</td>
                  <td className="num">{formatMetricLast(m)}</td>
                  <td className="num">
                    {m.best === null ? MISSING : `${formatMetric(m.best)} @${m.bestStep ?? '?'}`}
                  </td>
                  <td className="num">{formatMetric(m.min)}</td>
                  <td className="num">{formatMetric(m.max)}</td>
                  <td className="num">{m.count}</td>
                  <td className="num">{m.nonFinite || ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {shownMetrics.length < metrics.length && (
            <button
              type="button"
              className="link"
              data-testid="show-all-metrics"
              onClick={() => setAllMetrics(true)}
            >
              Show all {metrics.length.toLocaleString()} metrics
            </button>
          )}
        </section>
      )}

      <div className="cards">
        <FilesCard title="Logs" testId="detail-logs" files={detail.logs}>
          {(l) => (
            <>
              <span className="mono">{l.name}</span> <span className="muted">{formatBytes(l.size)}</span>
            </>
          )}
        </FilesCard>
        <FilesCard title="Outputs" testId="detail-outputs" files={detail.outputs}>
          {(o) => (
            <>
              <span className="tag">{o.kind}</span> <span className="mono">{o.name}</span>{' '}
              <span className="muted">{formatBytes(o.size)}</span>
            </>
          )}
        </FilesCard>
      </div>

      <section className="card wide" data-testid="detail-metadata">
        <h3>Metadata</h3>
        {detail.metadata && Object.keys(detail.metadata).length > 0 ? (
          <dl className="kv">
            {Object.entries(detail.metadata).map(([k, v]) => (
              <div key={k} className="kv-row">
                <dt>{k}</dt>
                <dd className="wrap mono">{formatJsonValue(v)}</dd>
              </div>
            ))}
          </dl>
        ) : (
          <p className="muted">No metadata.json.</p>
        )}
      </section>
    </div>
  );
}

/** A card of named values (a definition list). */
function KvCard(props: { title: string; testId: string; children: React.ReactNode }): React.JSX.Element {
  return (
    <section className="card" data-testid={props.testId}>
      <h3>{props.title}</h3>
      <dl className="kv">{props.children}</dl>
    </section>
  );
}

/** A card of an experiment's files of one kind: one row each (its path the tooltip), or "None.". */
function FilesCard<F extends { path: string }>(props: {
  title: string;
  testId: string;
  files: readonly F[];
  children: (file: F) => React.ReactNode;
}): React.JSX.Element {
  return (
    <section className="card" data-testid={props.testId}>
      <h3>
        {props.title} ({props.files.length})
      </h3>
      {props.files.length ? (
        <ul className="plain">
          {props.files.map((f) => (
            <li key={f.path} title={f.path}>
              {props.children(f)}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">None.</p>
      )}
    </section>
  );
}

function StatusBlock({ status }: { status: ExperimentStatus }): React.JSX.Element {
  return (
    <div className={`status-block status-${status.state}`} data-testid="detail-status">
      <div className="status-line">
        <StatusBadge status={status} />
        {status.state === 'failed' && (
          <strong data-testid="failed-at">
            {status.failedAtStep !== null && status.failedAtStep !== undefined
              ? `Failed at step ${status.failedAtStep}`
              : 'Failed'}
          </strong>
        )}
        <span className="muted small" data-testid="status-reason">
          {statusReason(status)}
        </span>
      </div>
      {(status.startedAt || status.endedAt) && (
        <p className="small muted">
          {status.startedAt && `started ${formatTimestamp(status.startedAt)}`}
          {status.endedAt && ` · ended ${formatTimestamp(status.endedAt)}`}
          {status.exitCode !== null && status.exitCode !== undefined && ` · exit code ${status.exitCode}`}
          {status.signal && ` · signal ${status.signal}`}
        </p>
      )}
      {status.traceback && (
        <pre className="code traceback" data-testid="traceback">
          {status.traceback}
        </pre>
      )}
    </div>
  );
}
