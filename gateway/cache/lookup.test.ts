import type { ChatCompletion } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { ChunkAssembler } from '../streaming/chunk-assembler.ts';
import { entryFromJson, entryFromStream, type CachedResponse } from './entry.ts';
import { cacheLookup, type LookupDeps } from './lookup.ts';
import { completionToChunks, replayJson, replaySse } from './replay.ts';
import { ResponseCache } from './response-cache.ts';
import { SingleFlight } from './single-flight.ts';
import { parallelToolCompletion, textCompletion } from '../../test/helpers/completions.ts';

const policy = { read: true, write: true, ttlSeconds: 60 };
const meta = { usage: null, costMicros: 3, createdAt: 1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deps(): LookupDeps {
  return { cache: new ResponseCache({ memoryBytes: 1_000_000 }), flights: new SingleFlight<CachedResponse>() };
}

/** A fake upstream that counts calls; `fail` makes the next call throw. */
function upstream(completion: ChatCompletion) {
  const state = { calls: 0, fail: 0 };
  return {
    state,
    async json(): Promise<{ text: string; body: Record<string, unknown> }> {
      state.calls++;
      await sleep(20);
      if (state.fail > 0) {
        state.fail--;
        throw new Error('upstream 503');
      }
      return { text: JSON.stringify(completion), body: completion as unknown as Record<string, unknown> };
    },
    /** A streamed call; `cut` drops the last chunk, as a connection dying mid-stream would. */
    async stream(cut = false): Promise<ChunkAssembler> {
      state.calls++;
      const assembler = new ChunkAssembler();
      const chunks = completionToChunks(completion, { includeUsage: false });
      for (const chunk of cut ? chunks.slice(0, -1) : chunks) {
        await sleep(2);
        assembler.add(chunk);
      }
      return assembler;
    },
  };
}

/** The pipeline's use of the API, in miniature. */
async function handle(d: LookupDeps, up: ReturnType<typeof upstream>, opts: { stream?: boolean; upstreamStreams?: boolean; cut?: boolean } = {}) {
  const lookup = await cacheLookup(d, 'key', policy);
  if (lookup.status === 'hit') {
    return { status: lookup.status, source: lookup.source, body: opts.stream ? replaySse(lookup.entry, { includeUsage: false }) : replayJson(lookup.entry) };
  }
  try {
    if (opts.upstreamStreams) {
      const assembler = await up.stream(opts.cut);
      lookup.complete(entryFromStream(assembler, meta));
      return { status: lookup.status, source: 'upstream', body: JSON.stringify(assembler.toCompletion()) };
    }
    const result = await up.json();
    lookup.complete(entryFromJson(result.text, result.body, meta));
    return { status: lookup.status, source: 'upstream', body: result.text };
  } catch (err) {
    lookup.abandon();
    throw err;
  }
}

describe('cacheLookup', () => {
  it('N concurrent identical misses make one upstream call; all get the same answer', async () => {
    const d = deps();
    const up = upstream(textCompletion('one answer'));
    const results = await Promise.all(Array.from({ length: 10 }, () => handle(d, up)));
    expect(up.state.calls).toBe(1);
    expect(new Set(results.map((r) => r.body)).size).toBe(1);
    expect(results.filter((r) => r.status === 'miss')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'hit' && r.source === 'flight')).toHaveLength(9);
    expect(d.cache.stats()).toMatchObject({ hits: 9, flightHits: 9, misses: 1 });
    // The answer is now cached.
    expect(await handle(d, up)).toMatchObject({ status: 'hit', source: 'memory' });
    expect(up.state.calls).toBe(1);
  });

  it('followers of a streaming leader are served once its stream completed, as JSON or SSE', async () => {
    const d = deps();
    const up = upstream(parallelToolCompletion());
    const [leader, json, sse] = await Promise.all([handle(d, up, { upstreamStreams: true }), handle(d, up), handle(d, up, { stream: true })]);
    expect(up.state.calls).toBe(1);
    expect(leader.status).toBe('miss');
    expect(JSON.parse(json.body)).toEqual(JSON.parse(leader.body));
    expect(sse.body).toContain('"name":"weather"');
    expect(sse.body.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('a failing leader does not fail its followers: each goes upstream on its own', async () => {
    const d = deps();
    const up = upstream(textCompletion('ok'));
    up.state.fail = 1;
    const settled = await Promise.allSettled(Array.from({ length: 4 }, () => handle(d, up)));
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(1);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(3);
    expect(up.state.calls).toBe(4);
    expect(d.flights.inFlight).toBe(0);
  });

  it('never stores an error or a truncated stream', async () => {
    const d = deps();
    const up = upstream(textCompletion('complete'));
    await handle(d, up, { upstreamStreams: true, cut: true });
    expect(await d.cache.peek('key')).toBeUndefined();
    const errorUp = upstream({ error: { message: 'overloaded' } } as unknown as ChatCompletion);
    await handle(d, errorUp);
    expect(await d.cache.peek('key')).toBeUndefined();
    await handle(d, up);
    expect(await d.cache.peek('key')).toBeDefined();
  });

  it('bypasses the lookup when the policy does not read, and stores only when it writes', async () => {
    const d = deps();
    const up = upstream(textCompletion('fresh'));
    const refresh = await cacheLookup(d, 'key', { read: false, write: true, ttlSeconds: 60 });
    expect(refresh.status).toBe('bypass');
    if (refresh.status === 'hit') throw new Error('unexpected hit');
    const r = await up.json();
    refresh.complete(entryFromJson(r.text, r.body, meta));
    expect(await d.cache.peek('key')).toBeDefined();

    const d2 = deps();
    const readOnly = await cacheLookup(d2, 'key', { read: true, write: false, ttlSeconds: 60 });
    if (readOnly.status === 'hit') throw new Error('unexpected hit');
    readOnly.complete(entryFromJson(r.text, r.body, meta));
    expect(await d2.cache.peek('key')).toBeUndefined();
    expect(d.flights.inFlight + d2.flights.inFlight).toBe(0);
  });
});
