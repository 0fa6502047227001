/**
 * The Diff view: what changed between two runs (the two checked rows, `d`),
 * from `experiments.diff` — the one implementation `expdesk diff` prints.
 * Config keys that differ (old → new, added, removed; keys naming the run on
 * request), the code (commits between the recorded hashes, the files each
 * uncommitted.patch changes), and the environment (Python/torch/CUDA,
 * packages of requirements.txt). Everything from the folders is text.
 */
import { useEffect, useState } from 'react';
import type { RunDiff } from '../../shared/run-diff';
import type { PatchFile } from '../../shared/patch-files';
import type { JsonValue } from '../../shared/model';
import { formatConfigValue } from '../format';
import { useExpdesk } from '../store-context';
import { CheckLabel } from './CheckLabel';

export default function DiffView(): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const paths = useExpdesk((s) => s.diffPaths);
  const openDiff = useExpdesk((s) => s.openDiff);
  const setView = useExpdesk((s) => s.setView);
  const [a, b] = paths;
  const pair = `${a}\n${b}`;
  // The answer for one pair; a stale one (another pair) reads as loading.
  const [answer, setAnswer] = useState<{ pair: string; diff: RunDiff | null; error: string | null }>();
  const current = answer?.pair === pair ? answer : null;
  const diff = current?.diff ?? null;
  const error = current?.error ?? null;

  useEffect(() => {
    if (!a || !b) return;
    let live = true;
    client
      .invoke('experiments.diff', { a, b })
      .then((d) => live && setAnswer({ pair: `${a}\n${b}`, diff: d, error: null }))
      .catch(
        (err: unknown) =>
          live &&
          setAnswer({
            pair: `${a}\n${b}`,
            diff: null,
            error: err instanceof Error ? err.message : String(err),
          }),
      );
    return () => {
      live = false;
    };
  }, [client, a, b]);

  if (!a || !b)
    return (
      <div className="empty" data-testid="diff-empty">
        <p>Check exactly two experiments in the table, then Diff (d).</p>
        <button type="button" className="btn" onClick={() => setView('experiments')}>
          Back to the experiments
        </button>
      </div>
    );
  return (
    <div className="compare-view" data-testid="diff-view" aria-busy={!diff && !error}>
      <div className="compare-head">
        <h2>
          What changed: <span className="mono">{diff?.a.name ?? a}</span> →{' '}
          <span className="mono">{diff?.b.name ?? b}</span>
        </h2>
        <span className="spacer" />
        <button type="button" className="btn" onClick={() => openDiff([b, a])} data-testid="diff-swap">
          Swap
        </button>
      </div>
      {error && (
        <div className="banner banner-error" role="alert" data-testid="diff-error">
          {error}
        </div>
      )}
      {!diff && !error && <p className="muted pad">Comparing…</p>}
      {diff && (
        <div className="compare-scroll">
          <ConfigSection diff={diff} />
          <CodeSection diff={diff} />
          <EnvironmentSection diff={diff} />
        </div>
      )}
    </div>
  );
}

const value = (v: JsonValue | null): string => (v === null ? 'null' : formatConfigValue(v));

function ConfigSection({ diff }: { diff: RunDiff }): React.JSX.Element {
  const [showAll, setShowAll] = useState(false);
  const c = diff.config;
  const rows: Array<{ key: string; kind: string; from: string; to: string }> = [
    ...c.changed.map((r) => ({ key: r.key, kind: 'changed', from: value(r.from), to: value(r.to) })),
    ...c.added.map((r) => ({ key: r.key, kind: 'added', from: 'absent', to: value(r.value) })),
    ...c.removed.map((r) => ({ key: r.key, kind: 'removed', from: value(r.value), to: 'absent' })),
    ...(showAll
      ? c.identity.map((r) => ({ key: r.key, kind: 'identity', from: value(r.from), to: value(r.to) }))
      : []),
  ].sort((x, y) => (x.key < y.key ? -1 : 1));
  const n = c.changed.length + c.added.length + c.removed.length;
  return (
    <section className="card wide" data-testid="diff-config">
      <div className="card-head">
        <h3>
          Config <span className="muted">{n} differ</span>
        </h3>
        <CheckLabel checked={showAll} onChange={setShowAll} testId="diff-show-all-keys">
          Show all keys ({c.identity.length} naming the run)
        </CheckLabel>
      </div>
      {c.missing.length > 0 && (
        <p className="muted small">
          No config.yaml in {c.missing.map((m) => (m === 'a' ? diff.a.name : diff.b.name)).join(' and ')}.
        </p>
      )}
      {rows.length === 0 ? (
        <p className="muted small">Every config key is equal.</p>
      ) : (
        <table className="mini compare-table">
          <Head cells={['key', diff.a.name, diff.b.name]} />
          <tbody>
            {rows.map((r) => (
              <KeyRow
                key={r.key}
                name={r.key}
                kind={r.kind}
                from={r.from}
                to={r.to}
                testId="diff-config-row"
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** One key's two values, the second marked when they differ. */
function KeyRow(props: {
  name: string;
  kind: string;
  from: string;
  to: string;
  testId: string;
}): React.JSX.Element {
  const marked = props.kind !== 'same';
  return (
    <tr className={`diff-${props.kind}`} data-testid={props.testId} data-key={props.name}>
      <td className="mono key">{props.name}</td>
      <td className={`mono${props.kind === 'added' ? ' absent' : ''}`}>{props.from}</td>
      <td className={`mono${marked ? ' changed' : ''}${props.kind === 'removed' ? ' absent' : ''}`}>
        {props.to}
      </td>
    </tr>
  );
}

/** A table's head: its column titles. */
function Head({ cells }: { cells: string[] }): React.JSX.Element {
  return (
    <thead>
      <tr>
        {cells.map((c, i) => (
          <th key={i}>{c}</th>
        ))}
      </tr>
    </thead>
  );
}

function change(f: PatchFile | null): string {
  if (!f) return '—';
  if (f.status === 'binary') return 'binary';
  return `${f.status === 'modified' ? '' : `${f.status} `}+${f.added} −${f.removed}`;
}

function CodeSection({ diff }: { diff: RunDiff }): React.JSX.Element {
  const c = diff.code;
  const cm = c.commits;
  const hash = (h: string | null, branch: string | null): string =>
    h ? `${h.slice(0, 12)}${branch ? ` (${branch})` : ''}` : 'none recorded';
  const patch = (p: RunDiff['code']['patches']['a']): string =>
    p ? `${p.files} file(s)${p.truncated ? ', only the start read' : ''}` : 'none';
  return (
    <section className="card wide" data-testid="diff-code">
      <h3>Code</h3>
      <p className="mono small">
        {hash(c.hashes.a, c.branches.a)} → {hash(c.hashes.b, c.branches.b)}
      </p>
      {!cm.available ? (
        <p className="muted small" data-testid="diff-commits-unavailable">
          Commits between them: {cm.reason}
        </p>
      ) : c.hashes.a === c.hashes.b ? (
        <p className="muted small">Same commit.</p>
      ) : (
        <div data-testid="diff-commits">
          <CommitList title="Commits in B, not in A" commits={cm.forward} />
          {cm.backward.length > 0 && <CommitList title="Commits in A, not in B" commits={cm.backward} />}
          {cm.truncated && <p className="muted small">More commits than listed.</p>}
        </div>
      )}
      <h4>
        Uncommitted changes{' '}
        <span className="muted small">
          A: {patch(c.patches.a)} · B: {patch(c.patches.b)}
        </span>
      </h4>
      {c.patches.files.length > 0 && (
        <table className="mini compare-table" data-testid="diff-patches">
          <Head cells={['file', 'A', 'B', '']} />
          <tbody>
            {c.patches.files.map((f) => (
              <tr key={f.path} data-testid="diff-patch-file" data-path={f.path}>
                <td className="mono">{f.path}</td>
                <td className="mono">{change(f.a)}</td>
                <td className="mono">{change(f.b)}</td>
                <td className="muted">
                  {f.a && f.b ? (f.same ? 'same change' : 'different change') : f.a ? 'only A' : 'only B'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function CommitList(props: {
  title: string;
  commits: Array<{ hash: string; subject: string }>;
}): React.JSX.Element {
  return (
    <>
      <h4>
        {props.title} <span className="muted small">{props.commits.length}</span>
      </h4>
      <ul className="commit-list">
        {props.commits.map((x) => (
          <li key={x.hash} className="mono small" data-testid="diff-commit">
            <span className="muted">{x.hash.slice(0, 12)}</span> {x.subject}
          </li>
        ))}
      </ul>
    </>
  );
}

function EnvironmentSection({ diff }: { diff: RunDiff }): React.JSX.Element {
  const e = diff.environment;
  const p = e.packages;
  return (
    <section className="card wide" data-testid="diff-environment">
      <h3>Environment</h3>
      <table className="mini compare-table">
        <tbody>
          {e.versions.map((v) => (
            <KeyRow
              key={v.key}
              name={v.key}
              kind={v.differs ? 'changed' : 'same'}
              from={v.a ?? '—'}
              to={v.b ?? '—'}
              testId="diff-version"
            />
          ))}
        </tbody>
      </table>
      {!p ? (
        <p className="muted small">
          Packages: no requirements.txt in{' '}
          {e.missing.map((m) => (m === 'a' ? diff.a.name : diff.b.name)).join(' and ')}.
        </p>
      ) : (
        <>
          <h4>
            Packages{' '}
            <span className="muted small">
              {p.added.length} added · {p.removed.length} removed · {p.changed.length} changed · {p.unchanged}{' '}
              unchanged
            </span>
          </h4>
          <ul className="package-list">
            {p.added.map((x) => (
              <li
                key={`+${x.name}`}
                className="mono small diff-added"
                data-testid="diff-package"
                data-name={x.name}
              >
                + {x.name} {x.version}
              </li>
            ))}
            {p.removed.map((x) => (
              <li
                key={`-${x.name}`}
                className="mono small diff-removed"
                data-testid="diff-package"
                data-name={x.name}
              >
                − {x.name} {x.version}
              </li>
            ))}
            {p.changed.map((x) => (
              <li
                key={`~${x.name}`}
                className="mono small diff-changed"
                data-testid="diff-package"
                data-name={x.name}
              >
                ~ {x.name} {x.from} → {x.to}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
