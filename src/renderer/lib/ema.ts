/**
 * Exponential moving average as TensorBoard draws it: debiased, so the curve
 * starts at the first value instead of climbing from zero; NaN/Infinity
 * (null) points stay gaps and do not poison the average.
 */
export function ema(y: readonly (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return [...y];
  const w = Math.min(weight, 0.999);
  const out: (number | null)[] = new Array<number | null>(y.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * w + (1 - w) * v;
    n++;
    out[i] = last / (1 - w ** n);
  }
  return out;
}
