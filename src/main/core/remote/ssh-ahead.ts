/**
 * Channels asked for ahead of the key's answer (ssh-client.ts fastAuth): the
 * state one SshConnection keeps of them. Each connection attempt offers its
 * target's client once a signed request that should succeed is out; a
 * command asked for meanwhile opens its channel on it. Where that request is
 * refused after a channel went ahead, the attempt is given up (AheadRefused)
 * and made again without: a channel asked for ahead must never open after a
 * later method's success, where it could run its command twice.
 */
import type { Client } from 'ssh2';
import type { AheadHooks } from './ssh-client';

/** The attempt's key was refused after a channel was asked for ahead of its answer: made again, without. */
export class AheadRefused extends Error {}

export class AheadChannels {
  /** The attempt under way's target, once a channel may be opened on it. */
  private offered: Promise<Client> | null = null;
  private offer: ((client: Client) => void) | null = null;
  /** Clients fit for a channel ahead (until ready, failed or refused), and those given one. */
  private readonly open = new WeakSet<Client>();
  private readonly used = new WeakSet<Client>();

  /** A connection attempt starts (its clients may offer), or ends. */
  begin(): void {
    this.offered = new Promise<Client>((resolve) => (this.offer = resolve));
  }

  end(): void {
    this.offered = this.offer = null;
  }

  /**
   * The client for a new channel while `attempt` is under way: its target's
   * as soon as a channel may go ahead on it (`attempt` then returned: what
   * the attempt comes to), else the attempt's own once ready.
   */
  async pick(attempt: Promise<Client>): Promise<{ client: Client; attempt?: Promise<Client> }> {
    const offered = this.offered;
    if (!offered) return { client: await attempt };
    const client = await Promise.race([attempt, offered]);
    if (!this.open.has(client)) return { client: await attempt };
    this.used.add(client);
    return { client, attempt };
  }

  /**
   * fastAuth's hooks for an attempt's target `client` (undefined when no
   * attempt is under way); `giveUp` ends the attempt with AheadRefused.
   */
  hooks(client: Client, isLastMethod: () => boolean, giveUp: () => void): AheadHooks | undefined {
    const offer = this.offer;
    if (!offer) return undefined;
    return {
      isLastMethod,
      openable: () => {
        this.open.add(client);
        offer(client);
      },
      refused: () => {
        this.open.delete(client);
        if (!this.used.has(client)) return false;
        giveUp();
        return true;
      },
    };
  }

  /** The client is ready or failed: a channel no longer goes ahead on it. */
  settled(client: Client): void {
    this.open.delete(client);
  }
}
