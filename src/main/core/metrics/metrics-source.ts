/**
 * Where an experiment's metrics come from: logs/metrics.jsonl when it exists,
 * else the TensorBoard event files directly in the folder (TensorBoard's run
 * rule), read as one feed keyed `DIR/events.out.tfevents.*`. The summary
 * store and the series store both ask here, so a listing and a chart read the
 * same feed.
 */
import path from 'node:path';
import { readDirents } from '../workspace/fast-fs';
import { statSig } from '../workspace/fs-batch';
import { isMlflowRunDir, isTfeventsName, LAYOUT } from '../workspace/layout';
import { lineFaultProblem } from './line-faults';
import type { MetricsTailState } from './metrics-tail';
import { tfeventsKey, type EventsTailState } from './tfevents-tail';
import { filesUnder, mlflowKey, type MlflowTailState } from './mlflow-tail';
import type { JsonValue, Problem } from '../../../shared/model';
import { flattenConfig } from '../../../shared/config-diff';
import { LISTED_CONFIG_KEYS } from '../../../shared/listed-config';

/** How a problem names a TensorBoard run's event files as a whole. */
export const TFEVENTS_FILES = 'events.out.tfevents.*';

export type SourceSig = { size: number; mtimeMs: number; ino: number } | null;

/**
 * The event-file feed of `dir` and a signature over its files (sizes added,
 * newest mtime; inode 0 — each file's inode is checked by the reader), or
 * null when the folder holds none.
 */
export async function tfeventsSource(dir: string): Promise<{ file: string; sig: SourceSig } | null> {
  const names = (await readDirents(dir).catch(() => []))
    .filter((d) => isTfeventsName(d.name) && !d.isDirectory())
    .map((d) => d.name);
  if (names.length === 0) return null;
  const sigs = await Promise.all(names.map((n) => statSig(path.join(dir, n)).catch(() => null)));
  let size = 0;
  let mtimeMs = 0;
  for (const s of sigs) {
    if (!s) continue;
    size += s.size;
    mtimeMs = Math.max(mtimeMs, s.mtimeMs);
  }
  // The count of files joins the size, so a file added and one shrunk by as much still differ.
  return { file: tfeventsKey(dir), sig: { size, mtimeMs, ino: names.length } };
}

/**
 * An MLflow file-store run's metrics feed (`meta.yaml` beside `metrics/`), with
 * a signature over its metric and param files, or null for any other folder.
 */
export async function mlflowSource(dir: string): Promise<{ file: string; sig: SourceSig } | null> {
  if (!(await isMlflowRunDir(dir))) return null;
  let size = 0;
  let mtimeMs = 0;
  let count = 0;
  for (const sub of ['metrics', 'params']) {
    const base = path.join(dir, sub);
    const rels = await filesUnder(base);
    const sigs = await Promise.all(rels.map((r) => statSig(path.join(base, r)).catch(() => null)));
    for (const s of sigs) {
      if (!s) continue;
      size += s.size;
      mtimeMs = Math.max(mtimeMs, s.mtimeMs);
      count++;
    }
  }
  return { file: mlflowKey(dir), sig: { size, mtimeMs, ino: count } };
}

/** Metrics other than metrics.jsonl: a TensorBoard run's event files, or an MLflow run's metric files. */
export async function otherMetricsSource(dir: string): Promise<{ file: string; sig: SourceSig } | null> {
  return (await tfeventsSource(dir)) ?? (await mlflowSource(dir));
}

/** The feed key of an experiment's metrics: metrics.jsonl, or its event files (or MLflow metrics) when it has none. */
export async function metricsFileOf(dir: string): Promise<string> {
  const jsonl = path.join(dir, LAYOUT.metrics);
  if ((await statSig(jsonl).catch(() => null)) !== null) return jsonl;
  return (await otherMetricsSource(dir))?.file ?? jsonl;
}

/** The problems a reader remembered (malformed lines, damaged records), for a summary. */
export function readerProblems(tail: MetricsTailState): Problem[] {
  const out: Problem[] = tail.malformed.map(lineFaultProblem);
  // metrics.jsonl's faults are folded with their counts; damaged event records are remembered one by one, up to a bound.
  const records = tail.malformed.filter((m) => m.fault === 'record').length;
  if (records > 0 && tail.malformedCount > records) {
    out.push({
      file: TFEVENTS_FILES,
      message: `${tail.malformedCount - records} more damaged records skipped`,
    });
  }
  return out;
}

/** A TensorBoard run's hparams or an MLflow run's params, from its reader's state (null for metrics.jsonl). */
export function readerHparams(tail: MetricsTailState): Record<string, JsonValue> | null {
  return (tail as EventsTailState).hparams ?? null;
}

/** A summary's params, and a TensorBoard run's hparams (its config when it has no config.yaml, so listed keys come from them). */
export function withHparams(
  params: Record<string, JsonValue> | undefined,
  hparams: Record<string, JsonValue> | null,
): { params?: Record<string, JsonValue>; hparams?: Record<string, JsonValue> } {
  if (!hparams) return params ? { params } : {};
  const out = { ...params };
  const flat = flattenConfig(hparams);
  for (const k of LISTED_CONFIG_KEYS) if (!(k in out) && k in flat) out[k] = flat[k]!;
  return { params: out, hparams };
}

/** Whether a reader's state is a TensorBoard run's (its summary's total_steps is then its last step). */
export function isEventsState(tail: MetricsTailState): boolean {
  return (
    Array.isArray((tail as EventsTailState).files) || Array.isArray((tail as MlflowTailState).mlflowFiles)
  );
}

/** How a summary names where a run's series live: metrics.jsonl, its event files, or its MLflow metric files. */
export function sourceLabel(tail: MetricsTailState): string {
  if (Array.isArray((tail as MlflowTailState).mlflowFiles)) return 'metrics/*';
  return isEventsState(tail) ? TFEVENTS_FILES : LAYOUT.metrics;
}
