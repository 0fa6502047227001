/**
 * `expdesk watch DIR [--webhook URL]`: alerts for headless machines. The
 * experiments of DIR (and those created there later) are followed by the
 * same watcher as the app's; each alert (failed, NaN/±Inf in a train metric,
 * stalled, completed) is printed as one line and, with --webhook, posted as
 * Slack-compatible JSON ({"text": "…"}) with retries that never hold the
 * watcher up. Alerts already given (by this command or the app, before a
 * restart) are not given again: core/alerts/alert-store.ts.
 */
import path from 'node:path';
import { AlertDetector, type Alert } from '../main/core/alerts/alert-detector';
import { AlertMonitor, localLogSignature } from '../main/core/alerts/alert-monitor';
import { AlertStore } from '../main/core/alerts/alert-store';
import { WebhookPoster } from '../main/core/alerts/webhook';
import { LocalBackend } from '../main/core/backend/local-backend';
import { byLocation } from '../main/core/backend/resolve';
import { SummaryStore } from '../main/core/summary/summary-store';
import { CliError } from './errors';
import { printErr, printOut } from './output';
import { escapeControls } from '../shared/terminal-text';

export interface WatchCliOptions {
  webhook?: string;
  /** The floor of the stall threshold, in seconds (default 300). */
  stallAfter?: number;
}

/** The line printed for an alert: UTC time, cause, the run's name and what happened, its folder. */
export function alertLine(a: Alert, at = new Date()): string {
  return `${at.toISOString()}  ${a.cause.toUpperCase().padEnd(9)}  ${a.text}  (${a.location})`;
}

export async function watchCommand(dir: string, opts: WatchCliOptions): Promise<never> {
  byLocation(dir, {
    local: null,
    ssh: () => {
      throw new CliError(`expdesk watch follows folders on this machine: run it on the host of ${dir}`);
    },
  })?.();
  let poster: WebhookPoster | null = null;
  if (opts.webhook) {
    try {
      poster = new WebhookPoster(opts.webhook, {
        report: (m) => printErr(`expdesk: ${escapeControls(m)}\n`),
      });
    } catch (err) {
      throw new CliError(`--webhook: ${(err as Error).message}`);
    }
  }
  const detector = new AlertDetector({
    store: new AlertStore(),
    minStallMs: opts.stallAfter === undefined ? undefined : opts.stallAfter * 1000,
    fire: (a) => {
      printOut(`${escapeControls(alertLine(a))}\n`);
      poster?.post(`${a.text} (${a.location})`);
    },
  });
  const monitor = new AlertMonitor({
    detector,
    logSignature: localLogSignature,
    checkMs: Math.min(5000, Math.max(250, ((opts.stallAfter ?? 300) * 1000) / 4)),
  });
  const root = path.resolve(dir);
  const backend: LocalBackend = new LocalBackend({
    summaries: new SummaryStore(),
    workspace: () => ({ location: root, backend }),
    sink: { metricsChanged: () => undefined, updated: (s) => monitor.updated(s) },
  });
  const listing = await backend.list(root);
  for (const s of listing.experiments) monitor.updated(s);
  await backend.watch(
    'expdesk-watch',
    listing.experiments.map((s) => s.path),
  );
  const keepAlive = setInterval(() => undefined, 1 << 30); // until Ctrl-C, even with no run running
  printErr(`expdesk: watching ${listing.experiments.length} experiment(s) in ${root}; Ctrl-C ends\n`);
  return new Promise<never>(() => {
    const end = (): void => {
      clearInterval(keepAlive);
      monitor.dispose();
      backend.dispose();
      // Posts under way get a few seconds to land; then the command ends regardless.
      void Promise.race([poster?.idle(), new Promise((r) => setTimeout(r, 5000))]).then(() =>
        process.exit(0),
      );
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  });
}
