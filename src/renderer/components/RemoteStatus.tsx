import { useState } from 'react';
import type { RemoteStatusPayload } from '../../shared/remote-location';
import { useExpdesk } from '../store-context';
import { Modal } from './Modal';

const LABEL: Record<RemoteStatusPayload['state'], string> = {
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  failed: 'failed',
  closed: 'closed',
};

/** One chip per SSH host in use: its connection state, why it failed, when it retries. */
export function RemoteIndicator(): React.JSX.Element | null {
  const hosts = useExpdesk((s) => s.remoteHosts);
  const list = Object.values(hosts).filter((h) => h.state !== 'closed');
  if (list.length === 0) return null;
  return (
    <div className="remote-hosts" data-testid="remote-indicator">
      {list.map((h) => (
        <span
          key={h.host}
          className={`remote-chip remote-${h.state}`}
          title={[
            `${h.host}: ${LABEL[h.state]}`,
            h.attempt > 0 ? `attempt ${h.attempt}` : '',
            h.retryInMs !== undefined ? `next try in ${Math.ceil(h.retryInMs / 1000)} s` : '',
            h.error ?? '',
          ]
            .filter(Boolean)
            .join(' · ')}
          data-state={h.state}
        >
          <span className="dot" aria-hidden="true" />
          <span className="mono">{h.host}</span>
          {h.state !== 'connected' && <span className="muted">{LABEL[h.state]}</span>}
        </span>
      ))}
    </div>
  );
}

/** Questions SSH asks through the interface: a host key never seen before, a key's passphrase. */
export function RemoteDialogs(): React.JSX.Element | null {
  const hosts = useExpdesk((s) => s.remoteHosts);
  const passphrase = useExpdesk((s) => s.passphraseRequest);
  const trust = useExpdesk((s) => s.trustHostKey);
  const answer = useExpdesk((s) => s.answerPassphrase);
  const [dismissed, setDismissed] = useState<string[]>([]);
  const [secret, setSecret] = useState('');
  const ask = Object.values(hosts).find(
    (h) => h.hostKey && !dismissed.includes(`${h.host}\n${h.hostKey.fingerprint}`),
  );

  if (passphrase)
    return (
      <Modal
        label="SSH key passphrase"
        testId="passphrase-dialog"
        title="Passphrase for an SSH key"
        onSubmit={() => {
          void answer(secret);
          setSecret('');
        }}
      >
        <p className="small">
          <code>{passphrase.keyFile}</code> is encrypted
          {passphrase.attempt > 1 ? ` (attempt ${passphrase.attempt})` : ''}.
        </p>
        <input
          type="password"
          className="text-input"
          value={secret}
          autoFocus
          onChange={(e) => setSecret(e.target.value)}
          aria-label="Passphrase"
        />
        <div className="modal-actions">
          <button type="button" className="btn" onClick={() => void answer(null)}>
            Skip this key
          </button>
          <button type="submit" className="btn primary">
            Unlock
          </button>
        </div>
      </Modal>
    );

  if (!ask?.hostKey) return null;
  const key = ask.hostKey;
  const changed = key.status === 'changed';
  return (
    <Modal
      label="SSH host key"
      testId="hostkey-dialog"
      title={changed ? 'The host key changed' : 'A host seen for the first time'}
    >
      <p className="small">
        <code>{ask.host}</code> presents a {key.keyType} key with the fingerprint
      </p>
      <pre className="code">{key.fingerprint}</pre>
      {changed ? (
        <p className="small banner-inline-error">
          This is not the key recorded in <code>{key.knownHostsFile}</code>
          {key.line ? ` (line ${key.line})` : ''}. Someone may be intercepting the connection. Expdesk will
          not connect; if the host really was reinstalled, remove the old line yourself.
        </p>
      ) : (
        <p className="small muted">
          Compare it with the fingerprint the host&apos;s administrator gave you. Trusting records it in{' '}
          <code>{key.knownHostsFile}</code>.
        </p>
      )}
      <div className="modal-actions">
        <button
          type="button"
          className="btn"
          onClick={() => setDismissed([...dismissed, `${ask.host}\n${key.fingerprint}`])}
        >
          {changed ? 'Close' : 'Cancel'}
        </button>
        {!changed && (
          <button
            type="button"
            className="btn primary"
            onClick={() => {
              setDismissed([...dismissed, `${ask.host}\n${key.fingerprint}`]);
              void trust(ask.host, key.fingerprint);
            }}
            data-testid="trust-host"
          >
            Trust and connect
          </button>
        )}
      </div>
    </Modal>
  );
}
