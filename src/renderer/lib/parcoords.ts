/**
 * Parallel coordinates as geometry: one vertical axis per hyperparameter (and
 * the chosen metric last), one polyline per experiment. Numbers are scaled
 * between their min and max; strings and booleans become evenly spaced
 * categories. Pure, so the drawing is tested without a DOM.
 */
import type { JsonValue } from '../../shared/model';

export interface ParAxis {
  label: string;
  /** One value per experiment; null where the experiment has none. */
  values: (JsonValue | undefined)[];
}

export interface LaidAxis {
  label: string;
  x: number;
  kind: 'number' | 'category';
  /** Tick labels with their y, top to bottom. */
  ticks: { y: number; text: string }[];
  /** A number axis' range (bottom, top); a category axis' categories, top to bottom. */
  min?: number;
  max?: number;
  categories?: string[];
}

export interface ParLayout {
  axes: LaidAxis[];
  /** Per experiment, one point per axis; y is null where the value is missing (the line breaks there). */
  lines: { x: number; y: number | null }[][];
}

function isNum(v: JsonValue | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

export function layoutParcoords(
  axes: readonly ParAxis[],
  box: { width: number; height: number; top: number; bottom: number; left: number; right: number },
): ParLayout {
  const n = axes[0]?.values.length ?? 0;
  const innerW = box.width - box.left - box.right;
  const y0 = box.top;
  const y1 = box.height - box.bottom;
  const laid: LaidAxis[] = [];
  const ys: (number | null)[][] = [];
  axes.forEach((axis, i) => {
    const x = box.left + (axes.length === 1 ? innerW / 2 : (innerW * i) / (axes.length - 1));
    const present = axis.values.filter((v) => v !== undefined && v !== null);
    if (present.length > 0 && present.every(isNum)) {
      const nums = present as number[];
      const min = Math.min(...nums);
      const max = Math.max(...nums);
      const scale = (v: number): number =>
        max === min ? (y0 + y1) / 2 : y1 - ((v - min) / (max - min)) * (y1 - y0);
      ys.push(axis.values.map((v) => (isNum(v) ? scale(v) : null)));
      const ticks =
        max === min
          ? [{ y: scale(min), text: fmtTick(min) }]
          : [
              { y: y0, text: fmtTick(max) },
              { y: y1, text: fmtTick(min) },
            ];
      laid.push({ label: axis.label, x, kind: 'number', ticks, min, max });
    } else {
      const cats = [...new Set(present.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))))].sort();
      const pos = (c: string): number =>
        cats.length === 1 ? (y0 + y1) / 2 : y0 + ((y1 - y0) * cats.indexOf(c)) / (cats.length - 1);
      ys.push(
        axis.values.map((v) =>
          v === undefined || v === null ? null : pos(typeof v === 'string' ? v : JSON.stringify(v)),
        ),
      );
      laid.push({
        label: axis.label,
        x,
        kind: 'category',
        ticks: cats.map((c) => ({ y: pos(c), text: c })),
        categories: cats,
      });
    }
  });
  const lines = Array.from({ length: n }, (_, e) => laid.map((a, i) => ({ x: a.x, y: ys[i]![e] ?? null })));
  return { axes: laid, lines };
}

/** A brushed range of one axis: numbers between min and max, or a set of categories. */
export type Brush = { kind: 'range'; min: number; max: number } | { kind: 'set'; values: string[] };

/** A category's text as the layout writes it (strings as they are, anything else as JSON). */
export function categoryText(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The brush a drag between pixel heights ya and yb on a laid axis selects
 * (the plot's top y0 and bottom y1); null when it selects nothing.
 */
export function brushFromPixels(
  axis: LaidAxis,
  y0: number,
  y1: number,
  ya: number,
  yb: number,
): Brush | null {
  const top = Math.max(y0, Math.min(ya, yb));
  const bottom = Math.min(y1, Math.max(ya, yb));
  if (axis.kind === 'number') {
    const min = axis.min ?? 0;
    const max = axis.max ?? 0;
    if (max === min)
      return top <= (y0 + y1) / 2 && bottom >= (y0 + y1) / 2 ? { kind: 'range', min, max } : null;
    const at = (y: number): number => min + ((y1 - y) / (y1 - y0)) * (max - min);
    return { kind: 'range', min: at(bottom), max: at(top) };
  }
  const values = axis.ticks.filter((t) => t.y >= top - 1 && t.y <= bottom + 1).map((t) => t.text);
  const cats = axis.categories ?? [];
  return values.length ? { kind: 'set', values: cats.filter((c) => values.includes(c)) } : null;
}

/** Whether a value lies in a brush (a missing value never does). */
export function inBrush(v: JsonValue | undefined, brush: Brush): boolean {
  if (v === undefined || v === null) return false;
  if (brush.kind === 'range') return isNum(v) && v >= brush.min && v <= brush.max;
  return brush.values.includes(categoryText(v));
}

/** The pixel span (top, bottom) a brush covers on a laid axis, for drawing it. */
export function brushPixels(axis: LaidAxis, brush: Brush, y0: number, y1: number): [number, number] | null {
  if (brush.kind === 'range') {
    const min = axis.min ?? 0;
    const max = axis.max ?? 0;
    if (max === min) return [(y0 + y1) / 2 - 6, (y0 + y1) / 2 + 6];
    const y = (v: number): number => y1 - ((v - min) / (max - min)) * (y1 - y0);
    return [Math.max(y0, y(brush.max)), Math.min(y1, y(brush.min))];
  }
  const ys = axis.ticks.filter((t) => brush.values.includes(t.text)).map((t) => t.y);
  return ys.length ? [Math.min(...ys) - 6, Math.max(...ys) + 6] : null;
}
