/**
 * Run names for legends and chips. Names of one sweep share their start
 * (`exp001_dpo_tiny-gpt2_…`) and differ in the middle and at the end (the
 * swept value, the launch time), so a long name is cut in the middle, never
 * at the end: "exp001_dpo…beta0.1_1201". Where names differ inside the part a
 * middle cut would hide, that part is kept in a window instead.
 */

const ELLIPSIS = '…';

/** `name` within `max` characters: its start and its end, joined by an ellipsis. */
export function middleCut(name: string, max: number): string {
  const chars = [...name]; // code points: never split a surrogate pair
  if (chars.length <= max) return name;
  if (max <= 1) return ELLIPSIS;
  const keep = max - 1;
  const head = Math.round(keep * 0.45);
  const tail = keep - head;
  return chars.slice(0, head).join('') + ELLIPSIS + chars.slice(chars.length - tail).join('');
}

/** Start, a window around position `at`, and end, within `max` characters. */
function aroundDifference(chars: readonly string[], at: number, max: number): string {
  const edge = Math.max(1, Math.floor((max - 2) / 4));
  const window = Math.max(1, max - 2 - 2 * edge);
  let from = Math.max(edge, at - Math.floor(window / 3));
  from = Math.min(from, Math.max(edge, chars.length - edge - window));
  const to = Math.min(chars.length - edge, from + window);
  const parts = [chars.slice(0, edge).join('')];
  parts.push(from > edge ? ELLIPSIS : '', chars.slice(from, to).join(''));
  parts.push(to < chars.length - edge ? ELLIPSIS : '', chars.slice(chars.length - edge).join(''));
  return parts.join('');
}

/** The first position at or after `from` where `a` and `b` differ, aligned at their starts (-1: none). */
function differenceFrom(a: readonly string[], b: readonly string[], from: number): number {
  const n = Math.max(a.length, b.length);
  for (let i = from; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Names cut to `max` characters so that the parts where they differ stay
 * visible: a middle cut, unless the cut-out middle holds a difference from
 * another name (the swept value of a sweep), which is then kept in a window
 * between a shorter start and end.
 */
export function shortNames(names: readonly string[], max = 28): string[] {
  const chars = names.map((n) => [...n]);
  return names.map((name, i) => {
    const own = chars[i]!;
    const cut = middleCut(name, max);
    if (own.length <= max) return cut;
    const head = Math.round((max - 1) * 0.45);
    const hiddenEnd = own.length - (max - 1 - head);
    let at = Infinity;
    chars.forEach((other, j) => {
      if (j === i || names[j] === name) return;
      const d = differenceFrom(own, other, head);
      if (d >= 0 && d < hiddenEnd) at = Math.min(at, d);
    });
    return at === Infinity ? cut : aroundDifference(own, at, max);
  });
}
