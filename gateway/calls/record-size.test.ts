import { describe, expect, it } from 'vitest';
import { estimateJsonBytes, estimateRecordBytes, NODE_BUDGET } from './record-size.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';

const jsonLength = (v: unknown): number => JSON.stringify(v).length;

describe('estimateJsonBytes', () => {
  it('is close to the JSON size of text-heavy bodies', () => {
    const chat = {
      model: 'gpt-4o-mini',
      messages: Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} `.repeat(200) })),
      temperature: 0.2,
      metadata: { team: 'support', ticket: '42' },
    };
    const est = estimateJsonBytes(chat);
    expect(est / jsonLength(chat)).toBeGreaterThan(0.9);
    expect(est / jsonLength(chat)).toBeLessThan(1.1);
  });

  it('counts a large string by its length (O(1)), not by walking it', () => {
    const big = 'x'.repeat(5 * 1024 * 1024);
    const budget = { nodes: 10 };
    const est = estimateJsonBytes({ content: big }, budget);
    expect(est).toBeGreaterThanOrEqual(big.length);
    expect(est).toBeLessThan(big.length + 100);
    expect(budget.nodes).toBe(8); // the object and its one key
  });

  it('visits at most its node budget and extrapolates the rest of a long array', () => {
    const input = Array.from({ length: 1_000_000 }, (_, i) => `token-${i % 10}`);
    const budget = { nodes: 5_000 };
    const est = estimateJsonBytes({ input }, budget);
    expect(budget.nodes).toBeLessThanOrEqual(0);
    expect(budget.nodes).toBeGreaterThan(-5); // spent, not overspent
    expect(est / jsonLength({ input })).toBeGreaterThan(0.9);
    expect(est / jsonLength({ input })).toBeLessThan(1.1);
  });

  it('extrapolates a wide object past the budget from its average entry', () => {
    const wide: Record<string, string> = {};
    for (let i = 0; i < 50_000; i++) wide[`key_${i}`] = 'value-'.repeat(5);
    const budget = { nodes: 1_000 };
    const est = estimateJsonBytes(wide, budget);
    expect(est / jsonLength(wide)).toBeGreaterThan(0.8);
    expect(est / jsonLength(wide)).toBeLessThan(1.25);
  });

  it('keeps numbers to a constant each (an embedding is estimated in proportion to its length)', () => {
    const vec = Array.from({ length: 3072 }, (_, i) => Math.sin(i));
    const est = estimateJsonBytes({ embedding: vec });
    expect(est).toBeGreaterThan(3072 * 8);
    expect(est).toBeLessThan(3072 * 12);
  });

  it('survives cycles-free deep nesting without recursing past its depth limit', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => estimateJsonBytes(deep)).not.toThrow();
  });
});

describe('estimateRecordBytes', () => {
  it('grows with the bodies, each with a budget of its own', () => {
    const small = estimateRecordBytes(sampleRecord());
    expect(small).toBeGreaterThan(1000);
    expect(small).toBeLessThan(4000);

    // A request wide enough to spend a whole budget cannot hide a big response.
    const wideRequest = { input: Array.from({ length: NODE_BUDGET * 2 }, () => 1) };
    const response = { choices: [{ message: { content: 'r'.repeat(2_000_000) } }] };
    const est = estimateRecordBytes(sampleRecord({ requestBody: wideRequest, responseBody: response }));
    expect(est).toBeGreaterThan(2_000_000 + NODE_BUDGET * 2 * 8);
  });
});
