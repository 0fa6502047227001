/**
 * Alerts in the app (issue 13): the host's watcher summaries feed one
 * AlertDetector (core/alerts); each alert becomes an `alert.fired` event
 * (the interface's desktop notification) and a post to the open workspace's
 * webhook, when one is set. Webhooks are kept per workspace in Expdesk's
 * state folder (alerts/webhooks.json, written atomically), never in the
 * workspace itself. Logs are statted for stalls where they are on this disk;
 * over SSH the metrics alone say whether a run progresses.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApiError, type EventName, type EventPayload } from '../../shared/contract';
import type { ExperimentSummary } from '../../shared/model';
import { userStateDir } from '../core/app/paths';
import { AlertDetector, type Alert } from '../core/alerts/alert-detector';
import { AlertMonitor, localLogSignature } from '../core/alerts/alert-monitor';
import { AlertStore } from '../core/alerts/alert-store';
import { WebhookPoster } from '../core/alerts/webhook';
import { byLocation, normalizeLocation } from '../core/backend/resolve';

type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

export class AlertService {
  private readonly monitor: AlertMonitor;
  private readonly posters = new Map<string, WebhookPoster>();

  constructor(
    private readonly emit: Emit,
    private readonly workspace: () => string | null,
    private readonly stateDir: string = path.join(userStateDir(), 'alerts'),
  ) {
    const detector = new AlertDetector({ store: new AlertStore(stateDir), fire: (a) => this.fire(a) });
    this.monitor = new AlertMonitor({
      detector,
      logSignature: (l) =>
        byLocation<(l: string) => Promise<string | null>>(l, {
          local: localLogSignature,
          ssh: async () => null,
        })(l),
    });
  }

  /** A summary the watcher reported (or a listing showed). */
  updated(summary: ExperimentSummary): void {
    this.monitor.updated(summary);
  }

  webhook(workspace: string): string | null {
    return this.webhooks()[normalizeLocation(workspace)] ?? null;
  }

  setWebhook(workspace: string, url: string | null): string | null {
    const clean = url?.trim() || null;
    if (clean !== null) {
      try {
        new WebhookPoster(clean, { report: () => undefined });
      } catch (err) {
        throw new ApiError('bad-request', `not a webhook URL: ${(err as Error).message}`);
      }
    }
    const all = this.webhooks();
    const key = normalizeLocation(workspace);
    if (clean === null) delete all[key];
    else all[key] = clean;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.stateDir, 'webhooks.json');
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
    return clean;
  }

  dispose(): void {
    this.monitor.dispose();
  }

  private webhooks(): Record<string, string> {
    try {
      const raw = JSON.parse(readFileSync(path.join(this.stateDir, 'webhooks.json'), 'utf8')) as unknown;
      if (raw && typeof raw === 'object' && !Array.isArray(raw))
        return Object.fromEntries(
          Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string'),
        );
    } catch {
      // none set yet
    }
    return {};
  }

  private fire(a: Alert): void {
    this.emit('alert.fired', a);
    const ws = this.workspace();
    const url = ws ? this.webhook(ws) : null;
    if (!url) return;
    let poster = this.posters.get(url);
    if (!poster) {
      poster = new WebhookPoster(url, { report: (message) => this.emit('alert.webhook', { message }) });
      this.posters.set(url, poster);
    }
    poster.post(`${a.text} (${a.location})`);
  }
}
