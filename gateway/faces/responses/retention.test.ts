import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { rowsOf, type Database } from '../../db/client.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { silentLogger } from '../../logger.ts';
import { testDatabases } from '../../../test/helpers/test-db.ts';
import { ResponsesRetention } from './retention.ts';
import { responses } from './schema.ts';
import { ResponsesStore, type NewResponse } from './store.ts';
import { newResponseId } from './to-response.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const OWNER = { id: uuidv7(), scope: 'inference' as const };

function turnAt(createdAt: number, previous: string | null = null): NewResponse {
  const id = newResponseId();
  return {
    id,
    createdAt: new Date(createdAt),
    previousResponseId: previous,
    model: 'gpt-4o-mini',
    request: { model: 'gpt-4o-mini', input: 'hi' },
    inputItems: [{ type: 'message', role: 'user', content: 'hi' }],
    outputItems: [],
    response: { id, object: 'response' } as unknown as NewResponse['response'],
    callId: uuidv7(),
    apiKeyId: OWNER.id,
  };
}

describe.each(testDatabases())('ResponsesRetention on $kind', (target) => {
  let database: Database;
  const ids = async (): Promise<string[]> =>
    rowsOf<{ id: string }>(await database.db.execute(sql`select id from ${responses} order by created_at, id`)).map((r) => r.id);

  beforeAll(async () => {
    database = await target.open();
  });
  beforeEach(async () => {
    await database.db.delete(responses);
  });
  afterAll(async () => {
    await database?.close();
  });

  const retention = (over: Partial<ConstructorParameters<typeof ResponsesRetention>[0]> = {}) =>
    new ResponsesRetention({ database, retentionDays: 30, logger: silentLogger, now: () => NOW, ...over });

  it('deletes responses older than retention_days and keeps the rest', async () => {
    const store = new ResponsesStore(database);
    const old = [];
    for (let i = 0; i < 5; i++) old.push((await store.save(turnAt(NOW - 40 * DAY + i))).id);
    const justInside = (await store.save(turnAt(NOW - 30 * DAY + 60_000))).id;
    const recent = (await store.save(turnAt(NOW - DAY))).id;

    expect(await retention({ batchSize: 2 }).runOnce()).toEqual({ deleted: 5, complete: true });
    expect(await ids()).toEqual([justInside, recent]);
    expect(await retention().runOnce()).toEqual({ deleted: 0, complete: true });
  });

  it('works in bounded batches: a run stops after maxBatches and the next run carries on', async () => {
    const store = new ResponsesStore(database);
    for (let i = 0; i < 5; i++) await store.save(turnAt(NOW - 100 * DAY + i));
    const job = retention({ batchSize: 2, maxBatches: 2 });
    expect(await job.runOnce()).toEqual({ deleted: 4, complete: false });
    expect(await ids()).toHaveLength(1);
    expect(await job.runOnce()).toEqual({ deleted: 1, complete: true });
    expect(await ids()).toEqual([]);
  });

  it('a chain whose earlier turn was deleted cannot be continued (404 naming it)', async () => {
    const writer = new ResponsesStore(database);
    const first = await writer.save(turnAt(NOW - 31 * DAY));
    const second = await writer.save(turnAt(NOW - DAY, first.id));
    await retention().runOnce();
    const err = await new ResponsesStore(database).chain(second.id, OWNER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'not_found', param: 'previous_response_id' });
    expect((err as Error).message).toContain(first.id);
  });

  it('start() runs once in the background and stop() waits for it; a bad retention is refused', async () => {
    await new ResponsesStore(database).save(turnAt(NOW - 60 * DAY));
    const job = retention({ intervalMs: 3_600_000 });
    job.start();
    await job.stop();
    expect(await ids()).toEqual([]);
    expect(() => retention({ retentionDays: 0 })).toThrow(/retention_days/);
  });
});
