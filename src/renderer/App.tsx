import { useEffect, type DragEvent } from 'react';
import { pathForDroppedFile } from './api/client';
import { ConnectionBanner, ErrorBanner } from './components/Banners';
import { DetailPanel } from './components/DetailPanel';
import { ExperimentTable } from './components/ExperimentTable';
import { Header } from './components/Header';
import { useExpdesk, useExpdeskStore } from './store-context';

export function App(): React.JSX.Element {
  const store = useExpdeskStore();
  const listing = useExpdesk((s) => s.listing);
  const hasDetail = useExpdesk((s) => s.detailPath !== null);
  useKeyboard(store);

  // Dropping a folder opens it. Electron's bridge resolves its path; a browser hides
  // paths from pages, so there the header's path field is the way.
  const onDragOver = (e: DragEvent): void => {
    if (!e.dataTransfer.types.includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  };
  const onDrop = (e: DragEvent): void => {
    const file = e.dataTransfer.files[0];
    if (!file) return;
    e.preventDefault();
    const path = pathForDroppedFile(file);
    const s = store.getState();
    if (path) void s.openWorkspace(path);
    else
      s.reportError(
        'This browser does not tell pages where a dropped folder is: type its path above instead.',
      );
  };

  return (
    <div
      className={`app${hasDetail ? ' with-detail' : ''}`}
      data-testid="app"
      onDragOver={onDragOver}
      onDrop={onDrop}
    >
      <Header />
      <ConnectionBanner />
      <ErrorBanner />
      <main className="content">
        <section className="table-pane" aria-label="Experiments">
          <ExperimentTable />
        </section>
        <DetailPanel />
      </main>
      <footer className="footer small muted" data-testid="footer">
        {listing ? (
          <>
            <span data-testid="experiment-count">{listing.experiments.length}</span> experiment(s) in{' '}
            <code>{listing.experimentsDir}</code>
            {listing.experiments.some((e) => e.status.source === 'inferred') &&
              ' · a status ending in ? is inferred from the files, not recorded'}
          </>
        ) : (
          ' '
        )}
        <span className="keys">↑/↓ select · Enter open · Esc close · Ctrl+R refresh</span>
      </footer>
    </div>
  );
}

/** Up/Down move the highlight, Enter opens it, Esc closes the detail, Ctrl/Cmd+R lists again. */
function useKeyboard(store: ReturnType<typeof useExpdeskStore>): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const s = store.getState();
      if ((e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && e.key.toLowerCase() === 'r') {
        e.preventDefault(); // a reload would only do the same, slower
        void s.refresh();
        return;
      }
      // The target is an Element, or the window itself for synthetic events.
      const target = e.target instanceof Element ? e.target : null;
      if (target?.closest('input, textarea, select, [contenteditable="true"]')) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        s.moveSelection(e.key === 'ArrowDown' ? 1 : -1);
      } else if (e.key === 'Enter' && !target?.closest('button, a, summary')) {
        e.preventDefault();
        void s.openDetail();
      } else if (e.key === 'Escape') {
        s.closeDetail();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}
