import { useState } from 'react';
import type { RequestResult } from '../../shared/contract';
import type { ExperimentSummary } from '../../shared/model';
import { formatMetric } from '../format';
import { useExpdesk } from '../store-context';

type Verdict = RequestResult<'experiments.verify'>;

const VERDICT_LABEL: Record<Verdict['verdict'], string> = {
  identical: '✓ identical',
  'within-tolerance': '≈ within tolerance',
  diverged: '✗ diverged',
};

function shown(v: unknown): string {
  return typeof v === 'number' ? formatMetric(v) : v === null || v === undefined ? '—' : String(v);
}

/** For exactly two runs: does the second reproduce the first, step by step (experiments.verify)? */
export function VerifyReproduction({ exps }: { exps: readonly ExperimentSummary[] }): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const [swap, setSwap] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Verdict | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [original, reproduced] = swap ? [exps[1]!, exps[0]!] : [exps[0]!, exps[1]!];

  const run = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setResult(
        await client.invoke('experiments.verify', { original: original.path, reproduced: reproduced.path }),
      );
    } catch (err) {
      setResult(null);
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const d = result?.firstDivergence;
  return (
    <section className="card wide" data-testid="verify">
      <div className="card-head">
        <h3>Reproduction</h3>
        <span className="small">
          original <strong className="mono">{original.name}</strong> → reproduction{' '}
          <strong className="mono">{reproduced.name}</strong>
        </span>
        <button
          type="button"
          className="btn small"
          onClick={() => {
            setSwap(!swap);
            setResult(null);
          }}
          title="Swap which run is the original"
        >
          ⇄
        </button>
        <button
          type="button"
          className="btn primary"
          disabled={busy}
          onClick={() => void run()}
          data-testid="verify-button"
        >
          {busy ? 'Verifying…' : 'Verify reproduction'}
        </button>
      </div>
      {error && <div className="banner banner-error">{error}</div>}
      {result && (
        <div className="verify-result" data-testid="verify-result" data-verdict={result.verdict}>
          <p>
            <span className={`verdict verdict-${result.verdict}`}>{VERDICT_LABEL[result.verdict]}</span>{' '}
            <span className="small">{result.message}</span>
          </p>
          <p className="small muted">
            {result.records.matched} of {result.records.original} records matched ({result.records.reproduced}{' '}
            in the reproduction) · {result.valuesCompared} values compared, {result.valuesDiffering} differ,{' '}
            {result.divergences} outside rtol {result.tolerance.rtol} / atol {result.tolerance.atol}
          </p>
          {d && (
            <p className="small" data-testid="first-divergence">
              First divergence: {d.prefix} step {d.step ?? '—'}
              {d.metric ? ` · ${d.metric}` : ''} · {d.reason.replace(/-/g, ' ')} · {shown(d.original)} vs{' '}
              {shown(d.reproduced)}
            </p>
          )}
          {result.warnings.map((w, i) => (
            <p key={i} className="small banner-inline-error">
              {w}
            </p>
          ))}
        </div>
      )}
    </section>
  );
}
