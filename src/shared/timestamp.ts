/**
 * Wall time of a metrics record, in ms since the epoch. The seed writes
 * `datetime.now().isoformat()`: local time without a zone
 * ("2024-11-24T09:30:00.931952"), so it is read as local time, like Python
 * would. A zone suffix (Z, +02:00) is honoured when present; `str(datetime)`
 * (a space instead of T) and a number (Unix seconds from `time.time()`, or ms
 * when it is too large to be seconds) are accepted too.
 *
 * Called once per record of a million-line file, so the common form is read
 * by hand, and the local offset is computed once per distinct date and hour
 * (a zone's offset changes at most on the hour, at DST switches).
 */

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Local-time ms of each "YYYY-MM-DDTHH" seen; a run spans few of them. */
const hourStarts = new Map<string, number>();
const MAX_CACHED_HOURS = 10_000;

/** Unix seconds below this are seconds (year 5138); above, they are ms. */
const SECONDS_LIMIT = 1e11;

export function timestampMs(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return NaN;
    return Math.abs(value) < SECONDS_LIMIT ? value * 1000 : value;
  }
  if (typeof value !== 'string') return NaN;
  const m = ISO.exec(value);
  if (!m) {
    const t = Date.parse(value);
    return Number.isFinite(t) ? t : NaN;
  }
  const minutes = Number(m[5]);
  const seconds = m[6] === undefined ? 0 : Number(m[6]);
  const fraction = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  const within = minutes * 60_000 + seconds * 1000 + fraction;
  const zone = m[8];
  if (zone !== undefined) {
    const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
    if (zone === 'Z') return utc + within;
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.replace(':', '');
    const offsetMin = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
    return utc + within - sign * offsetMin * 60_000;
  }
  const hourKey = value.slice(0, 13);
  let start = hourStarts.get(hourKey);
  if (start === undefined) {
    start = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])).getTime();
    if (hourStarts.size >= MAX_CACHED_HOURS) hourStarts.clear();
    hourStarts.set(hourKey, start);
  }
  return start + within;
}
