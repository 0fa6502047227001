/**
 * Alerts to a Slack-compatible incoming webhook: POST {"text": "…"}. Posts
 * go out one after another from a queue the watcher never waits for; a post
 * that fails (an error, a timeout, a status other than 2xx) is retried with
 * exponential backoff, and every failure is reported (`report`), the last
 * one saying the alert was given up.
 */

export interface WebhookOptions {
  /** Retries after the first attempt (default 5: after 1, 2, 4, 8 and 16 s). */
  retries?: number;
  /** The first retry's delay; each next one doubles it. */
  backoffMs?: number;
  /** A post taking longer is abandoned (and retried). */
  timeoutMs?: number;
  /** Where failures are said (the CLI's stderr, the app's log). */
  report(message: string): void;
}

/** Slack's control characters in text: &, < and > are written as entities (a name cannot mention @channel). */
export function slackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class WebhookPoster {
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;

  constructor(
    readonly url: string,
    private readonly options: WebhookOptions,
  ) {
    const u = new URL(url); // a malformed URL fails here, when it is set, not at the first alert
    if (u.protocol !== 'https:' && u.protocol !== 'http:')
      throw new Error(`a webhook must be an http(s) URL, not ${u.protocol}`);
    this.retries = options.retries ?? 5;
    this.backoffMs = options.backoffMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Queue a post; returns at once. */
  post(text: string): void {
    this.pending++;
    this.queue = this.queue.then(() => this.send(text)).finally(() => this.pending--);
  }

  /** Resolves once every queued post was delivered or given up (tests; the CLI before exiting). */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.queue;
  }

  private async send(text: string): Promise<void> {
    const body = JSON.stringify({ text: slackText(text) });
    for (let attempt = 0; ; attempt++) {
      let why: string;
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        why = `HTTP ${res.status}`;
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        why = cause ?? (err instanceof Error ? err.message : String(err));
      }
      const host = new URL(this.url).host;
      if (attempt >= this.retries) {
        this.options.report(`webhook ${host}: gave up after ${attempt + 1} attempts (${why}): ${text}`);
        return;
      }
      const delay = this.backoffMs * 2 ** attempt;
      this.options.report(`webhook ${host}: ${why}; retrying in ${delay / 1000} s`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
