import { describe, expect, it } from 'vitest';
import { PRICE_TABLE, PRICE_TABLE_VERSION } from './price-table.ts';

describe('PRICE_TABLE', () => {
  it('has well-formed entries', () => {
    for (const e of PRICE_TABLE) {
      const where = `${e.provider}/${e.model}@${e.effectiveFrom}`;
      expect(e.effectiveFrom, where).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(e.effectiveFrom <= PRICE_TABLE_VERSION, where).toBe(true);
      expect(e.model, where).toBe(e.model.toLowerCase());
      for (const price of [e.input, e.output, e.cachedInput, e.cacheWrite, e.reasoning]) {
        if (price !== undefined) expect(Number.isFinite(price) && price >= 0, where).toBe(true);
      }
      if (e.kind === 'chat') expect(e.output, where).toBeDefined();
      if (e.kind === 'embedding') expect(e.output, where).toBeUndefined();
      // A discount, never a surcharge; writes cost more than reads.
      if (e.cachedInput !== undefined) expect(e.cachedInput, where).toBeLessThan(e.input);
      if (e.cacheWrite !== undefined) expect(e.cacheWrite, where).toBeGreaterThan(e.input);
    }
  });

  it('has one entry per model and day, and one provider per model', () => {
    const days = new Set<string>();
    const owner = new Map<string, string>();
    for (const e of PRICE_TABLE) {
      const key = `${e.model}@${e.effectiveFrom}`;
      expect(days.has(key), key).toBe(false);
      days.add(key);
      expect(owner.get(e.model) ?? e.provider, e.model).toBe(e.provider);
      owner.set(e.model, e.provider);
    }
  });

  it('records at least one price change', () => {
    const count = new Map<string, number>();
    for (const e of PRICE_TABLE) count.set(e.model, (count.get(e.model) ?? 0) + 1);
    expect([...count.values()].some((n) => n > 1)).toBe(true);
  });
});
