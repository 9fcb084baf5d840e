import { describe, expect, it } from 'vitest';
import { scriptSafe } from './inline.ts';
import { alignSeries, chartJson, histogram } from './spec.ts';

describe('alignSeries', () => {
  it('puts series measured at different x on one sorted x, null where a series has no point', () => {
    expect(
      alignSeries([
        { label: 'a', points: [{ x: 30, y: 3 }, { x: 10, y: 1 }] },
        { label: 'b', points: [{ x: 20, y: 2 }, { x: 30, y: 0.5 }] },
      ]),
    ).toEqual({ x: [10, 20, 30], series: [{ label: 'a', values: [1, null, 3] }, { label: 'b', values: [null, 2, 0.5] }] });
  });
});

describe('histogram', () => {
  it('counts per bin, the top edge in the last bin, x at bin centres', () => {
    const h = histogram([{ label: 's', values: [0, 0.05, 0.5, 0.99, 1, 1] }], { bins: 4 });
    expect(h.x).toEqual([0.125, 0.375, 0.625, 0.875]);
    expect(h.series).toEqual([{ label: 's', values: [2, 0, 1, 3] }]);
  });
});

describe('chartJson and scriptSafe', () => {
  it('no value can close the element it sits in', () => {
    const json = chartJson({ x: [1], unit: '</script><b>', series: [{ label: '<!--', values: [1] }] });
    expect(json).not.toContain('<');
    expect(JSON.parse(json)).toMatchObject({ unit: '</script><b>' });
    expect(scriptSafe('var s = "</script>"; var t = "<!--";')).toBe('var s = "<\\/script>"; var t = "\\x3c!--";');
  });
});
