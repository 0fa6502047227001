/**
 * One colour per run, distinct for as many runs as a comparison holds: the
 * ten series colours first (Okabe–Ito, colour-blind safe), then, one at a
 * time, the candidate colour farthest from every colour already given
 * (farthest-point sampling over hues every 6°, three saturations and five
 * lightnesses readable on light and dark backgrounds): 50 runs get colours
 * at least ~56 apart in RGB. Past 100 runs, hues step by the golden angle.
 * A run keeps its index, so its colour is the same in every chart.
 */
import { SERIES_COLORS } from '../theme';

type Rgb = [number, number, number];

const MAX_PICKED = 100;
const GOLDEN_ANGLE = 137.50776405;

function hslToRgb(h: number, s: number, l: number): Rgb {
  const a = (s / 100) * Math.min(l / 100, 1 - l / 100);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return 255 * (l / 100 - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)));
  };
  return [f(0), f(8), f(4)];
}

function hexToRgb(c: string): Rgb {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as Rgb;
}

const distance = (a: Rgb, b: Rgb): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

let picked: string[] | null = null;

/** The colours after the series colours, in order (computed once). */
function pickColors(): string[] {
  const cands: Array<{ css: string; rgb: Rgb }> = [];
  for (let h = 0; h < 360; h += 6)
    for (const l of [35, 42, 50, 58, 65])
      for (const s of [60, 80, 95]) cands.push({ css: `hsl(${h}, ${s}%, ${l}%)`, rgb: hslToRgb(h, s, l) });
  const nearest = cands.map((c) => Math.min(...SERIES_COLORS.map((x) => distance(hexToRgb(x), c.rgb))));
  const out: string[] = [];
  while (out.length < MAX_PICKED - SERIES_COLORS.length) {
    let best = 0;
    for (let i = 1; i < cands.length; i++) if (nearest[i]! > nearest[best]!) best = i;
    const c = cands[best]!;
    out.push(c.css);
    for (let i = 0; i < cands.length; i++) nearest[i] = Math.min(nearest[i]!, distance(cands[i]!.rgb, c.rgb));
  }
  return out;
}

export function runColor(i: number): string {
  if (i < SERIES_COLORS.length) return SERIES_COLORS[i]!;
  picked ??= pickColors();
  const k = i - SERIES_COLORS.length;
  if (k < picked.length) return picked[k]!;
  return `hsl(${((k * GOLDEN_ANGLE) % 360).toFixed(1)}, 70%, ${[45, 60, 35][k % 3]}%)`;
}
