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

/** The hour of the last local timestamp read (consecutive records share it), and its start. */
let lastHourKey = '';
let lastHourStart = NaN;

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** Two ASCII digits at `i`, or -1. */
function twoDigits(v: string, i: number): number {
  const a = v.charCodeAt(i) - 48;
  const b = v.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The seed's form, local time without a zone ("2024-11-24T09:30:00.931952"),
 * read without the regular expression: same result as the general path, or
 * null for any other form (which the general path reads).
 */
function localIsoMs(v: string): number | null {
  const n = v.length;
  if (n < 19 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(13) !== 58) return null;
  const t = v.charCodeAt(10);
  if ((t !== 84 && t !== 32) || v.charCodeAt(16) !== 58) return null;
  const minutes = twoDigits(v, 14);
  const seconds = twoDigits(v, 17);
  if (minutes < 0 || seconds < 0) return null;
  let fraction = 0;
  if (n > 19) {
    const sep = v.charCodeAt(19);
    if ((sep !== 46 && sep !== 44) || n === 20 || n > 29) return null;
    let digits = 0;
    for (let i = 20; i < n; i++) {
      const c = v.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return null;
      digits = digits * 10 + c;
    }
    // Integer over a power of ten, both exact: correctly rounded, so equal to Number(`0.${…}`).
    fraction = (digits / POW10[n - 20]!) * 1000;
  }
  if (!v.startsWith(lastHourKey) || lastHourKey.length !== 13) {
    if (twoDigits(v, 0) < 0 || twoDigits(v, 2) < 0 || twoDigits(v, 5) < 0 || twoDigits(v, 8) < 0) return null;
    if (twoDigits(v, 11) < 0) return null;
    const key = v.slice(0, 13);
    lastHourStart = hourStart(key, Number(v.slice(0, 4)), twoDigits(v, 5), twoDigits(v, 8), twoDigits(v, 11));
    lastHourKey = key;
  }
  return lastHourStart + minutes * 60_000 + seconds * 1000 + fraction;
}

/** Local-time ms of the start of an hour ("YYYY-MM-DDTHH"), cached. */
function hourStart(key: string, year: number, month: number, day: number, hour: number): number {
  let start = hourStarts.get(key);
  if (start === undefined) {
    start = new Date(year, month - 1, day, hour).getTime();
    if (hourStarts.size >= MAX_CACHED_HOURS) hourStarts.clear();
    hourStarts.set(key, start);
  }
  return start;
}

export function timestampMs(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return NaN;
    return Math.abs(value) < SECONDS_LIMIT ? value * 1000 : value;
  }
  if (typeof value !== 'string') return NaN;
  const fast = localIsoMs(value);
  if (fast !== null) return fast;
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
  const start = hourStart(value.slice(0, 13), Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
  return start + within;
}
