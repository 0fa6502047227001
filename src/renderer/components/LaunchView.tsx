/**
 * Config editor and launch. The YAML is edited in CodeMirror; syntax errors
 * are marked while typing (the core's parser, in the renderer), and the
 * core's composition (defaults, overrides, interpolation) runs on save and on
 * every override change, its errors marked at their file and line. Beside
 * it: the experiment name a launch would get, the resolved config and its
 * changes from the base, the overrides form, command, interpreter and seed.
 */
import type { Diagnostic } from '@codemirror/lint';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ConfigProblem } from '../../shared/contract';
import { diffAgainstBase } from '../lib/config-preview';
import { rangeOfLine, yamlProblems, type TextProblem } from '../lib/yaml-check';
import { formatConfigValue } from '../format';
import { modKey } from '../keyboard';
import { useExpdeskPick } from '../store-context';
import { CodeEditor, type CodeEditorHandle } from './CodeEditor';
import LaunchForm from './LaunchForm';

interface ShownProblem {
  source: 'yaml' | 'compose';
  where: string;
  line: number | null;
  message: string;
  /** In the file being edited (so the editor can jump to it). */
  here: boolean;
}

type PreviewKind = 'overrides' | 'diff' | 'frozen';

function samePath(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a.replace(/\\/g, '/') === b.replace(/\\/g, '/');
}

function relTo(root: string | null, file: string): string {
  if (root && file.startsWith(`${root}/`)) return file.slice(root.length + 1);
  return file;
}

export default function LaunchView(): React.JSX.Element {
  const s = useExpdeskPick(
    'configRoot',
    'configFiles',
    'configFilesError',
    'configFile',
    'configText',
    'configDirty',
    'compose',
    'openLaunch',
    'openConfig',
  );
  const editor = useRef<CodeEditorHandle>(null);
  // null: the first tab there is (overrides, then base, then the resolved config).
  const [previewTab, setPreviewTab] = useState<PreviewKind | null>(null);
  const openLaunch = s.openLaunch;
  const hasFile = s.configFile !== null;
  const composed = s.compose?.ok ? s.compose : null;
  // A config with no `defaults:` list has no base, so no "Changes from base"; overrides have their own tab.
  const shown: PreviewKind[] = [
    ...(composed?.beforeOverrides ? (['overrides'] as const) : []),
    ...(composed?.base ? (['diff'] as const) : []),
    'frozen',
  ];
  const tab = previewTab && shown.includes(previewTab) ? previewTab : shown[0]!;

  useEffect(() => {
    // First visit: list the project's configs and open one.
    if (!hasFile) void openLaunch();
  }, [hasFile, openLaunch]);

  return (
    <div className="launch-view" data-testid="launch-view">
      <nav className="config-list" aria-label="Config files">
        <div className="pane-title">
          Configs
          {s.configRoot && (
            <code className="muted small ellipsis" title={s.configRoot}>
              {s.configRoot}
            </code>
          )}
        </div>
        {s.configFilesError && <div className="banner banner-error small">{s.configFilesError}</div>}
        {s.configFiles.length === 0 && !s.configFilesError && (
          <p className="muted small pad">No .yaml files in this project’s configs/ folder.</p>
        )}
        {s.configFiles.map((f) => (
          <button
            type="button"
            key={f.path}
            className={`file-item${f.path === s.configFile ? ' active' : ''}`}
            onClick={() => {
              if (s.configDirty && !window.confirm('Discard unsaved changes?')) return;
              void s.openConfig(f.path);
            }}
            title={f.path}
            data-testid="config-file"
            data-rel={f.rel}
          >
            <span className="mono ellipsis">{f.rel}</span>
          </button>
        ))}
      </nav>

      {/* Remounted per file (and once its text arrives), so the editor's own text never fights React's. */}
      <EditorPane
        key={`${s.configFile ?? ''}\n${s.configText === null ? 'loading' : 'loaded'}`}
        editor={editor}
      />

      <aside className="launch-pane">
        <LaunchForm editorText={() => editor.current?.getText() ?? null} />
        <div className="preview">
          <div className="tabs small-tabs" role="tablist">
            {shown.includes('overrides') && (
              <PreviewTab
                active={tab === 'overrides'}
                onClick={() => setPreviewTab('overrides')}
                testId="overrides-tab"
              >
                Changes by overrides
              </PreviewTab>
            )}
            {shown.includes('diff') && (
              <PreviewTab active={tab === 'diff'} onClick={() => setPreviewTab('diff')} testId="base-tab">
                Changes from base
              </PreviewTab>
            )}
            <PreviewTab active={tab === 'frozen'} onClick={() => setPreviewTab('frozen')} testId="frozen-tab">
              Resolved config
            </PreviewTab>
          </div>
          <div className="preview-body" data-testid="resolved-preview">
            {!s.compose ? (
              <p className="muted small pad">…</p>
            ) : !composed ? (
              <p className="muted small pad">Fix the error to see the resolved config.</p>
            ) : tab === 'overrides' && composed.beforeOverrides ? (
              <ChangeTable
                config={composed.config}
                before={composed.beforeOverrides}
                labels={['before', 'with overrides']}
                same="The overrides change nothing."
                testId="override-diff"
              />
            ) : tab === 'diff' && composed.base ? (
              <ChangeTable
                config={composed.beforeOverrides ?? composed.config}
                before={composed.base}
                labels={['base', 'this file']}
                same="Same as its base (the defaults it pulls in)."
                testId="base-diff"
              />
            ) : (
              <pre className="code frozen" data-testid="frozen-config">
                {composed.frozen}
              </pre>
            )}
          </div>
        </div>
      </aside>
    </div>
  );
}

function EditorPane({ editor }: { editor: React.RefObject<CodeEditorHandle | null> }): React.JSX.Element {
  const s = useExpdeskPick(
    'configRoot',
    'configFile',
    'configText',
    'configDirty',
    'configSaving',
    'compose',
    'composedDraft',
    'composing',
    'composeError',
    'saveConfig',
    'setConfigDirty',
    'setConfigDraft',
  );
  const [text, setText] = useState<string | null>(s.configText);
  const [syntax, setSyntax] = useState<TextProblem[]>(() =>
    s.configText === null ? [] : yamlProblems(s.configText),
  );

  // Lint while typing, once typing pauses.
  useEffect(() => {
    if (text === null) return;
    const t = setTimeout(() => setSyntax(yamlProblems(text)), 150);
    return () => clearTimeout(t);
  }, [text]);

  // The core composes the text being typed (not only the saved file): its answer
  // counts once it is about exactly that text, so a stale error never marks a line.
  const composeCurrent = s.compose !== null && s.composedDraft === (s.configDirty ? text : null);
  const composeError: ConfigProblem | null =
    composeCurrent && s.compose && !s.compose.ok ? s.compose.error : null;
  const problems: ShownProblem[] = useMemo(() => {
    const out: ShownProblem[] = syntax.map((p) => ({
      source: 'yaml',
      where: `${relTo(s.configRoot, s.configFile ?? '')}:${p.line}:${p.column}`,
      line: p.line,
      message: p.message,
      here: true,
    }));
    // A syntax error in the text being typed comes first.
    if (composeError && syntax.length === 0) {
      const here = samePath(composeError.file, s.configFile);
      const line = composeError.line
        ? `:${composeError.line}${composeError.column ? `:${composeError.column}` : ''}`
        : '';
      out.push({
        source: 'compose',
        where: composeError.file ? `${relTo(s.configRoot, composeError.file)}${line}` : 'overrides',
        line: here ? composeError.line : null,
        message: composeError.message,
        here,
      });
    }
    // The compose request itself failed (the host is gone, the file was removed).
    if (s.composeError && syntax.length === 0) {
      out.push({ source: 'compose', where: '', line: null, message: s.composeError, here: false });
    }
    return out;
  }, [syntax, composeError, s.composeError, s.configFile, s.configRoot]);

  const diagnostics: Diagnostic[] = useMemo(() => {
    if (text === null) return [];
    const d: Diagnostic[] = syntax.map((p) => ({
      from: p.from,
      to: p.to,
      severity: 'error',
      message: p.message,
      source: 'YAML',
    }));
    if (composeError && syntax.length === 0) {
      if (samePath(composeError.file, s.configFile) && composeError.line) {
        const r = rangeOfLine(text, composeError.line, composeError.column);
        d.push({ ...r, severity: 'error', message: composeError.message, source: 'compose' });
      } else if (composeError.file && !samePath(composeError.file, s.configFile)) {
        // The error is in a file this one pulls in: mark the defaults line that brings it.
        const m = /^defaults\s*:/m.exec(text);
        const line = m ? text.slice(0, m.index).split('\n').length : 1;
        const where = `${relTo(s.configRoot, composeError.file)}${composeError.line ? `:${composeError.line}` : ''}`;
        d.push({
          ...rangeOfLine(text, line),
          severity: 'error',
          message: `${where}: ${composeError.message}`,
          source: 'compose',
        });
      }
    }
    return d;
  }, [text, syntax, composeError, s.configFile, s.configRoot]);

  const save = (t: string): void => {
    void s.saveConfig(t);
  };

  return (
    <section className="editor-pane">
      <div className="subbar">
        <span className="mono small ellipsis" data-testid="editing-file">
          {s.configFile ? relTo(s.configRoot, s.configFile) : 'no file'}
        </span>
        {s.configDirty && (
          <span className="dirty-dot" title="Unsaved changes" data-testid="unsaved">
            ● unsaved
          </span>
        )}
        <span className="spacer" />
        <span className="muted small">{s.composing ? 'composing…' : ''}</span>
        <button
          type="button"
          className="btn small"
          disabled={!s.configDirty || s.configSaving}
          onClick={() => save(editor.current?.getText() ?? text ?? '')}
          title={`Save and compose (${modKey('S')})`}
          data-testid="save-config"
        >
          {s.configSaving ? 'Saving…' : 'Save'}
        </button>
      </div>
      <div className="editor-host">
        {s.configFile && s.configText !== null ? (
          <CodeEditor
            ref={editor}
            doc={s.configText}
            docKey={s.configFile}
            diagnostics={diagnostics}
            onChange={(t) => {
              setText(t);
              s.setConfigDirty(t !== s.configText);
              s.setConfigDraft(t);
            }}
            onSave={save}
            ariaLabel="Config being edited"
            testId="config-editor"
          />
        ) : (
          <p className="muted pad">
            {s.composeError ?? (s.configFile ? 'Loading…' : 'Choose a config on the left.')}
          </p>
        )}
      </div>
      <div className={`problems${problems.length ? ' has' : ''}`} data-testid="config-problems">
        {problems.length === 0 ? (
          <span className="ok small">
            {!composeCurrent || s.composing
              ? 'composing…'
              : s.configDirty
                ? '✓ Composes without error (unsaved)'
                : '✓ Composes without error'}
          </span>
        ) : (
          problems.map((p, i) => (
            <button
              type="button"
              key={i}
              className="problem"
              data-testid="problem-item"
              onClick={() => p.here && p.line && editor.current?.goToLine(p.line)}
            >
              <span className="problem-badge">{p.source === 'yaml' ? 'YAML' : 'config'}</span>
              <span className="mono">{p.where}</span>
              <span>{p.message}</span>
            </button>
          ))
        )}
      </div>
    </section>
  );
}

function PreviewTab(props: {
  active: boolean;
  onClick: () => void;
  testId?: string;
  children: React.ReactNode;
}): React.JSX.Element {
  return (
    <button
      type="button"
      role="tab"
      aria-selected={props.active}
      className={`tab${props.active ? ' active' : ''}`}
      onClick={props.onClick}
      data-testid={props.testId}
    >
      {props.children}
    </button>
  );
}

/** What changed, key by key: the file against its base, or the overrides against the file. */
function ChangeTable(props: {
  config: Parameters<typeof diffAgainstBase>[0];
  before: Parameters<typeof diffAgainstBase>[1];
  labels: [string, string];
  same: string;
  testId: string;
}): React.JSX.Element {
  const rows = useMemo(() => diffAgainstBase(props.config, props.before), [props.config, props.before]);
  if (rows.length === 0) return <p className="muted small pad">{props.same}</p>;
  return (
    <table className="mini" data-testid={props.testId}>
      <thead>
        <tr>
          <th>key</th>
          <th>{props.labels[0]}</th>
          <th>{props.labels[1]}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} className={`change-${r.change}`}>
            <td className="mono">{r.key}</td>
            <td className="mono muted">{r.base === undefined ? '—' : formatConfigValue(r.base)}</td>
            <td className="mono changed">{r.value === undefined ? 'removed' : formatConfigValue(r.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
