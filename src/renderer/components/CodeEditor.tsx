/**
 * CodeMirror 6 for YAML: read-only for frozen configs (folding, search), or
 * editable for the config editor with diagnostics pushed from outside (the
 * local YAML check while typing, the core's composition errors on save).
 * The document lives in the EditorView, not in React state: keystrokes never
 * re-render the app.
 */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import {
  bracketMatching,
  foldAll,
  foldGutter,
  foldKeymap,
  HighlightStyle,
  indentOnInput,
  syntaxHighlighting,
  unfoldAll,
} from '@codemirror/language';
import { lintGutter, lintKeymap, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { highlightSelectionMatches, openSearchPanel, search, searchKeymap } from '@codemirror/search';
import { EditorState, type Extension } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { useEffect, useImperativeHandle, useRef, type Ref } from 'react';

export interface CodeEditorHandle {
  getText(): string;
  focus(): void;
  /** Select a 1-based line (jump to a problem). */
  goToLine(line: number): void;
  openSearch(): void;
  foldAll(): void;
  unfoldAll(): void;
}

export interface CodeEditorProps {
  /** The text to show; a new value replaces the document (when docKey changes too, history is reset). */
  doc: string;
  docKey: string;
  readOnly?: boolean;
  diagnostics?: readonly Diagnostic[];
  onChange?(text: string): void;
  onSave?(text: string): void;
  testId?: string;
  ref?: Ref<CodeEditorHandle>;
  ariaLabel: string;
}

/** Colours from CSS variables, so one style serves light and dark. */
const highlight = HighlightStyle.define([
  { tag: [tags.propertyName, tags.definition(tags.propertyName)], color: 'var(--syn-key)' },
  { tag: [tags.string, tags.special(tags.string)], color: 'var(--syn-string)' },
  { tag: [tags.number, tags.bool, tags.null], color: 'var(--syn-number)' },
  { tag: [tags.comment, tags.lineComment], color: 'var(--syn-comment)', fontStyle: 'italic' },
  { tag: [tags.keyword, tags.typeName, tags.labelName], color: 'var(--syn-keyword)' },
  { tag: [tags.punctuation, tags.separator, tags.squareBracket, tags.brace], color: 'var(--muted)' },
]);

const theme = EditorView.theme({
  '&': { height: '100%', fontSize: '12px', backgroundColor: 'var(--bg)', color: 'var(--fg)' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5' },
  '.cm-gutters': {
    backgroundColor: 'var(--bg-alt)',
    color: 'var(--muted)',
    borderRight: '1px solid var(--border)',
  },
  '.cm-activeLine': { backgroundColor: 'var(--row-hover)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--row-hover)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-cursor': { borderLeftColor: 'var(--fg)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': {
    backgroundColor: 'var(--selection) !important',
  },
  '.cm-panels': { backgroundColor: 'var(--bg-alt)', color: 'var(--fg)' },
  '.cm-panels.cm-panels-top': { borderBottom: '1px solid var(--border)' },
  '.cm-searchMatch': { backgroundColor: 'var(--search-match)', outline: '1px solid var(--warning-fg)' },
  '.cm-searchMatch.cm-searchMatch-selected': { backgroundColor: 'var(--search-current)' },
  '.cm-foldPlaceholder': {
    backgroundColor: 'var(--code-bg)',
    border: '1px solid var(--border)',
    color: 'var(--muted)',
  },
  '.cm-tooltip': { backgroundColor: 'var(--bg-alt)', border: '1px solid var(--border)', color: 'var(--fg)' },
  '.cm-panel input, .cm-panel button': { fontSize: '12px' },
});

interface ExtensionOptions {
  readOnly: boolean;
  ariaLabel: string;
  onDoc(text: string): void;
  onSave(): boolean;
}

function extensions(o: ExtensionOptions): Extension[] {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    foldGutter(),
    drawSelection(),
    bracketMatching(),
    highlightSelectionMatches(),
    search({ top: true }),
    yaml(),
    syntaxHighlighting(highlight),
    theme,
    lintGutter(),
    EditorView.contentAttributes.of({ 'aria-label': o.ariaLabel }),
    keymap.of([
      { key: 'Mod-s', run: o.onSave, preventDefault: true },
      ...searchKeymap,
      ...foldKeymap,
      ...lintKeymap,
      ...(o.readOnly ? [] : historyKeymap),
      ...(o.readOnly ? [] : [indentWithTab]),
      ...defaultKeymap,
    ]),
    ...(o.readOnly
      ? [EditorState.readOnly.of(true)]
      : [
          history(),
          indentOnInput(),
          highlightActiveLine(),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) o.onDoc(u.state.doc.toString());
          }),
        ]),
  ];
}

export function CodeEditor({
  doc,
  docKey,
  readOnly = false,
  diagnostics,
  onChange,
  onSave,
  testId,
  ref,
  ariaLabel,
}: CodeEditorProps): React.JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // The latest document and callbacks, read by the editor without rebuilding it.
  const latest = useRef({ doc, onChange, onSave });
  useEffect(() => {
    latest.current = { doc, onChange, onSave };
  });

  useImperativeHandle(ref, () => ({
    getText: () => view.current?.state.doc.toString() ?? '',
    focus: () => view.current?.focus(),
    goToLine(line) {
      const v = view.current;
      if (!v) return;
      const l = v.state.doc.line(Math.max(1, Math.min(line, v.state.doc.lines)));
      v.dispatch({ selection: { anchor: l.from, head: l.to }, scrollIntoView: true });
      v.focus();
    },
    openSearch: () => void (view.current && openSearchPanel(view.current)),
    foldAll: () => void (view.current && foldAll(view.current)),
    unfoldAll: () => void (view.current && unfoldAll(view.current)),
  }));

  // One view per document (docKey); a new file or a switch to read-only rebuilds it.
  useEffect(() => {
    if (!host.current) return;
    const v: EditorView = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: latest.current.doc,
        extensions: extensions({
          readOnly,
          ariaLabel,
          onDoc: (text) => latest.current.onChange?.(text),
          onSave: () => {
            latest.current.onSave?.(v.state.doc.toString());
            return true;
          },
        }),
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, [docKey, readOnly, ariaLabel]);

  // A read-only document changed outside (a refreshed file): show the new text.
  useEffect(() => {
    const v = view.current;
    if (!v || !readOnly) return;
    const current = v.state.doc.toString();
    if (current !== doc) v.dispatch({ changes: { from: 0, to: current.length, insert: doc } });
  }, [doc, readOnly]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const len = v.state.doc.length;
    const clamped = (diagnostics ?? []).map((d) => ({
      ...d,
      from: Math.min(d.from, len),
      to: Math.min(Math.max(d.to, d.from), len),
    }));
    v.dispatch(setDiagnostics(v.state, clamped));
  }, [diagnostics, docKey]);

  return <div className="code-editor" ref={host} data-testid={testId} />;
}
