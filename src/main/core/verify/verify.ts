/**
 * `expdesk verify`: read two runs' metrics.jsonl and compare them step by
 * step (src/shared/verify.ts). Either argument may be an experiment folder,
 * an unpacked bundle (it holds logs/metrics.jsonl too) or a metrics.jsonl
 * file. Lines are streamed: the original's records are held until their
 * partner in the reproduced run arrives, the reproduced run's never.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseJsonLine } from '../../../shared/jsonl';
import {
  DEFAULT_IGNORED_KEYS,
  DEFAULT_TOLERANCE,
  RunComparison,
  type Tolerance,
  type VerifyResult,
} from '../../../shared/verify';
import { openRegular } from '../fs/safe-read';
import { LAYOUT } from '../workspace/layout';
import { ExpdeskError } from '../../../shared/errors';

export class VerifyError extends ExpdeskError {
  constructor(
    message: string,
    override readonly code: 'not-found' | 'bad-request' = 'bad-request',
  ) {
    super(code, message);
  }
}

export interface VerifyOptions {
  tolerance?: Partial<Tolerance>;
  /** Keys never compared (default: timestamp). */
  ignore?: string[];
}

/** The metrics file of an experiment folder, an unpacked bundle, or the file itself. */
export async function metricsFileOf(p: string): Promise<string> {
  const abs = path.resolve(p);
  const st = await stat(abs).catch(() => null);
  if (!st) throw new VerifyError(`${abs} does not exist`, 'not-found');
  if (st.isFile()) return abs;
  const file = path.join(abs, LAYOUT.metrics);
  const fst = await stat(file).catch(() => null);
  if (!fst?.isFile())
    throw new VerifyError(`${abs} has no ${LAYOUT.metrics}: no metrics to compare`, 'not-found');
  return file;
}

/** Hand every record of a JSONL file to `sink`; malformed lines are counted, not fatal. */
async function readRecords(
  file: string,
  sink: (record: Record<string, unknown>, line: number) => void,
): Promise<{ records: number; malformed: number[] }> {
  // Only a regular file, opened without blocking (a FIFO swapped in after the stat never hangs).
  const { fh } = await openRegular(file);
  const lines = createInterface({ input: fh.createReadStream(), crlfDelay: Infinity });
  let n = 0;
  let records = 0;
  const malformed: number[] = [];
  for await (const text of lines) {
    n++;
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = parseJsonLine(text);
    } catch {
      malformed.push(n);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      malformed.push(n);
      continue;
    }
    records++;
    sink(value as Record<string, unknown>, n);
  }
  return { records, malformed };
}

function malformedWarning(label: string, file: string, lines: number[]): string | null {
  if (!lines.length) return null;
  const shown = lines.slice(0, 5).join(', ') + (lines.length > 5 ? ', …' : '');
  return `${label} (${file}): ${lines.length} line(s) are not valid JSON records and were skipped (line ${shown})`;
}

export function resolveTolerance(t: Partial<Tolerance> = {}): Tolerance {
  const rtol = t.rtol ?? DEFAULT_TOLERANCE.rtol;
  const atol = t.atol ?? DEFAULT_TOLERANCE.atol;
  for (const [name, v] of [
    ['rtol', rtol],
    ['atol', atol],
  ] as const) {
    if (!Number.isFinite(v) || v < 0)
      throw new VerifyError(`${name} must be a non-negative number, got ${v}`);
  }
  return { rtol, atol };
}

export async function verifyRuns(
  original: string,
  reproduced: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const tolerance = resolveTolerance(options.tolerance);
  const [a, b] = await Promise.all([metricsFileOf(original), metricsFileOf(reproduced)]);
  const comparison = new RunComparison(tolerance, [...DEFAULT_IGNORED_KEYS, ...(options.ignore ?? [])]);
  const ra = await readRecords(a, (r, line) => comparison.addOriginal(r, line));
  if (ra.records === 0)
    throw new VerifyError(`${a} holds no metric records: there is nothing to compare the reproduction with`);
  const rb = await readRecords(b, (r, line) => comparison.addReproduced(r, line));
  const warnings = [
    malformedWarning('original', a, ra.malformed),
    malformedWarning('reproduced', b, rb.malformed),
  ].filter((w): w is string => w !== null);
  return comparison.result(
    { original: path.resolve(original), reproduced: path.resolve(reproduced) },
    warnings,
  );
}
