/**
 * A fault-injecting TCP proxy between an SSH client and sshd: each direction
 * delayed by a configurable one-way latency (order kept), `cut()` destroys
 * every open connection at once (a dropped link), and `refuse` makes new
 * connections fail (a host gone for good).
 */
import net from 'node:net';

interface Delayed {
  due: number;
  data: Buffer;
}

/**
 * Forward `from` → `to` with a fixed one-way delay, preserving order. While
 * `stalled()` holds, bytes are held back (a link that hangs without closing)
 * and delivered once it is over.
 */
function pipeDelayed(
  from: net.Socket,
  to: net.Socket,
  latency: () => number,
  stalled: () => boolean,
  onStallEnd: (flush: () => void) => void,
): void {
  const queue: Delayed[] = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    timer = null;
    if (stalled()) return; // resumed by onStallEnd
    const now = Date.now();
    while (queue.length && queue[0]!.due <= now) {
      const item = queue.shift()!;
      if (!to.destroyed) to.write(item.data);
    }
    if (queue.length) timer = setTimeout(flush, queue[0]!.due - now);
  };
  onStallEnd(() => {
    if (!timer && queue.length) flush();
  });
  from.on('data', (data: Buffer) => {
    const ms = latency();
    if (ms <= 0 && queue.length === 0 && !stalled()) {
      if (!to.destroyed) to.write(data);
      return;
    }
    queue.push({ due: Date.now() + ms, data });
    if (!timer && !stalled()) timer = setTimeout(flush, ms);
  });
  from.on('end', () => {
    const endLater = (): void => {
      if (queue.length) setTimeout(endLater, 5);
      else to.end();
    };
    endLater();
  });
}

export class FaultProxy {
  /** One-way latency in ms, applied to each direction. */
  latencyMs: number;
  /** When true, new connections are closed at once. */
  refuse = false;
  private stall = false;
  private readonly stallEnded = new Set<() => void>();
  port = 0;
  accepted = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly targetPort: number,
    options: { latencyMs?: number; targetHost?: string } = {},
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    const host = options.targetHost ?? '127.0.0.1';
    this.server = net.createServer((client) => {
      this.accepted++;
      if (this.refuse) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.targetPort, host);
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      const stalled = (): boolean => this.stall;
      const onStallEnd = (f: () => void): void => {
        this.stallEnded.add(f);
        s0.on('close', () => this.stallEnded.delete(f));
      };
      const s0 = client;
      pipeDelayed(client, upstream, () => this.latencyMs, stalled, onStallEnd);
      pipeDelayed(upstream, client, () => this.latencyMs, stalled, onStallEnd);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => {
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  /** Destroy every open connection (both sides), like a dropped link. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Hold every byte in both directions (a hung link: nothing closes, nothing arrives). */
  set stalled(value: boolean) {
    this.stall = value;
    if (!value) for (const f of [...this.stallEnded]) f();
  }

  get stalled(): boolean {
    return this.stall;
  }

  get open(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
