import { stringify } from 'yaml';
import type { ExperimentDetail, ExperimentStatus } from '../../shared/model';
import {
  formatBytes,
  formatFinalEval,
  formatFinalLoss,
  formatJsonValue,
  formatMetric,
  formatTimestamp,
  MISSING,
  problemText,
  statusReason,
} from '../format';
import { useExpdesk } from '../store-context';
import { StatusBadge } from './StatusBadge';

/**
 * One experiment in full. Everything from the folder is untrusted text and is
 * rendered as text (React escapes it); nothing here sets HTML.
 */
export function DetailPanel(): React.JSX.Element | null {
  const detailPath = useExpdesk((s) => s.detailPath);
  const detail = useExpdesk((s) => s.detail);
  const loading = useExpdesk((s) => s.detailLoading);
  const error = useExpdesk((s) => s.detailError);
  const close = useExpdesk((s) => s.closeDetail);
  if (!detailPath) return null;

  return (
    <aside className="detail" data-testid="detail-panel" aria-busy={loading}>
      <div className="detail-head">
        <h2 data-testid="detail-name">{detail?.summary.name ?? basename(detailPath)}</h2>
        <button type="button" className="link" onClick={close} title="Close (Esc)" data-testid="detail-close">
          ×
        </button>
      </div>
      <code className="detail-path small">{detailPath}</code>
      {error && (
        <div className="banner banner-error" role="alert" data-testid="detail-error">
          {error}
        </div>
      )}
      {!detail && loading && <p className="muted">Loading…</p>}
      {detail && <DetailBody detail={detail} />}
    </aside>
  );
}

function basename(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

function DetailBody({ detail }: { detail: ExperimentDetail }): React.JSX.Element {
  const s = detail.summary;
  const metrics = Object.entries(s.metrics);
  return (
    <>
      <StatusBlock status={s.status} />

      <dl className="kv" data-testid="detail-summary">
        <dt>Algorithm</dt>
        <dd>{s.algorithm ?? MISSING}</dd>
        <dt>Model</dt>
        <dd>{s.model ?? MISSING}</dd>
        <dt>Steps</dt>
        <dd>{s.total_steps ?? MISSING}</dd>
        <dt>Final loss</dt>
        <dd>{formatFinalLoss(s)}</dd>
        <dt>Final eval</dt>
        <dd>{formatFinalEval(s.final_eval)}</dd>
        <dt>Git</dt>
        <dd className="mono">
          {s.gitHash ?? MISSING}
          {s.gitDirty && ' (dirty: uncommitted changes when it started)'}
        </dd>
        <dt>Records</dt>
        <dd>
          {s.records}
          {s.malformedLines > 0 && ` (${s.malformedLines} malformed line(s) skipped)`}
        </dd>
      </dl>

      {s.problems.length > 0 && (
        <Section title={`Problems (${s.problems.length})`} testId="detail-problems">
          <ul className="problems-list">
            {s.problems.map((p, i) => (
              <li key={i}>{problemText(p)}</li>
            ))}
          </ul>
        </Section>
      )}

      {metrics.length > 0 && (
        <Section title={`Metrics (${metrics.length})`} testId="detail-metrics">
          <table className="mini">
            <thead>
              <tr>
                <th>metric</th>
                <th className="num">last</th>
                <th className="num">best</th>
                <th className="num">min</th>
                <th className="num">max</th>
                <th className="num" title="records where the value was NaN or ±Infinity">
                  NaN/Inf
                </th>
              </tr>
            </thead>
            <tbody>
              {metrics.map(([key, m]) => (
                <tr key={key}>
                  <td className="mono">{key}</td>
                  <td className="num">{formatMetric(m.last)}</td>
                  <td className="num">
                    {m.best === null ? MISSING : `${formatMetric(m.best)} @${m.bestStep ?? '?'}`}
                  </td>
                  <td className="num">{formatMetric(m.min)}</td>
                  <td className="num">{formatMetric(m.max)}</td>
                  <td className="num">{m.nonFinite || ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}

      <Section title="Config" testId="detail-config">
        {detail.config ? (
          <pre className="code">{stringify(detail.config, { lineWidth: 0 })}</pre>
        ) : (
          <p className="muted">No readable config.yaml.</p>
        )}
      </Section>

      <Section title="Metadata" testId="detail-metadata">
        {detail.metadata && Object.keys(detail.metadata).length > 0 ? (
          <dl className="kv">
            {Object.entries(detail.metadata).map(([k, v]) => (
              <div key={k} className="kv-row">
                <dt>{k}</dt>
                <dd className="wrap">{formatJsonValue(v)}</dd>
              </div>
            ))}
          </dl>
        ) : (
          <p className="muted">No metadata.json.</p>
        )}
      </Section>

      <Section title={`Checkpoints (${detail.checkpoints.length})`} testId="detail-checkpoints">
        {detail.checkpoints.length ? (
          <ul className="plain">
            {detail.checkpoints.map((c) => (
              <li key={c.path} title={c.path}>
                <span className="mono">{c.name}</span>
                {c.final && <span className="tag">final</span>}
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">None.</p>
        )}
      </Section>

      <Section title={`Logs (${detail.logs.length})`} testId="detail-logs">
        {detail.logs.length ? (
          <ul className="plain">
            {detail.logs.map((l) => (
              <li key={l.path} title={l.path}>
                <span className="mono">{l.name}</span> <span className="muted">{formatBytes(l.size)}</span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">None.</p>
        )}
      </Section>

      <Section title={`Outputs (${detail.outputs.length})`} testId="detail-outputs">
        {detail.outputs.length ? (
          <ul className="plain">
            {detail.outputs.map((o) => (
              <li key={o.path} title={o.path}>
                <span className="tag">{o.kind}</span> <span className="mono">{o.name}</span>{' '}
                <span className="muted">{formatBytes(o.size)}</span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">None.</p>
        )}
        <p className="muted small">
          requirements.txt: {detail.hasRequirements ? 'yes' : 'no'} · reproduce script:{' '}
          {detail.hasReproduceScript ? 'yes' : 'no'}
        </p>
      </Section>
    </>
  );
}

function StatusBlock({ status }: { status: ExperimentStatus }): React.JSX.Element {
  return (
    <div className={`status-block status-${status.state}`} data-testid="detail-status">
      <div>
        <StatusBadge status={status} />{' '}
        {status.state === 'failed' && (
          <strong data-testid="failed-at">
            {status.failedAtStep !== null && status.failedAtStep !== undefined
              ? `Failed at step ${status.failedAtStep}`
              : 'Failed'}
          </strong>
        )}
      </div>
      <p className="muted small" data-testid="status-reason">
        {statusReason(status)}
      </p>
      {(status.startedAt || status.endedAt) && (
        <p className="small">
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

function Section(props: { title: string; testId: string; children: React.ReactNode }): React.JSX.Element {
  return (
    <details className="section" open data-testid={props.testId}>
      <summary>{props.title}</summary>
      {props.children}
    </details>
  );
}
