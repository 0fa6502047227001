import { lazy, Suspense, useEffect, type DragEvent } from 'react';
import { pathForDroppedFile } from './api/client';
import { AlertNotices } from './components/Alerts';
import { ConnectionBanner, ErrorBanner } from './components/Banners';
import { DetailView } from './components/DetailView';
import { ExperimentsToolbar } from './components/ExperimentsToolbar';
import { ExperimentTable } from './components/ExperimentTable';
import { Header } from './components/Header';
import { RemoteDialogs } from './components/RemoteStatus';
import { ShortcutsDialog } from './components/ShortcutsDialog';
import { StatusBar } from './components/StatusBar';
import { Toasts } from './components/Toasts';
import { isTyping } from './keyboard';
import { DETAIL_TABS } from './state/detail';
import type { ExpdeskStore } from './store';
import { useExpdesk, useExpdeskStore } from './store-context';

// Heavy views load on first use so the table renders without CodeMirror or plotly.
const CompareView = lazy(() => import('./components/CompareView'));
const LaunchView = lazy(() => import('./components/LaunchView'));
const DiffView = lazy(() => import('./components/DiffView'));
const ParallelCoordinates = lazy(() =>
  import('./components/ParallelCoordinates').then((m) => ({ default: m.ParallelCoordinates })),
);

export function App(): React.JSX.Element {
  const store = useExpdeskStore();
  const view = useExpdesk((s) => s.view);
  const hasDetail = useExpdesk((s) => s.detailPath !== null);
  const parcoordsOpen = useExpdesk((s) => s.parcoordsOpen);
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
        'This browser does not tell pages where a dropped folder is: type its path in the Open field instead.',
      );
  };

  return (
    <div className="app" data-testid="app" data-view={view} onDragOver={onDragOver} onDrop={onDrop}>
      <Header />
      <ConnectionBanner />
      <ErrorBanner />
      <main className="content">
        {view === 'experiments' && (
          <div className={`experiments-view${hasDetail ? ' with-detail' : ''}`}>
            <section className="list-pane" aria-label="Experiments">
              <ExperimentsToolbar compact={hasDetail} />
              {parcoordsOpen && !hasDetail && (
                <Suspense fallback={<div className="muted pad">Loading…</div>}>
                  <ParallelCoordinates />
                </Suspense>
              )}
              <ExperimentTable compact={hasDetail} />
            </section>
            {hasDetail && <DetailView />}
          </div>
        )}
        {view !== 'experiments' && (
          <Suspense fallback={<div className="empty muted">Loading…</div>}>
            {view === 'compare' ? <CompareView /> : view === 'diff' ? <DiffView /> : <LaunchView />}
          </Suspense>
        )}
      </main>
      <StatusBar />
      <Toasts />
      <ShortcutsDialog />
      <RemoteDialogs />
      <AlertNotices />
    </div>
  );
}

/**
 * The global shortcuts (listed by `?`). Text fields keep their keys, except
 * the few that mean "leave" or are app-wide with a modifier.
 */
function useKeyboard(store: ExpdeskStore): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const s = store.getState();
      const mod = (e.ctrlKey || e.metaKey) && !e.altKey;
      const key = e.key.toLowerCase();
      if (mod && !e.shiftKey && key === 'r') {
        e.preventDefault(); // a reload would only do the same, slower
        void s.refresh();
        return;
      }
      if (mod && !e.shiftKey && key === 'o') {
        // Electron's menu takes Ctrl/Cmd+O for the native dialog before the page sees it; here, the path field.
        e.preventDefault();
        focusTestId('open-path-input');
        return;
      }
      if (mod && !e.shiftKey && key === 'k') {
        e.preventDefault();
        focusFilter(store);
        return;
      }
      const typing = isTyping(e);
      if (e.key === 'Escape') {
        if (s.shortcutsOpen) return s.setShortcutsOpen(false);
        if (typing) {
          // Leave the field; the next Esc goes back.
          if (e.target instanceof HTMLElement && !e.target.closest('.cm-editor, .xterm')) e.target.blur();
          return;
        }
        if (s.view !== 'experiments') return s.setView('experiments');
        if (s.detailPath) return s.closeDetail();
        return;
      }
      if (typing || mod || e.altKey) return;
      if (e.key === '?') {
        e.preventDefault();
        s.setShortcutsOpen(!s.shortcutsOpen);
        return;
      }
      if (s.view !== 'experiments') return;
      if (e.key === '/') {
        e.preventDefault();
        focusFilter(store);
      } else if (e.key === 'ArrowDown' || e.key === 'j' || e.key === 'ArrowUp' || e.key === 'k') {
        e.preventDefault();
        s.moveSelection(e.key === 'ArrowDown' || e.key === 'j' ? 1 : -1);
      } else if (e.key === 'Enter') {
        const target = e.target instanceof Element ? e.target : null;
        if (target?.closest('button, a, summary, [role="tab"]')) return;
        e.preventDefault();
        void s.openDetail();
      } else if (e.key === ' ') {
        const target = e.target instanceof Element ? e.target : null;
        if (target?.closest('button, a, summary, [role="tab"]') || !s.selectedPath) return;
        e.preventDefault();
        s.toggleChecked(s.selectedPath);
      } else if (e.key === 'c') {
        void s.openCompare();
      } else if (e.key === 'd') {
        s.openDiff();
      } else if (e.key === 'n') {
        void s.openLaunch();
      } else if (s.detailPath && /^[1-9]$/.test(e.key)) {
        const tab = DETAIL_TABS[Number(e.key) - 1];
        if (tab) s.setTab(tab);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}

function focusTestId(id: string): void {
  const el = document.querySelector<HTMLInputElement>(`[data-testid="${id}"]`);
  el?.focus();
  el?.select();
}

function focusFilter(store: ExpdeskStore): void {
  if (store.getState().view !== 'experiments') store.getState().setView('experiments');
  // After the view switch has rendered the toolbar.
  requestAnimationFrame(() => focusTestId('filter-input'));
  focusTestId('filter-input');
}
