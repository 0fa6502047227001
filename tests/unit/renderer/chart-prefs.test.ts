/**
 * What the chart views remember (ChartControls.tsx parseChartPrefs): the
 * smoothing (EMA weight or window mean), log y and "ignore outliers"; an
 * EMA weight remembered by an older version is kept; damaged values fall
 * back to the defaults instead of breaking the charts.
 */
import { describe, expect, it } from 'vitest';
import { parseChartPrefs } from '../../../src/renderer/components/ChartControls';

describe('remembered chart view', () => {
  it('keeps well-formed choices', () => {
    const prefs = { smoothing: 0.6, smoothingKind: 'mean', window: 25, logY: true, ignoreOutliers: true };
    expect(parseChartPrefs(prefs)).toEqual(prefs);
  });

  it("starts from an older version's remembered EMA weight", () => {
    expect(parseChartPrefs(null, 0.8)).toMatchObject({ smoothing: 0.8, smoothingKind: 'ema', logY: false });
    // The new record wins over the old weight.
    expect(parseChartPrefs({ smoothing: 0.3 }, 0.8).smoothing).toBe(0.3);
  });

  it('falls back to the defaults for damaged values', () => {
    expect(
      parseChartPrefs(
        { smoothing: 7, smoothingKind: 'median', window: -3, logY: 'yes', ignoreOutliers: 1 },
        'x',
      ),
    ).toEqual({ smoothing: 0, smoothingKind: 'ema', window: 10, logY: false, ignoreOutliers: false });
    expect(parseChartPrefs([1, 2])).toMatchObject({ smoothing: 0, window: 10 });
  });
});
