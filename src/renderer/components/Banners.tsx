import { useExpdesk } from '../store-context';

/** Errors from the last request, in words, with a way to dismiss them. */
export function ErrorBanner(): React.JSX.Element | null {
  const listingError = useExpdesk((s) => s.listingError);
  const dismiss = useExpdesk((s) => s.dismissError);
  if (!listingError) return null;
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner">
      <span data-testid="error-message">{listingError}</span>
      <button type="button" className="icon-btn" onClick={dismiss} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}

/** Shown while the WebSocket to `expdesk serve` is down (the client reconnects by itself). */
export function ConnectionBanner(): React.JSX.Element | null {
  const connection = useExpdesk((s) => s.connection);
  if (connection === 'open') return null;
  return (
    <div className="banner banner-warning" role="status" data-testid="connection-banner">
      {connection === 'connecting'
        ? 'Connecting to expdesk serve…'
        : 'Lost the connection to expdesk serve; reconnecting… (is it still running?)'}
    </div>
  );
}
