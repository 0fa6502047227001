/**
 * What the reader of metrics.jsonl met, in words (issue 16): each fault once,
 * at its first line, with how many lines and bytes it took; a series that
 * turned NaN or ±Infinity as "diverged". Never the parser's own message.
 */
import type { FirstNonFinite, MetricsFold } from '../../../shared/metrics-summary';
import type { Problem } from '../../../shared/model';
import { sizeText } from '../../../shared/problems';
import { LAYOUT } from '../workspace/layout';
import { MAX_LINE_BYTES, type MalformedLine } from './metrics-tail';

function lines(n: number): string {
  return n === 1 ? '1 line' : `${n} lines`;
}

export function lineFaultProblem(m: MalformedLine): Problem {
  if (m.fault === 'record') {
    return {
      file: m.file ?? LAYOUT.metrics,
      message: `damaged record at byte ${m.offset ?? 0}: ${m.detail ?? '?'}`,
    };
  }
  const many = m.count > 1;
  let message: string;
  switch (m.fault) {
    case 'binary':
      message = `binary, ${m.bytes} bytes (${lines(m.count)}) skipped: not text`;
      break;
    case 'long':
      message = many
        ? `${lines(m.count)} longer than ${sizeText(MAX_LINE_BYTES)} skipped (the longest ${sizeText(m.maxBytes)}); the rest was read`
        : `line of ${sizeText(m.bytes)} skipped: longer than ${sizeText(MAX_LINE_BYTES)}; the rest was read`;
      break;
    case 'not-object':
      message = `${many ? `${lines(m.count)} are` : 'line is'} JSON but not an object ({…}): skipped`;
      break;
    case 'wrong-type':
      message = `${many ? `${m.count} records have` : 'record has'} values of the wrong type (first: ${m.detail ?? '?'}): those values are left out`;
      break;
    default:
      message = `${many ? `${lines(m.count)} are` : 'line is'} not valid JSON: skipped`;
  }
  // The count is in the message; `count` would repeat it.
  return { file: LAYOUT.metrics, line: m.line, message };
}

/** `file`: where the series lives (metrics.jsonl, or a TensorBoard run's event files, which have no lines). */
export function divergedProblem(
  d: FirstNonFinite,
  fold: MetricsFold,
  file: string = LAYOUT.metrics,
): Problem {
  const total = Object.values(fold.state.stats).reduce((n, s) => n + s.nonFinite, 0);
  const more = total > 1 ? ` (${total} non-finite values in all)` : '';
  return {
    file,
    ...(d.line && file === LAYOUT.metrics ? { line: d.line } : {}),
    message: `diverged: ${d.metric} is ${d.value}${d.step !== null ? ` at step ${d.step}` : ''}${more}`,
  };
}
