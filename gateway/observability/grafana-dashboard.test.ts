import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../test/helpers/prom-text.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { CallEvents } from '../calls/call-events.ts';
import { parseConfig } from '../config/load.ts';
import { RejectionCounters } from '../http/rejections.ts';
import { Metrics } from './metrics.ts';

interface Target {
  expr: string;
  datasource: { uid: string };
}
interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string }> };
}

const dashboard = JSON.parse(readFileSync(new URL('./grafana-dashboard.json', import.meta.url), 'utf8')) as Dashboard;
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

/** The metric names a PromQL expression reads (a histogram's _bucket/_sum/_count as the histogram). */
function metricsOf(expr: string): string[] {
  // Label names live in matchers {…} and in by (…): leave those out.
  const bare = expr.replace(/\{[^}]*\}/g, '').replace(/\bby \([^)]*\)/g, '');
  const names = bare.match(/\b(?:sluice|gen_ai|nodejs|process)_[a-z0-9_]+\b/g) ?? [];
  return names.map((n) => n.replace(/_(bucket|sum|count)$/, ''));
}

/** The example Grafana dashboard the README links (issue 17): it must only read what /metrics serves. */
describe('the example Grafana dashboard', () => {
  it('reads only metrics the gateway exports', async () => {
    const events = new CallEvents((err) => {
      throw err;
    });
    const config = parseConfig({ providers: { openai: { type: 'openai', api_key: 'sk-x' } }, routes: { r: { variants: [{ name: 'a', target: 'openai/gpt-4o-mini' }] } } }, {});
    const metrics = new Metrics({ config, events, rejections: new RejectionCounters() });
    events.emit({ record: sampleRecord({ cacheStatus: 'miss', stream: true, ttftMs: 50 }), shadow: null });
    const exported = parsePrometheusText(await metrics.scrape()).types;
    metrics.stop();
    expect(exprs.length).toBeGreaterThan(20);
    for (const { panel, expr } of exprs) {
      const names = metricsOf(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${panel} reads ${name}, which /metrics does not serve`).toBe(true);
    }
  });

  it('has balanced expressions, a data-source variable on every query and a route filter', () => {
    const variables = dashboard.templating.list.map((v) => v.name);
    expect(variables).toEqual(expect.arrayContaining(['datasource', 'route']));
    for (const { panel, expr, datasource } of exprs) {
      let depth = 0;
      for (const ch of expr) {
        if ('({['.includes(ch)) depth++;
        if (')}]'.includes(ch)) depth--;
        expect(depth, `${panel}: ${expr}`).toBeGreaterThanOrEqual(0);
      }
      expect(depth, `${panel}: ${expr}`).toBe(0);
      expect(datasource.uid).toBe('${datasource}');
    }
    const perRoute = ['latency', 'cost', 'error', 'cache hit', 'requests'].map((word) => exprs.some((e) => e.panel.toLowerCase().includes(word) && e.expr.includes('route=~"$route"')));
    expect(perRoute).toEqual([true, true, true, true, true]);
  });

  it('lays panels out without overlap on the 24-column grid', () => {
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const cell = `${x},${y}`;
          expect(cells.has(cell), `${p.title} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
    }
  });
});
