/**
 * The open SSH connections of one process (the CLI, or the host behind the
 * interface): one per endpoint, shared by listings, tails and launches, all
 * closed together. Connection state changes go to one listener (the host
 * turns them into `remote.status` events).
 */
import {
  parseRemoteLocation,
  remoteEndpointLabel,
  RemoteLocationError,
  type RemoteLocation,
} from '../../../shared/remote-location';
import { SshConnection, type RemoteStatus, type SshOptions } from './connection';

export class RemotePool {
  private readonly connections = new Map<string, SshConnection>();
  private readonly listeners = new Set<(s: RemoteStatus) => void>();
  private readonly lastStatus = new Map<string, RemoteStatus>();

  constructor(private options: SshOptions = {}) {}

  /** Change options for connections opened from now on (CLI flags arrive after construction). */
  configure(options: Partial<SshOptions>): void {
    this.options = { ...this.options, ...options };
  }

  /** The connection for a location's endpoint (not yet connected: the first command connects). */
  connection(loc: Pick<RemoteLocation, 'user' | 'host' | 'port'>): SshConnection {
    const key = remoteEndpointLabel(loc);
    let conn = this.connections.get(key);
    if (!conn) {
      conn = new SshConnection(
        { host: loc.host, user: loc.user, port: loc.port },
        {
          ...this.options,
          onStatus: (s) => {
            this.lastStatus.set(s.host, s);
            this.options.onStatus?.(s);
            for (const l of this.listeners) l(s);
          },
        },
      );
      this.connections.set(key, conn);
    }
    return conn;
  }

  /** Parse and connect in one step; throws for a local path. */
  forLocation(text: string): { loc: RemoteLocation; conn: SshConnection } {
    const loc = parseRemoteLocation(text);
    if (!loc) throw new RemoteLocationError(`not a remote location: ${text}`);
    return { loc, conn: this.connection(loc) };
  }

  onStatus(listener: (s: RemoteStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last known state of every endpoint. */
  statuses(): RemoteStatus[] {
    return [...this.lastStatus.values()];
  }

  /** Forget an endpoint's connection (after the user accepted its host key, say). */
  drop(loc: Pick<RemoteLocation, 'user' | 'host' | 'port'>): void {
    const key = remoteEndpointLabel(loc);
    this.connections.get(key)?.close();
    this.connections.delete(key);
  }

  /** Exec channels open now on all connections (tests show none is left after a client goes). */
  get openChannels(): number {
    let n = 0;
    for (const c of this.connections.values()) n += c.stats.channels;
    return n;
  }

  closeAll(): void {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}
