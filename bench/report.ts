/** Printing benchmark figures and ratios against their same-run baselines. */

export interface BenchResult {
  name: string;
  figure: string;
  baseline: string;
  /** figure / baseline, both measured in the same run. */
  ratio: number;
  /** The ratio the issue sets as a target (lower is better), or null. */
  target: number | null;
  targetText?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmtRatio(r: number): string {
  return r < 0.01 ? `1/${Math.round(1 / r).toLocaleString()}` : `${r.toFixed(2)}x`;
}

export function report(results: BenchResult[]): void {
  for (const r of results) {
    const verdict = r.target === null ? '' : r.ratio <= r.target ? '  [meets target' : '  [MISSES target';
    const target = r.target === null ? '' : `${verdict}: ${r.targetText ?? fmtRatio(r.target)}]`;
    process.stdout.write(
      `${r.name}\n  ${r.figure}  vs  ${r.baseline}  → ratio ${fmtRatio(r.ratio)}${target}\n`,
    );
  }
}
