import { useExpdesk } from '../store-context';

/** The bottom line: how many experiments, where they are, and the keys to know. */
export function StatusBar(): React.JSX.Element {
  const listing = useExpdesk((s) => s.listing);
  const inferred = useExpdesk(
    (s) => s.listing?.experiments.some((e) => e.status.source === 'inferred') ?? false,
  );
  const running = useExpdesk(
    (s) => s.listing?.experiments.filter((e) => e.status.state === 'running').length ?? 0,
  );
  return (
    <footer className="statusbar" data-testid="footer">
      {listing ? (
        <>
          <span>
            <span data-testid="experiment-count">{listing.experiments.length}</span> experiment(s)
          </span>
          {running > 0 && <span className="running-count">{running} running</span>}
          <code className="ellipsis" title={listing.experimentsDir}>
            {listing.experimentsDir}
          </code>
          {inferred && (
            <span className="muted">a status ending in ? is inferred from the files, not recorded</span>
          )}
        </>
      ) : (
        <span className="muted">No workspace</span>
      )}
      <span className="spacer" />
      <span className="keys muted">
        ↑↓ move · Enter open · Space check · c compare · n new run · ? shortcuts
      </span>
    </footer>
  );
}
