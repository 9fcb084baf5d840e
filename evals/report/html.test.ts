import { describe, expect, it } from 'vitest';
import type { ChartSpec } from '../../gateway/ui/charts/spec.ts';
import { renderHtmlReport } from './html.ts';
import { HOSTILE, LONG, sampleReport } from './sample.ts';

const page = renderHtmlReport(sampleReport());

function chartData(id: string): ChartSpec {
  const m = new RegExp(`<script type="application/json" id="${id}">([^<]*)</script>`).exec(page);
  expect(m, id).not.toBeNull();
  return JSON.parse(m![1]!) as ChartSpec;
}

describe('renderHtmlReport', () => {
  it('carries each chart as data for the shared chart code: scores over time on a time axis, distributions as counts', () => {
    expect(page.match(/class="chart" data-source=/g)).toHaveLength(4);
    const trend = chartData('trend-0-data');
    // Unix seconds of the three runs (a time axis), one series per target.
    expect(trend.x).toEqual([Date.parse('2026-03-02T09:15:00Z') / 1000, Date.parse('2026-03-02T13:40:00Z') / 1000, Date.parse('2026-03-02T18:05:00Z') / 1000]);
    expect(trend.xKind).toBeUndefined();
    expect(trend.series).toEqual([
      { label: 'v1', values: [0.5, 0.667, 0.833] },
      { label: 'v2', values: [0.5, 0.5, 0.667] },
    ]);
    const dist = chartData('dist-0-data');
    expect(dist).toMatchObject({ integer: true, xKind: 'value', unit: 'items' });
    expect(dist.x).toHaveLength(10);
    for (const s of dist.series) {
      expect(s.values.every((v) => Number.isInteger(v))).toBe(true);
      expect(s.values.reduce((a, b) => a! + b!, 0)).toBe(6);
    }
  });

  it('inlines uPlot and the dashboard chart code, and references no external URL', () => {
    expect(page).toContain('uPlot');
    expect(page).toContain("document.querySelectorAll('.chart[data-source]').forEach(drawChart)");
    expect(page).toContain('.uplot'); // uPlot's CSS
    // No element loads anything (escaped text has no '<', so a tag here is real markup).
    expect(page).not.toMatch(/<link|<img|<iframe|<[a-z][^>]*\s(src|href|srcset|action)=|@import|url\(\s*['"]?(https?:)?\/\//i);
    // The only http(s) URL is uPlot's licence comment.
    expect([...page.matchAll(/https?:\/\/[^\s"')]+/g)].map((m) => m[0])).toEqual(['https://github.com/leeoniya/uPlot']);
  });

  it('shows each item with its input, expected answer, every target output and the scores, all escaped', () => {
    expect(page).toContain('<h2 id="items">Results per item</h2>');
    expect(page).not.toContain(HOSTILE);
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('v2 says &lt;script&gt;');
    expect(page).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(page).toContain('no output &lt;to score&gt;');
    const row = /<tr><th scope="row"><code>q0<\/code><\/th>(.*?)<\/tr>/.exec(page)?.[1] ?? '';
    expect(row).toContain('What is 2+2?');
    expect(row).toContain('<pre tabindex="0">4</pre>');
    expect(row).toContain('v1 answer to q0');
    expect(row).toContain('v2 answer to q0');
    expect(row).toMatch(/<span class="scorer">contains<\/span> <b>0\.000<\/b>/);
    expect(row).toMatch(/<span class="scorer">groundedness<\/span> <b>1\.000<\/b>/);
  });

  it('collapses long and many-line text into <details>', () => {
    const q2 = /<tr><th scope="row"><code>q2<\/code><\/th>(.*?)<\/tr>/s.exec(page)?.[1] ?? '';
    expect(q2).toContain('<details><summary>');
    expect(q2).toContain('END-OF-LONG');
    expect(q2).toContain(`(${LONG.length} characters)`);
    const q3 = /<tr><th scope="row"><code>q3<\/code><\/th>(.*?)<\/tr>/s.exec(page)?.[1] ?? '';
    expect(q3).toContain('<details><summary><span class="preview">system: Be brief.');
  });

  it('without the dataset items, shows outputs and scores and says inputs were not loaded', () => {
    const { items: _items, ...input } = sampleReport();
    const bare = renderHtmlReport(input);
    expect(bare).toContain('Inputs and expected answers were not loaded');
    expect(bare).not.toContain('<th scope="col">input</th>');
    expect(bare).toContain('v1 answer to q4');
  });

  it('a run without results says so', () => {
    const r = sampleReport();
    const failed = renderHtmlReport({ ...r, run: { ...r.run, status: 'failed', summary: null, error: 'boom <x>' } });
    expect(failed).toContain('No results: boom &lt;x&gt;.');
  });
});
