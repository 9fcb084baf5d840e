import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { labelsOf, parsePrometheusText, valueOf } from '../../test/helpers/prom-text.ts';
import { FastCounter, FastHistogram } from './fast-metrics.ts';

describe('FastCounter and FastHistogram', () => {
  it('serve counters by label values through prom-client’s registry', async () => {
    const registry = new Registry();
    const c = new FastCounter('x_total', 'A counter.', ['route', 'status'], registry);
    c.inc(['a', 'ok']);
    c.inc(['a', 'ok'], 2.5);
    c.inc(['b "quoted"\nline', 'error']);
    const exp = parsePrometheusText(await registry.metrics());
    expect(exp.types.get('x_total')).toBe('counter');
    expect(valueOf(exp, 'x_total', { route: 'a', status: 'ok' })).toBe(3.5);
    expect(valueOf(exp, 'x_total', { status: 'error' })).toBe(1);
    expect(labelsOf(exp, 'x_total').map((l) => l['route'])).toEqual(['a', 'b "quoted"\nline']);
  });

  it('keep histogram buckets cumulative, with +Inf, sum and count', async () => {
    const registry = new Registry();
    const h = new FastHistogram('y_seconds', 'A histogram.', ['route'], [0.1, 1, 0.5], registry);
    for (const v of [0.05, 0.1, 0.3, 0.7, 2]) h.observe(['r'], v);
    const exp = parsePrometheusText(await registry.metrics());
    expect(exp.types.get('y_seconds')).toBe('histogram');
    const buckets = labelsOf(exp, 'y_seconds_bucket').map((l) => [l['le'], valueOf(exp, 'y_seconds_bucket', { le: l['le']! })]);
    // A value equal to a bound falls in that bound's bucket (le = less or equal).
    expect(buckets).toEqual([
      ['0.1', 2],
      ['0.5', 3],
      ['1', 4],
      ['+Inf', 5],
    ]);
    expect(valueOf(exp, 'y_seconds_sum', { route: 'r' })).toBeCloseTo(3.15);
    expect(valueOf(exp, 'y_seconds_count', { route: 'r' })).toBe(5);
  });

  it('show an unlabelled histogram at zero before anything is observed, and after a reset', async () => {
    const registry = new Registry();
    const h = new FastHistogram('z_seconds', 'Unlabelled.', [], [1], registry);
    expect(valueOf(parsePrometheusText(await registry.metrics()), 'z_seconds_count')).toBe(0);
    h.observe([], 3);
    expect(valueOf(parsePrometheusText(await registry.metrics()), 'z_seconds_bucket', { le: '+Inf' })).toBe(1);
    registry.resetMetrics();
    expect(valueOf(parsePrometheusText(await registry.metrics()), 'z_seconds_count')).toBe(0);
  });
});
