import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallEvents } from '../../gateway/calls/call-events.ts';
import type { CallRecord } from '../../gateway/calls/record.ts';
import { ConfigError } from '../../gateway/config/load.ts';
import type { Database } from '../../gateway/db/client.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { callScores } from '../schema.ts';
import { resolveOnlineScoring } from './config.ts';
import { itemOfCall, sampledCall, startOnlineScoring } from './online-scoring.ts';

const CONTEXT = 'The Eiffel Tower is 330 metres tall and stands in Paris.';

/** A finished call of `route` whose answer is `answer`, with retrieved context as the gateway records it. */
function finishedCall(route: string | null, answer: string, overrides: Partial<CallRecord> = {}): CallRecord {
  return sampleRecord({
    route,
    requestBody: { model: route ?? 'up/m', messages: [{ role: 'user', content: 'How tall is the Eiffel Tower?' }] },
    responseBody: { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }] },
    rag: { route, retriever: 'kb', query: 'eiffel', documents: [], injectedText: CONTEXT, retrievalMs: 1, annotations: {} },
    ...overrides,
  });
}

describe('resolveOnlineScoring', () => {
  it('resolves each route with online_scoring, scorer options checked', () => {
    const routes = resolveOnlineScoring({
      a: { online_scoring: { sample: 0.5, scorers: ['groundedness', { name: 'contains', value: 'Paris' }] } },
      b: {},
    });
    expect([...routes.keys()]).toEqual(['a']);
    expect(routes.get('a')!.scorers.map((s) => s.key)).toEqual(['groundedness', 'contains']);
  });

  it('refuses unknown scorers, bad options and repeated keys, naming the path', () => {
    expect(() => resolveOnlineScoring({ a: { online_scoring: { sample: 1, scorers: ['nope'] } } })).toThrow(
      /routes\.a\.online_scoring\.scorers\.0\.name: unknown scorer 'nope'/,
    );
    expect(() => resolveOnlineScoring({ a: { online_scoring: { sample: 1, scorers: [{ name: 'contains', valu: 'x' }] } } })).toThrow(ConfigError);
    expect(() => resolveOnlineScoring({ a: { online_scoring: { sample: 1, scorers: [{ name: 'faithfulness' }] } } })).toThrow(/scorers\.0\.judge/);
    expect(() => resolveOnlineScoring({ a: { online_scoring: { sample: 1, scorers: ['groundedness', 'groundedness'] } } })).toThrow(/appears twice/);
  });

  it('sends scorers that call a model to the job queue, as the spec the route gave; refuses them when payloads are not logged', () => {
    const judged = { a: { online_scoring: { sample: 1, scorers: ['groundedness', { name: 'faithfulness', judge: 'up/gpt-4o-mini' }, { name: 'self_consistency', as: 'sc' }] } } };
    const route = resolveOnlineScoring(judged).get('a')!;
    expect(route.scorers.map((s) => s.key)).toEqual(['groundedness']);
    expect(route.queued).toEqual([
      { key: 'faithfulness', spec: { name: 'faithfulness', judge: 'up/gpt-4o-mini' } },
      { key: 'sc', spec: { name: 'self_consistency', as: 'sc' } },
    ]);
    expect(() => resolveOnlineScoring(judged, { payloadsLogged: false })).toThrow(
      /routes\.a\.online_scoring\.scorers\.1: 'faithfulness' calls a model, so a worker scores it from the call log, but logging\.enabled or logging\.payloads is off/,
    );
    // Deterministic scorers need no payloads: they score the record in the gateway.
    expect(() => resolveOnlineScoring({ a: { online_scoring: { sample: 1, scorers: ['groundedness'] } } }, { payloadsLogged: false })).not.toThrow();
  });
});

describe('sampledCall', () => {
  it('is deterministic per call id and keeps about the asked fraction', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => sampleRecord({}, new Date(1_700_000_000_000 + i)).id);
    const kept = ids.filter((id) => sampledCall(id, 0.2)).length / ids.length;
    expect(kept).toBeGreaterThan(0.19);
    expect(kept).toBeLessThan(0.21);
    for (const id of ids.slice(0, 100)) expect(sampledCall(id, 0.2)).toBe(sampledCall(id, 0.2));
    // A call sampled at 0.2 is also sampled at 0.5: raising the rate only adds calls.
    for (const id of ids.slice(0, 1000)) if (sampledCall(id, 0.2)) expect(sampledCall(id, 0.5)).toBe(true);
    expect(sampledCall(ids[0]!, 1)).toBe(true);
  });
});

describe('itemOfCall', () => {
  it('takes the messages, the answer and the injected context from the record', () => {
    const item = itemOfCall(finishedCall('a', 'It is 330 metres tall.'))!;
    expect(item).toMatchObject({ output: 'It is 330 metres tall.', context: CONTEXT });
    expect(item.messages).toHaveLength(1);
    expect(itemOfCall(finishedCall('a', 'x', { responseBody: { error: 'no' } }))).toBeNull();
  });
});

describe.each(testDatabases())('online scoring writes call_scores as calls finish ($kind)', (target) => {
  let database: Database;
  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database.close();
  });

  const routes = () => resolveOnlineScoring({ kb: { online_scoring: { sample: 1, scorers: ['groundedness', { name: 'contains', value: '330' }] } } });
  const scoresOf = (callId: string) => database.db.select().from(callScores).where(eq(callScores.callId, callId));

  it('scores a sampled ok call with the context it was given; ignores errors, shadows and other routes', async () => {
    const events = new CallEvents();
    const online = startOnlineScoring(events, { database, routes: routes(), logger: silentLogger });
    const grounded = finishedCall('kb', 'The Eiffel Tower is 330 metres tall.');
    const invented = finishedCall('kb', 'The Eiffel Tower is 512 metres tall and was built in Rome.');
    const failed = finishedCall('kb', 'x', { status: 'upstream_error' });
    const shadow = finishedCall('kb', 'x', { shadow: true });
    const other = finishedCall('elsewhere', 'x');
    for (const record of [grounded, invented, failed, shadow, other]) events.emit({ record, shadow: null });
    await online.drained();

    const good = await scoresOf(grounded.id);
    expect(good.map((s) => [s.scorer, s.source]).sort()).toEqual([
      ['contains', 'online'],
      ['groundedness', 'online'],
    ]);
    expect(good.find((s) => s.scorer === 'groundedness')!.score).toBe(1);
    const bad = await scoresOf(invented.id);
    expect(bad.find((s) => s.scorer === 'groundedness')!.score).toBeLessThan(0.7);
    expect(bad.find((s) => s.scorer === 'contains')!.score).toBe(0);
    for (const r of [failed, shadow, other]) expect(await scoresOf(r.id)).toEqual([]);
    expect(online.stats()).toMatchObject({ sampled: 2, scored: 2, shed: 0, failed: 0, queued: 0 });

    // The same call announced again (a replayed record) writes no second row.
    events.emit({ record: grounded, shadow: null });
    await online.drained();
    expect(await scoresOf(grounded.id)).toHaveLength(2);
    await online.stop();
  });

  it('sheds calls beyond its queue instead of growing it, and counts them', async () => {
    const events = new CallEvents();
    const online = startOnlineScoring(events, { database, routes: routes(), logger: silentLogger, maxQueued: 3 });
    // Announced in one turn of the event loop, as a burst of finishing calls would be: the
    // worker has not run yet, so only three fit.
    const burst = Array.from({ length: 10 }, (_, i) => finishedCall('kb', `The tower is 330 metres tall (${i}).`));
    for (const record of burst) events.emit({ record, shadow: null });
    expect(online.stats()).toMatchObject({ sampled: 10, shed: 7, queued: 3 });
    await online.stop();
    expect(online.stats()).toMatchObject({ scored: 3, queued: 0 });
    const written = await Promise.all(burst.map((r) => scoresOf(r.id)));
    expect(written.filter((rows) => rows.length > 0)).toHaveLength(3);
    // Bounded by bytes too: records with large bodies are shed before they add up.
    const bytesBound = startOnlineScoring(events, { database, routes: routes(), logger: silentLogger, maxQueuedBytes: 3 * 1024 * 1024 });
    const big = 'The tower is 330 metres tall. '.repeat(40_000); // ~1.2 MB answer
    for (let i = 0; i < 5; i++) events.emit({ record: finishedCall('kb', big), shadow: null });
    expect(bytesBound.stats().queued).toBeLessThanOrEqual(2);
    expect(bytesBound.stats().shed).toBeGreaterThanOrEqual(3);
    expect(bytesBound.stats().queued_bytes).toBeLessThanOrEqual(3 * 1024 * 1024);
    await bytesBound.stop();
    expect(bytesBound.stats().queued_bytes).toBe(0);
    // After stop, nothing more is taken.
    events.emit({ record: finishedCall('kb', 'late'), shadow: null });
    expect(online.stats().sampled).toBe(10);
  });
});
