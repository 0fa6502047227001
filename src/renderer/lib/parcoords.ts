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
      laid.push({ label: axis.label, x, kind: 'number', ticks });
    } else {
      const cats = [...new Set(present.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))))].sort();
      const pos = (c: string): number =>
        cats.length === 1 ? (y0 + y1) / 2 : y0 + ((y1 - y0) * cats.indexOf(c)) / (cats.length - 1);
      ys.push(
        axis.values.map((v) =>
          v === undefined || v === null ? null : pos(typeof v === 'string' ? v : JSON.stringify(v)),
        ),
      );
      laid.push({ label: axis.label, x, kind: 'category', ticks: cats.map((c) => ({ y: pos(c), text: c })) });
    }
  });
  const lines = Array.from({ length: n }, (_, e) => laid.map((a, i) => ({ x: a.x, y: ys[i]![e] ?? null })));
  return { axes: laid, lines };
}
