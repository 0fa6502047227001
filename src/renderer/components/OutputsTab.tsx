import { useEffect, useState } from 'react';
import type { ExperimentDetail, OutputFile } from '../../shared/model';
import { formatBytes, formatConfigValue } from '../format';
import { jsonToTable, parsePythonJson, parseSamples } from '../lib/outputs';
import { useExpdesk } from '../store-context';

/** Up to this much of an output file is read for display. */
const MAX_BYTES = 4 * 1024 * 1024;

/** outputs/: eval results as tables, samples as text (never HTML), anything else as plain text. */
export function OutputsTab({ detail }: { detail: ExperimentDetail }): React.JSX.Element {
  const outputs = detail.outputs;
  const [selected, setSelected] = useState<string | null>(() => pickDefault(outputs)?.path ?? null);
  const file = outputs.find((o) => o.path === selected) ?? null;
  if (outputs.length === 0)
    return (
      <p className="muted pad" data-testid="outputs-empty">
        No files in outputs/.
      </p>
    );
  return (
    <div className="outputs-tab" data-testid="outputs-view">
      <nav className="file-list" aria-label="Output files">
        {(['eval', 'samples', 'other'] as const).map((kind) => {
          const files = outputs.filter((o) => o.kind === kind);
          if (!files.length) return null;
          return (
            <div key={kind}>
              <div className="file-group">{kind}</div>
              {files.map((o) => (
                <button
                  type="button"
                  key={o.path}
                  className={`file-item${o.path === selected ? ' active' : ''}`}
                  onClick={() => setSelected(o.path)}
                  title={o.path}
                  data-testid="output-file"
                >
                  <span className="mono ellipsis">{o.name}</span>
                  <span className="muted small">{formatBytes(o.size)}</span>
                </button>
              ))}
            </div>
          );
        })}
      </nav>
      <div className="file-view">{file && <OutputView key={file.path} file={file} />}</div>
    </div>
  );
}

function pickDefault(outputs: readonly OutputFile[]): OutputFile | undefined {
  const evals = outputs.filter((o) => o.kind === 'eval');
  return evals.at(-1) ?? outputs[0];
}

function OutputView({ file }: { file: OutputFile }): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const [state, setState] = useState<
    { text: string; truncated: boolean; size: number } | { error: string } | null
  >(null);
  useEffect(() => {
    let live = true;
    client
      .invoke('file.read', { path: file.path, maxBytes: MAX_BYTES })
      .then((r) => live && setState(r))
      .catch((err: unknown) => live && setState({ error: err instanceof Error ? err.message : String(err) }));
    return () => {
      live = false;
    };
  }, [client, file.path]);
  if (!state) return <p className="muted pad">Loading…</p>;
  if ('error' in state)
    return (
      <div className="banner banner-error" role="alert">
        {state.error}
      </div>
    );
  return (
    <div className="output-body" data-testid="output-body">
      {state.truncated && (
        <p className="muted small pad">
          Showing the first {formatBytes(state.text.length)} of {formatBytes(state.size)}.
        </p>
      )}
      <Rendered file={file} text={state.text} />
    </div>
  );
}

function Rendered({ file, text }: { file: OutputFile; text: string }): React.JSX.Element {
  const lower = file.name.toLowerCase();
  const table = lower.endsWith('.json') ? tableOf(text) : null;
  if (table) {
    return (
      <table className="mini data-table" data-testid="eval-table">
        <thead>
          <tr>
            {table.columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((r, i) => (
            <tr key={i}>
              {r.map((v, j) => (
                <td key={j} className={typeof v === 'number' ? 'num' : 'mono'}>
                  {formatConfigValue(v)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  if (lower.endsWith('.jsonl')) {
    const { records, more } = parseSamples(text);
    return (
      <div className="samples" data-testid="samples">
        {records.map((r) => (
          <article key={r.index} className="sample">
            <div className="sample-index muted small">#{r.index + 1}</div>
            {r.fields.map(([k, v]) => (
              <div key={k} className="sample-field">
                <div className="sample-key">{k}</div>
                <pre className="sample-text">{v}</pre>
              </div>
            ))}
          </article>
        ))}
        {more > 0 && <p className="muted small">{more} more record(s) not shown.</p>}
      </div>
    );
  }
  return (
    <pre className="code plain-output" data-testid="output-text">
      {text}
    </pre>
  );
}

/** An eval JSON file as a table, or null when it is not JSON after all (then it shows as text). */
function tableOf(text: string): ReturnType<typeof jsonToTable> | null {
  try {
    return jsonToTable(parsePythonJson(text));
  } catch {
    return null;
  }
}
