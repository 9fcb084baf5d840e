import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../gateway/db/client.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { loggedCall, seedCalls } from '../../test/helpers/evals.ts';
import { itemsFromLogs } from './from-logs.ts';
import { contentVersion, parseJsonl } from './jsonl.ts';
import { loadDataset, saveDataset } from './store.ts';

describe('JSONL datasets', () => {
  it('ids default to the 0-based line number; blank lines keep numbering', () => {
    const items = parseJsonl('{"input":"a"}\n\n{"id":"x","messages":[{"role":"user","content":"b"}]}\n{"id":7,"output":"c","context":["k1","k2"]}\n');
    expect(items.map((i) => i.item_id)).toEqual(['0', 'x', '7']);
    expect(items[2]).toEqual({ item_id: '7', output: 'c', context: ['k1', 'k2'] });
  });

  it('a bad line is an error naming the line and the field', () => {
    expect(() => parseJsonl('{"input":"a"}\n{"input": 3}', 'qa.jsonl')).toThrow(/^qa\.jsonl line 2: input: /);
    expect(() => parseJsonl('{"input":"a"}\nnot json')).toThrow(/line 2: not valid JSON/);
    expect(() => parseJsonl('{"input":"a","colour":1}')).toThrow(/line 1: unknown key\(s\) "colour"/);
    expect(() => parseJsonl('{"input":"a","messages":[{"role":"user","content":"b"}]}')).toThrow(/not both/);
    expect(() => parseJsonl('{"tags":["t"]}')).toThrow(/needs 'input'/);
    expect(() => parseJsonl('{"id":"a","input":"x"}\n{"id":"a","input":"y"}')).toThrow(/duplicate id 'a'/);
  });

  it('the version is a content hash', () => {
    const a = parseJsonl('{"input":"a"}');
    expect(contentVersion(a)).toBe(contentVersion(parseJsonl('{ "input" : "a" }')));
    expect(contentVersion(a)).not.toBe(contentVersion(parseJsonl('{"input":"b"}')));
  });
});

describe.each(testDatabases())('stored datasets and datasets from logs ($kind)', (target) => {
  let database: Database;
  const now = Date.UTC(2026, 1, 10, 12);
  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('saving identical items is one version; loading gives the newest', async () => {
    const v1 = await saveDataset(database, 'ds', parseJsonl('{"input":"a"}\n{"input":"b"}'), {});
    const again = await saveDataset(database, 'ds', parseJsonl('{"input":"a"}\n{"input":"b"}'), {});
    expect(again).toMatchObject({ id: v1.id, version: v1.version });
    const v2 = await saveDataset(database, 'ds', parseJsonl('{"input":"c"}'), {});
    expect((await loadDataset(database, 'ds')).version).toBe(v2.version);
    expect((await loadDataset(database, 'ds', v1.version)).items.map((i) => i.input)).toEqual(['a', 'b']);
    await expect(loadDataset(database, 'nope')).rejects.toThrow(/no dataset named 'nope'/);
  });

  it('samples logged calls deterministically by seed, never eval or shadow calls, with output and recorded context', async () => {
    const at = (m: number) => new Date(now - 3_600_000 + m * 1000);
    const calls = Array.from({ length: 30 }, (_, i) => loggedCall(at(i), { question: `q${i}`, answer: `a${i}`, context: `context ${i}`, route: 'sampled', prompt: ['support', 1] }));
    const evalCall = { ...loggedCall(at(40), { question: 'e', answer: 'e', route: 'sampled' }), metadata: { sluice_eval_run: uuidv7() } };
    const shadow = { ...loggedCall(at(41), { question: 's', answer: 's', route: 'sampled' }), shadow: true };
    await seedCalls(database, [...calls].reverse().concat([evalCall, shadow]));
    const opts = { seed: 1, now: () => now };
    const a = await itemsFromLogs(database, { route: 'sampled', sample: 10, replay: false }, opts);
    const b = await itemsFromLogs(database, { route: 'sampled', sample: 10, replay: false }, opts);
    const c = await itemsFromLogs(database, { route: 'sampled', sample: 10, replay: false, seed: 2 }, opts);
    expect(a).toHaveLength(10);
    expect(b.map((i) => i.item_id)).toEqual(a.map((i) => i.item_id));
    expect(c.map((i) => i.item_id)).not.toEqual(a.map((i) => i.item_id));
    const ids = new Set(calls.map((x) => x.id));
    expect(a.every((i) => ids.has(i.item_id))).toBe(true);
    const one = a[0]!;
    const n = one.messages![0]!.content as string;
    expect(one).toMatchObject({ output: `a${n.slice(1)}`, context: `context ${n.slice(1)}`, latency_ms: 400 });
    expect(one.tags).toEqual(['route:sampled', 'variant:control', 'prompt:support@1', 'model:openai/gpt-4o-mini']);

    const half = await itemsFromLogs(database, { route: 'sampled', sample: 0.5, replay: false }, opts);
    expect(half.length).toBeGreaterThan(5);
    expect(half.length).toBeLessThan(25);
    const window = await itemsFromLogs(database, { route: 'sampled', sample: 100, since: '1h', until: new Date(now - 3_600_000 + 10_000).toISOString(), replay: false }, opts);
    expect(window).toHaveLength(10);
    const replay = await itemsFromLogs(database, { route: 'sampled', sample: 3, replay: true }, opts);
    expect(replay.every((i) => i.output === undefined && i.messages !== undefined)).toBe(true);
  });
});

describe('recorded context', () => {
  it('prefers the RAG record, then known request/response keys', async () => {
    const { extractContext, completionText } = await import('./context.ts');
    expect(extractContext({ injectedText: 'Sources: [1] a' }, { context: 'other' }, null)).toBe('Sources: [1] a');
    expect(extractContext(null, { rag: { documents: [{ text: 'x' }, { content: 'y' }] } }, null)).toBe('x\n\ny');
    expect(extractContext(null, { messages: [] }, { retrieved_context: ['p', 'q'] })).toBe('p\n\nq');
    expect(extractContext(null, {}, {})).toBeNull();
    expect(completionText({ choices: [{ message: { content: 'hi' } }] })).toBe('hi');
    expect(completionText({ choices: [{ message: { content: null, tool_calls: [] } }] })).toBeNull();
  });
});
