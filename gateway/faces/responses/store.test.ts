import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { compilePayloadPolicy } from '../../calls/payloads.ts';
import type { Database } from '../../db/client.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { testDatabases } from '../../../test/helpers/test-db.ts';
import { fromResponsesRequest, normalizeInput } from './from-responses-request.ts';
import { parseResponsesRequest } from './responses-schema.ts';
import { responses } from './schema.ts';
import { ResponsesStore, type NewResponse, type ResponseReader } from './store.ts';
import { newResponseId, toResponse } from './to-response.ts';

const KEY_A = uuidv7();
const KEY_B = uuidv7();
const readerA: ResponseReader = { id: KEY_A, scope: 'inference' };
const readerB: ResponseReader = { id: KEY_B, scope: 'inference' };
const envAdmin: ResponseReader = { id: null, scope: 'admin' };
const adminKey: ResponseReader = { id: uuidv7(), scope: 'admin' };

/** A turn answering `text`, continuing `previous`, created by `owner` (null = env admin key). */
function turn(previous: string | null, input: string, text: string, owner: string | null = KEY_A, extra: Record<string, unknown> = {}): NewResponse {
  const id = newResponseId();
  const body = { model: 'gpt-4o-mini', input, ...(previous ? { previous_response_id: previous } : {}), ...extra };
  const request = parseResponsesRequest(body);
  const response = toResponse(
    {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 0,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    },
    { id, createdAt: 1_767_225_600, request, previousResponseId: previous },
  );
  return {
    id,
    createdAt: new Date('2026-01-01T00:00:00.000Z'),
    previousResponseId: previous,
    model: 'gpt-4o-mini',
    request: body,
    inputItems: normalizeInput(request.input),
    outputItems: response.output,
    response,
    callId: uuidv7(),
    apiKeyId: owner,
  };
}

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

describe.each(testDatabases())('ResponsesStore on $kind', (target) => {
  let database: Database;

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  const rawRow = async (id: string) => (await database.db.select().from(responses).where(eq(responses.id, id)))[0]!;

  it('saves and gets a response, round-tripping every field (from Postgres, not only the cache)', async () => {
    const a = turn(null, 'Hi', 'Hello!');
    const stored = await new ResponsesStore(database).save(a);
    expect(stored).toMatchObject({ ...a, truncated: false });
    expect(stored.storedBytes).toBeGreaterThan(0);
    const fresh = new ResponsesStore(database); // empty cache: reads the row
    expect(await fresh.get(a.id, readerA)).toEqual(stored);
    expect(await fresh.get('resp_missing', readerA)).toBeNull();
    expect(await fresh.get(`resp_${'x'.repeat(5000)}`, envAdmin)).toBeNull();
  });

  it('save is idempotent', async () => {
    const store = new ResponsesStore(database);
    const a = turn(null, 'Hi', 'Hello!');
    await store.save(a);
    await store.save({ ...a, model: 'changed' });
    expect((await store.get(a.id, readerA))?.model).toBe('gpt-4o-mini');
    expect((await new ResponsesStore(database).get(a.id, readerA))?.model).toBe('gpt-4o-mini');
  });

  it('a response is visible to the key that created it and to admin-scope keys only', async () => {
    const writer = new ResponsesStore(database);
    const mine = turn(null, 'mine', 'ok', KEY_A);
    const byEnvAdmin = turn(null, 'admin', 'ok', null);
    await writer.save(mine);
    await writer.save(byEnvAdmin);
    for (const store of [writer, new ResponsesStore(database)]) {
      expect((await store.get(mine.id, readerA))?.id).toBe(mine.id);
      expect(await store.get(mine.id, readerB)).toBeNull();
      expect((await store.get(mine.id, envAdmin))?.id).toBe(mine.id);
      expect((await store.get(mine.id, adminKey))?.id).toBe(mine.id);
      expect(await store.get(byEnvAdmin.id, readerA)).toBeNull();
      expect((await store.get(byEnvAdmin.id, adminKey))?.id).toBe(byEnvAdmin.id);
    }
    expect((await rawRow(mine.id)).apiKeyId).toBe(KEY_A);
    expect((await rawRow(byEnvAdmin.id)).apiKeyId).toBeNull();
  });

  it("another key continuing a chain gets the same 404 as for an id that does not exist, from memory and from Postgres", async () => {
    const writer = new ResponsesStore(database);
    const t1 = turn(null, 'one', '1', KEY_A);
    const t2 = turn(t1.id, 'two', '2', KEY_A);
    await writer.save(t1);
    await writer.save(t2);
    for (const store of [writer, new ResponsesStore(database)]) {
      const err = await rejection(store.chain(t2.id, readerB));
      expect(err).toMatchObject({ code: 'not_found', status: 404, param: 'previous_response_id' });
      const missing = await rejection(store.chain('resp_nope', readerB));
      expect(err.message.replace(t2.id, 'X')).toBe(missing.message.replace('resp_nope', 'X'));
      expect((await store.chain(t2.id, readerA)).map((t) => t.id)).toEqual([t1.id, t2.id]);
      expect((await store.chain(t2.id, adminKey)).map((t) => t.id)).toEqual([t1.id, t2.id]);
    }
    // An admin continued A's conversation: A cannot continue past the admin's turn.
    const t3 = turn(t2.id, 'three', '3', null);
    await writer.save(t3);
    expect((await rejection(new ResponsesStore(database).chain(t3.id, readerA))).code).toBe('not_found');
    expect(await new ResponsesStore(database).chain(t3.id, envAdmin)).toHaveLength(3);
  });

  it('chain() walks previous_response_id links, oldest first, from Postgres and from the cache', async () => {
    const writer = new ResponsesStore(database);
    const t1 = turn(null, 'one', '1');
    const t2 = turn(t1.id, 'two', '2');
    const t3 = turn(t2.id, 'three', '3');
    const saved = [];
    for (const t of [t1, t2, t3]) saved.push(await writer.save(t));

    expect((await writer.chain(t3.id, readerA)).map((t) => t.id)).toEqual([t1.id, t2.id, t3.id]);
    const reader = new ResponsesStore(database);
    expect(await reader.chain(t3.id, readerA)).toEqual(saved);
    expect((await reader.chain(t1.id, readerA)).map((t) => t.id)).toEqual([t1.id]);

    // Mixed: the newest turn comes from this store's cache, the older ones from Postgres.
    const t4 = turn(t3.id, 'four', '4');
    const mixed = new ResponsesStore(database);
    await mixed.save(t4);
    expect((await mixed.chain(t4.id, readerA)).map((t) => t.id)).toEqual([t1.id, t2.id, t3.id, t4.id]);
  });

  it('a missing response, or a broken link, is a 404 naming previous_response_id', async () => {
    const store = new ResponsesStore(database);
    const missing = await rejection(store.chain('resp_nope', readerA));
    expect(missing).toMatchObject({ code: 'not_found', status: 404, param: 'previous_response_id' });
    expect(missing.message).toMatch(/resp_nope/);

    const orphan = turn('resp_deleted', 'x', 'y');
    await store.save(orphan);
    const broken = await rejection(new ResponsesStore(database).chain(orphan.id, readerA));
    expect(broken).toMatchObject({ code: 'not_found', param: 'previous_response_id' });
    expect(broken.message).toMatch(/resp_deleted.*earlier response/);
  });

  it('a chain longer than maxDepth is a 400', async () => {
    const store = new ResponsesStore(database);
    let prev: string | null = null;
    for (let i = 0; i < 4; i++) {
      const t = turn(prev, `m${i}`, `r${i}`);
      await store.save(t);
      prev = t.id;
    }
    expect((await new ResponsesStore(database).chain(prev!, readerA, 4)).length).toBe(4);
    const err = await rejection(new ResponsesStore(database).chain(prev!, readerA, 3));
    expect(err).toMatchObject({ code: 'invalid_request', param: 'previous_response_id' });
    expect(err.message).toMatch(/longer than 3/);
  });

  it('stores turns redacted like the call log: credential fields, key-shaped strings, configured patterns', async () => {
    const policy = compilePayloadPolicy({ enabled: true, maxBytes: 64 * 1024, redactFields: ['ssn'], redactPatterns: ['\\d{4}-\\d{4}-\\d{4}-\\d{4}'] });
    const store = new ResponsesStore(database, { policy });
    const secretKey = 'sk-proj-SECRETsecret1234567890';
    const t = turn(null, `my key is ${secretKey}, card 4111-1111-1111-1111`, 'noted', KEY_A, {
      metadata: { api_key: 'meta-secret-value', ssn: '078-05-1120' },
    });
    const stored = await store.save(t);
    const row = await rawRow(t.id);
    const text = JSON.stringify(row);
    for (const secret of [secretKey, '4111-1111-1111-1111', 'meta-secret-value', '078-05-1120']) expect(text).not.toContain(secret);
    expect(JSON.stringify(row.inputItems)).toContain('my key is [redacted], card [redacted]');
    expect(row.request).toMatchObject({ metadata: { api_key: '[redacted]', ssn: '[redacted]' } });
    // The cache holds the same stored form as the row, so every instance replays the same thing.
    expect(stored.inputItems).toEqual(row.inputItems);
    const next = parseResponsesRequest({ model: 'gpt-4o-mini', input: 'and?', previous_response_id: t.id });
    for (const reader of [store, new ResponsesStore(database, { policy })]) {
      const replay = JSON.stringify(fromResponsesRequest(next, await reader.chain(t.id, readerA)));
      expect(replay).toContain('my key is [redacted]');
      expect(replay).not.toContain(secretKey);
    }
  });

  it('caps each stored part: a turn over the cap is kept cut, readable, and refuses continuation with a 400', async () => {
    const policy = compilePayloadPolicy({ enabled: true, maxBytes: 2048, redactFields: [], redactPatterns: [] });
    const store = new ResponsesStore(database, { policy });
    const big = turn(null, 'x'.repeat(20_000), 'short answer');
    const stored = await store.save(big);
    expect(stored.truncated).toBe(true);
    expect(stored.storedBytes).toBeLessThanOrEqual(4 * 2048);
    const row = await rawRow(big.id);
    expect(row.truncated).toBe(true);
    for (const part of [row.request, row.inputItems, row.outputItems, row.response]) {
      expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(2048);
    }
    expect(JSON.stringify(row.inputItems)).toContain('[truncated');
    expect((await new ResponsesStore(database, { policy }).get(big.id, readerA))?.id).toBe(big.id);

    const next = turn(big.id, 'small follow-up', 'ok');
    await store.save(next);
    for (const s of [store, new ResponsesStore(database, { policy })]) {
      for (const id of [big.id, next.id]) {
        const err = await rejection(s.chain(id, readerA));
        expect(err).toMatchObject({ code: 'invalid_request', status: 400, param: 'previous_response_id' });
        expect(err.message).toMatch(new RegExp(`${big.id}.*payload_max_bytes.*cannot be continued`));
      }
    }
    // A small turn is not cut.
    expect((await store.save(turn(null, 'tiny', 'ok'))).truncated).toBe(false);
  });

  it('a response past maxAgeMs is gone for every reader, cached or not, before retention deletes its row', async () => {
    const now = Date.parse('2026-03-01T00:00:00.000Z');
    const day = 86_400_000;
    const opts = { maxAgeMs: 30 * day, now: () => now };
    const old = { ...turn(null, 'old', 'o'), createdAt: new Date(now - 31 * day) };
    const young = { ...turn(old.id, 'young', 'y'), createdAt: new Date(now - day) };
    const writer = new ResponsesStore(database, opts);
    await writer.save(old);
    await writer.save(young);
    for (const store of [writer, new ResponsesStore(database, opts)]) {
      expect(await store.get(old.id, envAdmin)).toBeNull();
      expect((await store.get(young.id, readerA))?.id).toBe(young.id);
      expect(await rejection(store.chain(young.id, readerA))).toMatchObject({ code: 'not_found', param: 'previous_response_id' });
    }
    expect((await new ResponsesStore(database).chain(young.id, readerA)).map((t) => t.id)).toEqual([old.id, young.id]);
  });

  it('a chain over the byte budget is a 400, checked before any body is loaded', async () => {
    const writer = new ResponsesStore(database);
    let prev: string | null = null;
    let total = 0;
    for (let i = 0; i < 3; i++) {
      const t = turn(prev, `turn ${i} ${'y'.repeat(500)}`, `r${i}`);
      total += (await writer.save(t)).storedBytes;
      prev = t.id;
    }
    expect(await new ResponsesStore(database, { maxChainBytes: total }).chain(prev!, readerA)).toHaveLength(3);
    const err = await rejection(new ResponsesStore(database, { maxChainBytes: total - 1 }).chain(prev!, readerA));
    expect(err).toMatchObject({ code: 'invalid_request', param: 'previous_response_id' });
    expect(err.message).toMatch(/larger than/);
  });
});
