import { useState, type FormEvent } from 'react';
import { useExpdesk } from '../store-context';

/** The workspace path, an "open folder by path" field (browser mode's drop-in) and refresh. */
export function Header(): React.JSX.Element {
  const info = useExpdesk((s) => s.info);
  const root = useExpdesk((s) => s.listing?.root ?? s.info?.workspace ?? null);
  const loading = useExpdesk((s) => s.listingLoading);
  const openWorkspace = useExpdesk((s) => s.openWorkspace);
  const refresh = useExpdesk((s) => s.refresh);
  const [path, setPath] = useState('');

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void openWorkspace(path).then((ok) => {
      if (ok) setPath('');
    });
  };

  return (
    <header className="header" data-testid="header">
      <div className="header-title">
        <span className="brand">Expdesk</span>
        {info && (
          <span className="muted small" data-testid="app-version">
            v{info.version} · {info.mode === 'browser' ? 'browser mode' : 'desktop'}
          </span>
        )}
      </div>
      <div className="header-workspace" title={root ?? undefined}>
        <span className="muted small">Workspace</span>{' '}
        <code data-testid="workspace-path">{root ?? 'none open'}</code>
      </div>
      <form className="open-form" onSubmit={submit} data-testid="open-form">
        <input
          type="text"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder="/path/to/experiments or a project folder"
          aria-label="Folder to open"
          spellCheck={false}
          autoComplete="off"
          data-testid="open-path-input"
        />
        <button type="submit" disabled={loading} data-testid="open-path-button">
          Open folder
        </button>
        <button
          type="button"
          onClick={() => void refresh()}
          disabled={loading || !root}
          title="List the workspace again (Ctrl+R)"
          data-testid="refresh-button"
        >
          {loading ? 'Loading…' : 'Refresh'}
        </button>
      </form>
    </header>
  );
}
