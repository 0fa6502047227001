import { useEffect, useRef, useState } from 'react';
import { stringify } from 'yaml';
import type { ExperimentDetail } from '../../shared/model';
import { useExpdesk } from '../store-context';
import { CodeEditor, type CodeEditorHandle } from './CodeEditor';

/** The frozen config.yaml, read-only: the file's own text (comments and order kept), foldable and searchable. */
export default function ConfigTab({ detail }: { detail: ExperimentDetail }): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const path = detail.summary.path;
  const [text, setText] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const editor = useRef<CodeEditorHandle>(null);

  useEffect(() => {
    let live = true;
    const file = `${path}/config.yaml`;
    client
      .invoke('file.read', { path: file, maxBytes: 4 * 1024 * 1024 })
      .then((r) => {
        if (!live) return;
        setText(r.text);
        setNote(
          r.truncated ? `Only the first ${r.text.length} characters of ${r.size} bytes are shown.` : null,
        );
      })
      .catch(() => {
        // The file as text is unavailable (no file, or an older host): show the parsed config instead.
        if (!live) return;
        setText(detail.config ? stringify(detail.config, { lineWidth: 0 }) : '');
        setNote(detail.config ? 'Shown as parsed (the file itself could not be read as text).' : null);
      });
    return () => {
      live = false;
    };
  }, [client, path, detail.config]);

  if (text === null) return <p className="muted pad">Loading…</p>;
  if (!detail.config && text === '')
    return (
      <p className="muted pad" data-testid="detail-config">
        No readable config.yaml.
      </p>
    );
  return (
    <div className="config-tab" data-testid="detail-config">
      <div className="subbar">
        <span className="mono small">config.yaml</span>
        <span className="muted small">frozen · read-only</span>
        {note && <span className="muted small">{note}</span>}
        <span className="spacer" />
        <button type="button" className="btn small" onClick={() => editor.current?.openSearch()}>
          Search
        </button>
        <button type="button" className="btn small" onClick={() => editor.current?.foldAll()}>
          Fold all
        </button>
        <button type="button" className="btn small" onClick={() => editor.current?.unfoldAll()}>
          Unfold all
        </button>
      </div>
      <CodeEditor
        ref={editor}
        doc={text}
        docKey={path}
        readOnly
        ariaLabel="Frozen config (read-only)"
        testId="config-viewer"
      />
    </div>
  );
}
