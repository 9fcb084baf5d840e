import { describe, expect, it } from 'vitest';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { callHeaders } from './call-headers.ts';

describe('callHeaders', () => {
  it('reads route, variant, prompt version, cache and cost from the record', () => {
    const record = sampleRecord({ route: 'support', variant: 'b', promptName: 'greet', promptVersion: 3, cacheStatus: 'miss', costMicros: 1234 });
    expect(callHeaders(record, 1.23456)).toEqual({
      'x-sluice-route': 'support',
      'x-sluice-variant': 'b',
      'x-sluice-prompt-version': 'greet@3',
      'x-sluice-cache': 'miss',
      'x-sluice-cost-usd': '0.001234',
      'x-sluice-overhead-ms': '1.235',
    });
  });

  it('a cache hit costs 0; an unpriced or not yet priced call has no cost header; no route, no route headers', () => {
    expect(callHeaders(sampleRecord({ route: null, variant: null, promptName: null, cacheStatus: 'hit', costMicros: 0 }))).toEqual({
      'x-sluice-cache': 'hit',
      'x-sluice-cost-usd': '0',
    });
    expect(callHeaders(sampleRecord({ route: null, variant: null, promptName: null, cacheStatus: null, costMicros: null }))).toEqual({});
  });
});
