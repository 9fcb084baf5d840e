import { describe, expect, it } from 'vitest';
import { contentVersion, parseJsonl } from './jsonl.ts';

describe('contentVersion', () => {
  // Stored as eval_datasets.version: this value was computed by the first implementation.
  it('is the version stored for the same items by earlier releases', () => {
    const jsonl = [
      '{"input":"What is 2+2?","expected":"4","tags":["math"]}',
      '{"id":"q2","messages":[{"role":"user","content":"Hi"}],"variables":{"b":1,"a":[1,2.5e-8]},"expected":{"z":null,"a":{"__proto__":{"y":1},"c":"ü"}}}',
    ].join('\n');
    expect(contentVersion(parseJsonl(jsonl))).toBe('533c1b8890f41e7e');
  });
});
