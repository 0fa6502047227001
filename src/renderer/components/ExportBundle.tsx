import { useEffect, useState } from 'react';
import type { EventPayload } from '../../shared/contract';
import { formatBytes } from '../format';
import { basename } from '../state/detail';
import { useExpdesk } from '../store-context';
import { CheckLabel } from './CheckLabel';
import { Popover } from './Popover';

type Progress = EventPayload<'bundle.progress'>;

const PHASE: Record<Progress['phase'], string> = {
  scan: 'Scanning',
  source: 'Extracting source',
  pack: 'Packing',
  finish: 'Finishing',
  done: 'Done',
};

const same = (a: string, b: string): boolean => a.replace(/[\\/]+$/, '') === b.replace(/[\\/]+$/, '');

/**
 * "Export bundle": everything needed to reproduce the run elsewhere, in one
 * archive written by the host (bundle.export), with its progress as it goes.
 */
export function ExportBundle({ path }: { path: string }): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const toast = useExpdesk((s) => s.toast);
  const bundleDir = useExpdesk((s) => s.info?.bundleDir ?? null);
  const [busy, setBusy] = useState(false);
  // Browser mode: the server's link to the bundle just written, for this run.
  const [download, setDownload] = useState<{ href: string; name: string; path: string } | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [withLogs, setWithLogs] = useState(true);
  const [withCheckpoint, setWithCheckpoint] = useState(false);
  const [out, setOut] = useState('');

  useEffect(() => {
    let frame = 0;
    let latest: Progress | null = null;
    const off = client.on('bundle.progress', (p) => {
      if (!same(p.expDir, path)) return;
      // Progress can come per file: one render per frame is plenty.
      latest = p;
      if (!frame)
        frame = requestAnimationFrame(() => {
          frame = 0;
          setProgress(latest);
        });
    });
    return () => {
      off();
      cancelAnimationFrame(frame);
    };
  }, [client, path]);

  const start = async (): Promise<void> => {
    setBusy(true);
    setProgress(null);
    try {
      const r = await client.invoke('bundle.export', {
        expDir: path,
        withLogs,
        withCheckpoint,
        ...(out.trim() ? { out: out.trim() } : {}),
      });
      toast('success', `Bundle written: ${r.path} (${r.files} files, ${formatBytes(r.bytes)})`);
      setDownload(r.download ? { href: r.download, name: basename(r.path), path } : null);
      if (r.sourceMissing) toast('warning', `Source not included: ${r.sourceMissing}`);
      for (const w of r.warnings) toast('warning', w);
    } catch (err) {
      toast('error', `Export failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
      setProgress(null);
    }
  };

  if (busy) {
    const pct = progress && progress.total > 0 ? Math.min(100, (100 * progress.done) / progress.total) : null;
    return (
      <span className="progress" data-testid="bundle-progress" role="status">
        {progress ? PHASE[progress.phase] : 'Exporting'}…
        <span className="progress-bar" aria-hidden="true">
          <span style={{ width: `${pct ?? 5}%` }} />
        </span>
        {pct !== null && `${Math.round(pct)}%`}
      </span>
    );
  }
  return (
    <>
      {download && download.path === path && (
        <a
          className="btn"
          href={download.href}
          download={download.name}
          title="Download the bundle from the host to this computer"
          data-testid="bundle-download"
        >
          ⤓ Download {download.name}
        </a>
      )}
      <ExportMenu
        start={() => void start()}
        {...{ withLogs, setWithLogs, withCheckpoint, setWithCheckpoint, out, setOut, bundleDir }}
      />
    </>
  );
}

function ExportMenu(props: {
  start: () => void;
  withLogs: boolean;
  setWithLogs: (v: boolean) => void;
  withCheckpoint: boolean;
  setWithCheckpoint: (v: boolean) => void;
  out: string;
  setOut: (v: string) => void;
  bundleDir: string | null;
}): React.JSX.Element {
  const { withLogs, setWithLogs, withCheckpoint, setWithCheckpoint, out, setOut, bundleDir } = props;
  return (
    <Popover
      label="Export bundle ▾"
      title="Export a bundle that reproduces this run"
      testId="action-export"
      align="right"
    >
      {(close) => (
        <form
          className="form-menu"
          onSubmit={(e) => {
            e.preventDefault();
            close();
            props.start();
          }}
        >
          <CheckLabel checked={withLogs} onChange={setWithLogs}>
            Include logs and metrics
          </CheckLabel>
          <CheckLabel checked={withCheckpoint} onChange={setWithCheckpoint}>
            Include the final checkpoint
          </CheckLabel>
          <label className="field">
            <span className="field-label">
              Save as{' '}
              <span className="muted" data-testid="bundle-default">
                on the host; empty: {bundleDir ?? '~/Downloads if it exists, else your home folder,'}
                /&lt;run&gt;-bundle.zip
              </span>
            </span>
            <input
              type="text"
              value={out}
              placeholder="/path/to/bundle.zip or .tar.gz"
              onChange={(e) => setOut(e.target.value)}
              spellCheck={false}
            />
          </label>
          <button type="submit" className="btn primary" data-testid="export-start">
            Export
          </button>
        </form>
      )}
    </Popover>
  );
}
