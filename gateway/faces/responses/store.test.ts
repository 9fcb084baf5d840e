import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../../db/client.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { testDatabases } from '../../../test/helpers/test-db.ts';
import { normalizeInput } from './from-responses-request.ts';
import { parseResponsesRequest } from './responses-schema.ts';
import { ResponsesStore, type StoredResponse } from './store.ts';
import { newResponseId, toResponse } from './to-response.ts';

/** A stored turn answering `text`, continuing `previous`. */
function turn(previous: string | null, input: string, text: string): StoredResponse {
  const id = newResponseId();
  const body = { model: 'gpt-4o-mini', input, ...(previous ? { previous_response_id: previous } : {}) };
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

  it('saves and gets a response, round-tripping every field (from Postgres, not only the cache)', async () => {
    const a = turn(null, 'Hi', 'Hello!');
    await new ResponsesStore(database).save(a);
    const fresh = new ResponsesStore(database); // empty cache: reads the row
    expect(await fresh.get(a.id)).toEqual(a);
    expect(await fresh.get('resp_missing')).toBeNull();
  });

  it('save is idempotent', async () => {
    const store = new ResponsesStore(database);
    const a = turn(null, 'Hi', 'Hello!');
    await store.save(a);
    await store.save({ ...a, model: 'changed' });
    expect((await new ResponsesStore(database).get(a.id))?.model).toBe('gpt-4o-mini');
  });

  it('chain() walks previous_response_id links, oldest first, from Postgres and from the cache', async () => {
    const writer = new ResponsesStore(database);
    const t1 = turn(null, 'one', '1');
    const t2 = turn(t1.id, 'two', '2');
    const t3 = turn(t2.id, 'three', '3');
    for (const t of [t1, t2, t3]) await writer.save(t);

    expect((await writer.chain(t3.id)).map((t) => t.id)).toEqual([t1.id, t2.id, t3.id]);
    const reader = new ResponsesStore(database);
    expect(await reader.chain(t3.id)).toEqual([t1, t2, t3]);
    expect((await reader.chain(t1.id)).map((t) => t.id)).toEqual([t1.id]);

    // Mixed: the newest turn comes from this store's cache, the older ones from Postgres.
    const t4 = turn(t3.id, 'four', '4');
    const mixed = new ResponsesStore(database);
    await mixed.save(t4);
    expect((await mixed.chain(t4.id)).map((t) => t.id)).toEqual([t1.id, t2.id, t3.id, t4.id]);
  });

  it('a missing response, or a broken link, is a 404 naming previous_response_id', async () => {
    const store = new ResponsesStore(database);
    const missing = await rejection(store.chain('resp_nope'));
    expect(missing).toMatchObject({ code: 'not_found', status: 404, param: 'previous_response_id' });
    expect(missing.message).toMatch(/resp_nope/);

    const orphan = turn('resp_deleted', 'x', 'y');
    await store.save(orphan);
    const broken = await rejection(new ResponsesStore(database).chain(orphan.id));
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
    expect((await new ResponsesStore(database).chain(prev!, 4)).length).toBe(4);
    const err = await rejection(new ResponsesStore(database).chain(prev!, 3));
    expect(err).toMatchObject({ code: 'invalid_request', param: 'previous_response_id' });
    expect(err.message).toMatch(/longer than 3/);
  });
});
