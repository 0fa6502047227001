import { useState, type FormEvent } from 'react';
import { useExpdesk } from '../store-context';
import { modKey } from '../keyboard';
import { Popover } from './Popover';
import { RemoteIndicator } from './RemoteStatus';

/** The app bar: workspace and recents, the three views, open by path, refresh, connection, help. */
export function Header(): React.JSX.Element {
  const info = useExpdesk((s) => s.info);
  const root = useExpdesk((s) => s.listing?.root ?? s.info?.workspace ?? null);
  const loading = useExpdesk((s) => s.listingLoading);
  const recent = useExpdesk((s) => s.recent);
  const view = useExpdesk((s) => s.view);
  const checked = useExpdesk((s) => s.checked.length);
  const openWorkspace = useExpdesk((s) => s.openWorkspace);
  const forgetRecent = useExpdesk((s) => s.forgetRecent);
  const refresh = useExpdesk((s) => s.refresh);
  const setView = useExpdesk((s) => s.setView);
  const openCompare = useExpdesk((s) => s.openCompare);
  const openLaunch = useExpdesk((s) => s.openLaunch);
  const setShortcutsOpen = useExpdesk((s) => s.setShortcutsOpen);
  const [path, setPath] = useState('');

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void openWorkspace(path).then((ok) => {
      if (ok) setPath('');
    });
  };

  return (
    <header className="header" data-testid="header">
      <div className="brand" title={info ? `Expdesk ${info.version}` : 'Expdesk'}>
        <span className="brand-mark" aria-hidden="true" />
        Expdesk
        {info && (
          <span className="brand-meta" data-testid="app-version">
            v{info.version} · {info.mode === 'browser' ? 'browser' : 'desktop'}
          </span>
        )}
      </div>

      <Popover
        className="workspace-menu"
        title="Workspace: recent folders"
        testId="workspace-menu"
        label={
          <>
            <span className="label">Workspace</span>
            <code data-testid="workspace-path" className="ellipsis">
              {root ?? 'none open'}
            </code>
            <span className="caret" aria-hidden="true">
              ▾
            </span>
          </>
        }
      >
        {(close) => (
          <div className="menu" data-testid="recent-menu">
            <div className="menu-title">Recent workspaces</div>
            {recent.length === 0 && <div className="menu-empty">None yet</div>}
            {recent.map((r) => (
              <div key={r} className="menu-row">
                <button
                  type="button"
                  className="menu-item mono"
                  data-testid="recent-item"
                  title={r}
                  onClick={() => {
                    close();
                    void openWorkspace(r);
                  }}
                >
                  {r}
                </button>
                <button
                  type="button"
                  className="icon-btn"
                  title="Forget"
                  aria-label={`Forget ${r}`}
                  onClick={() => forgetRecent(r)}
                >
                  ×
                </button>
              </div>
            ))}
            {info?.demoWorkspace && (
              <>
                <div className="menu-sep" />
                <button
                  type="button"
                  className="menu-item"
                  data-testid="open-demo"
                  onClick={() => {
                    close();
                    void openWorkspace(info.demoWorkspace!);
                  }}
                >
                  Open the demo workspace
                </button>
              </>
            )}
          </div>
        )}
      </Popover>

      <nav className="views" aria-label="Views">
        <button
          type="button"
          className={`view-tab${view === 'experiments' ? ' active' : ''}`}
          onClick={() => setView('experiments')}
          data-testid="nav-experiments"
        >
          Experiments
        </button>
        <button
          type="button"
          className={`view-tab${view === 'compare' ? ' active' : ''}`}
          onClick={() => void openCompare()}
          title="Compare the checked experiments (c)"
          data-testid="nav-compare"
        >
          Compare{checked > 0 && <span className="count">{checked}</span>}
        </button>
        <button
          type="button"
          className={`view-tab${view === 'launch' ? ' active' : ''}`}
          onClick={() => void openLaunch()}
          title="Edit a config and launch a run (n)"
          data-testid="nav-launch"
        >
          New run
        </button>
      </nav>

      <div className="spacer" />

      <form className="open-form" onSubmit={submit} data-testid="open-form">
        <input
          type="text"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder={`Open folder by path… (${modKey('O')})`}
          aria-label="Folder to open"
          spellCheck={false}
          autoComplete="off"
          data-testid="open-path-input"
        />
        <button type="submit" className="btn" disabled={loading} data-testid="open-path-button">
          Open
        </button>
      </form>
      <button
        type="button"
        className="btn icon-text"
        onClick={() => void refresh()}
        disabled={loading || !root}
        title={`List the workspace again (${modKey('R')})`}
        data-testid="refresh-button"
      >
        <span className={loading ? 'spin' : ''} aria-hidden="true">
          ⟳
        </span>
        <span className="sr-only">{loading ? 'Loading…' : 'Refresh'}</span>
      </button>
      <RemoteIndicator />
      <ConnectionDot />
      <button
        type="button"
        className="btn icon-text"
        onClick={() => setShortcutsOpen(true)}
        title="Keyboard shortcuts (?)"
        data-testid="help-button"
      >
        ?
      </button>
    </header>
  );
}

function ConnectionDot(): React.JSX.Element {
  const connection = useExpdesk((s) => s.connection);
  const mode = useExpdesk((s) => s.info?.mode);
  const label =
    connection === 'open'
      ? mode === 'electron'
        ? 'Connected to the local host'
        : 'Connected to expdesk serve'
      : connection === 'connecting'
        ? 'Connecting…'
        : 'Disconnected: reconnecting';
  return (
    <span
      className={`conn conn-${connection}`}
      title={label}
      data-testid="connection-indicator"
      data-state={connection}
    >
      <span className="dot" aria-hidden="true" />
      <span className="sr-only">{label}</span>
    </span>
  );
}
