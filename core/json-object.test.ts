import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseJsonObject } from './json-object.ts';

describe('parseJsonObject', () => {
  it('accepts an object and names each problem otherwise', () => {
    expect(parseJsonObject('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonObject('  ')).toMatchObject({ ok: false, problem: 'empty' });
    expect(parseJsonObject('{"a":')).toMatchObject({ ok: false, problem: 'syntax', message: expect.stringContaining('could not parse') });
    for (const text of ['[]', 'null', '3', '"x"']) expect(parseJsonObject(text), text).toMatchObject({ ok: false, problem: 'not_object' });
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH}, without overflowing the stack on 100,000 levels`, () => {
    const nest = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
    expect(parseJsonObject(nest(MAX_JSON_DEPTH))).toMatchObject({ ok: true });
    expect(parseJsonObject(nest(MAX_JSON_DEPTH + 1))).toMatchObject({ ok: false, problem: 'too_deep' });
    const deepArray = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(parseJsonObject(deepArray)).toMatchObject({ ok: false, problem: 'too_deep' });
  });
});
