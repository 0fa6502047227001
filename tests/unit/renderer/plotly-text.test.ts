import { describe, expect, it } from 'vitest';
import { plotlyText } from '../../../src/renderer/lib/plotly';

describe('plotlyText', () => {
  it("escapes the characters of plotly's HTML subset, so a name shows as written", () => {
    expect(plotlyText('train/<b>x</b><br><img src=x onerror=alert(1)>')).toBe(
      'train/&lt;b&gt;x&lt;/b&gt;&lt;br&gt;&lt;img src=x onerror=alert(1)&gt;',
    );
    // An entity in a name stays literal too (plotly would decode &amp; to &).
    expect(plotlyText('a &amp; b')).toBe('a &amp;amp; b');
    expect(plotlyText('eval/loss')).toBe('eval/loss');
  });
});
