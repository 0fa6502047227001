/**
 * The log in a real terminal emulator (xterm.js): ANSI colours, and
 * carriage-return progress bars redraw in place as they do in a terminal.
 * Bytes go from the `log.data` event to xterm without React (LogStream, with
 * flow control). A multi-gigabyte log opens at its tail at once. Untrusted
 * escape sequences stay harmless: no clipboard addon is loaded (OSC 52 is
 * ignored), stdin is off, and a hyperlink (OSC 8) is only shown, never opened.
 */
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { Terminal, type ITheme } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ExperimentDetail, LogFile } from '../../shared/model';
import { rankOfLogName } from '../../shared/rank-logs';
import { formatBytes } from '../format';
import { LogStream, type LogStreamStatus } from '../lib/log-stream';
import { cssVar, useColorScheme } from '../theme';
import { useExpdesk } from '../store-context';

/** How much of the end of a log is shown first; "More history" grows it. */
const TAIL_STEPS = [2, 16, 128, 1024].map((mib) => mib * 1024 * 1024);
const SCROLLBACK_LINES = 100_000;

function defaultLog(logs: readonly LogFile[]): string | undefined {
  return (
    logs.find((l) => l.name === 'train.log')?.name ??
    [...logs].sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9))[0]?.name
  );
}

/** A tab's label: "rank N" for the seed's per-rank logs, "rank N · job J" for SLURM's per-task output. */
function logTabLabel(name: string): string {
  const r = rankOfLogName(name);
  if (!r) return name;
  return r.source === 'seed' ? `rank ${r.rank}` : `rank ${r.rank} · job ${r.job}`;
}

function terminalTheme(): ITheme {
  return {
    background: cssVar('--term-bg', '#111318'),
    foreground: cssVar('--term-fg', '#e4e7eb'),
    cursor: cssVar('--term-bg', '#111318'),
    selectionBackground: cssVar('--term-selection', '#3b5070'),
  };
}

export default function LogTab({ detail }: { detail: ExperimentDetail }): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const path = detail.summary.path;
  const logs = detail.logs;
  const [file, setFile] = useState<string | undefined>(() => defaultLog(logs));
  const [tailStep, setTailStep] = useState(0);
  const [status, setStatus] = useState<LogStreamStatus | null>(null);
  const [query, setQuery] = useState('');
  const [matches, setMatches] = useState<{ index: number; count: number } | null>(null);
  const [link, setLink] = useState<string | null>(null);
  const scheme = useColorScheme();
  const hostRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const searchRef = useRef<SearchAddon | null>(null);
  const searchInput = useRef<HTMLInputElement>(null);

  // A log that appears after the tab opened (a run that just started) becomes the default.
  const fallback = defaultLog(logs);
  const shown = file ?? fallback;

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const term = new Terminal({
      disableStdin: true,
      convertEol: true, // the runner keeps the pty's \n; a terminal needs \r\n to return the carriage
      scrollback: SCROLLBACK_LINES,
      fontFamily: cssVar('--mono', 'monospace'),
      fontSize: 12,
      lineHeight: 1.15,
      cursorStyle: 'bar',
      cursorInactiveStyle: 'none',
      theme: terminalTheme(),
      allowProposedApi: true, // search match decorations
      linkHandler: {
        // Never navigate from a log: show the address as text, for the user to copy if they trust it.
        activate: (_event, text) => setLink(text),
        allowNonHttpProtocols: false,
      },
    });
    const fit = new FitAddon();
    const search = new SearchAddon({ highlightLimit: 2000 });
    term.loadAddon(fit);
    term.loadAddon(search);
    term.open(host);
    termRef.current = term;
    searchRef.current = search;
    search.onDidChangeResults((r) => setMatches({ index: r.resultIndex, count: r.resultCount }));
    term.attachCustomKeyEventHandler((e) => {
      if (e.type === 'keydown' && (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'f') {
        e.preventDefault();
        searchInput.current?.focus();
        return false;
      }
      return true;
    });
    const refit = (): void => {
      try {
        fit.fit();
      } catch {
        // Not laid out yet (hidden tab): the next resize fits.
      }
    };
    refit();
    const ro = new ResizeObserver(refit);
    ro.observe(host);

    let frame = 0;
    let latest: LogStreamStatus | null = null;
    const stream = new LogStream(
      {
        subscribe: (fromOffset) =>
          client.invoke('log.subscribe', { expDir: path, ...(shown ? { file: shown } : {}), fromOffset }),
        unsubscribe: (subscription) => client.invoke('log.unsubscribe', { subscription }),
        onData: (listener) => client.on('log.data', listener),
      },
      { write: (data, done) => term.write(data, done) },
      { tailBytes: TAIL_STEPS[tailStep]! },
      (s) => {
        // Status is for the toolbar: at most one render per frame whatever the byte rate.
        latest = s;
        if (!frame)
          frame = requestAnimationFrame(() => {
            frame = 0;
            setStatus(latest);
          });
      },
    );
    void stream.start();
    return () => {
      cancelAnimationFrame(frame);
      stream.dispose();
      ro.disconnect();
      term.dispose();
      termRef.current = null;
      searchRef.current = null;
    };
  }, [client, path, shown, tailStep]);

  useEffect(() => {
    if (termRef.current) termRef.current.options.theme = terminalTheme();
  }, [scheme]);

  const decorations = useMemo(
    () => ({
      matchBackground: scheme === 'dark' ? '#5a4a12' : '#fff2a8',
      activeMatchBackground: scheme === 'dark' ? '#9a6700' : '#ffb84d',
      matchOverviewRuler: '#d29922',
      activeMatchColorOverviewRuler: '#ff8c00',
    }),
    [scheme],
  );

  const find = (backwards: boolean, incremental = false): void => {
    const s = searchRef.current;
    if (!s) return;
    if (!query) {
      s.clearDecorations();
      setMatches(null);
      return;
    }
    const opts = { decorations, incremental };
    if (backwards) s.findPrevious(query, opts);
    else s.findNext(query, opts);
  };

  const canGrow = status !== null && status.startOffset > 0 && tailStep < TAIL_STEPS.length - 1;
  return (
    <div className="log-tab" data-testid="log-view">
      {logs.length > 1 && (
        <div
          className="tabs small-tabs log-tabs"
          role="tablist"
          aria-label="Log files"
          data-testid="log-tabs"
        >
          {logs.map((l) => (
            <button
              type="button"
              role="tab"
              key={l.name}
              aria-selected={shown === l.name}
              className={`tab${shown === l.name ? ' active' : ''}`}
              onClick={() => setFile(l.name)}
              title={`logs/${l.name} (${formatBytes(l.size)})`}
              data-testid="log-tab"
              data-file={l.name}
            >
              {logTabLabel(l.name)}
            </button>
          ))}
        </div>
      )}
      <div className="subbar">
        <span className="mono small">{status?.file ?? shown ?? 'train.log'}</span>
        <span className="muted small" data-testid="log-status">
          {status === null
            ? 'opening…'
            : status.error
              ? status.error
              : status.startOffset > 0
                ? `last ${formatBytes(status.offset - status.startOffset)} of ${formatBytes(status.size)}`
                : formatBytes(status.offset)}
          {status?.paused && ' · catching up…'}
        </span>
        {canGrow && (
          <button type="button" className="btn small" onClick={() => setTailStep(tailStep + 1)}>
            More history
          </button>
        )}
        <span className="spacer" />
        <div className="search-box">
          <input
            ref={searchInput}
            type="text"
            value={query}
            placeholder="Search log (Enter, Shift+Enter)"
            aria-label="Search the log"
            data-testid="log-search"
            onChange={(e) => {
              setQuery(e.target.value);
              if (!e.target.value) {
                searchRef.current?.clearDecorations();
                setMatches(null);
              }
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                find(e.shiftKey);
              } else if (e.key === 'Escape') {
                e.stopPropagation();
                setQuery('');
                searchRef.current?.clearDecorations();
                setMatches(null);
                termRef.current?.focus();
              }
            }}
          />
          {matches && query && (
            <span className="muted small" data-testid="log-search-count">
              {matches.count === 0 ? 'no match' : `${matches.index + 1}/${matches.count}`}
            </span>
          )}
          <button type="button" className="btn small" onClick={() => find(true)} aria-label="Previous match">
            ↑
          </button>
          <button type="button" className="btn small" onClick={() => find(false)} aria-label="Next match">
            ↓
          </button>
        </div>
        <button
          type="button"
          className="btn small"
          onClick={() => termRef.current?.scrollToBottom()}
          title="Jump to the end and follow"
        >
          End
        </button>
      </div>
      {link && (
        <div className="banner banner-info" data-testid="log-link">
          <span>
            The log links to <code>{link}</code>. Expdesk does not open links from logs; copy it if you trust
            it.
          </span>
          <button
            type="button"
            className="btn small"
            onClick={() => void navigator.clipboard?.writeText(link)}
          >
            Copy
          </button>
          <button type="button" className="icon-btn" onClick={() => setLink(null)} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      <div className="terminal-host" ref={hostRef} data-testid="log-terminal" />
    </div>
  );
}
