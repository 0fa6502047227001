/**
 * Run names for legends and chips. Names of one sweep share their start
 * (`exp001_dpo_tiny-gpt2_…`) and differ in the middle and at the end (the
 * swept value, the launch time), so a long name is cut in the middle, never
 * at the end: "exp001_dpo…beta0.1_1201". When two names would still read the
 * same, the part where they differ is kept in a middle window.
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

function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
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

/**
 * Names cut to `max` characters so that different names stay different:
 * middle cuts first; names whose cuts collide keep the place where they
 * differ from the others.
 */
export function shortNames(names: readonly string[], max = 28): string[] {
  const out = names.map((n) => middleCut(n, max));
  const byCut = new Map<string, number[]>();
  out.forEach((c, i) => byCut.set(c, [...(byCut.get(c) ?? []), i]));
  for (const idx of byCut.values()) {
    if (idx.length < 2 || new Set(idx.map((i) => names[i])).size < 2) continue;
    const chars = idx.map((i) => [...names[i]!]);
    idx.forEach((i, k) => {
      let at = Infinity;
      chars.forEach((other, j) => {
        if (j !== k && names[idx[j]!] !== names[i]) at = Math.min(at, firstDifference(chars[k]!, other));
      });
      out[i] = aroundDifference(chars[k]!, at, max);
    });
  }
  return out;
}
