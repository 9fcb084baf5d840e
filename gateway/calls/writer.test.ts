import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { testDatabases } from '../../test/helpers/test-db.ts';
import type { Database } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import type { CallRecord } from './record.ts';
import { toCallRow } from './call-row.ts';
import { compilePayloadPolicy } from './payloads.ts';
import { rowObject } from './row-fields.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { callPayloads, calls } from './schema.ts';
import { CallLogWriter, type CallLogWriterOptions } from './writer.ts';

/** The database behind a switch: while `down`, every statement fails like a refused connection. */
function switchable(database: Database) {
  const state = { down: false };
  const db = new Proxy(database.db, {
    get(target, prop, receiver) {
      if (prop !== 'execute') return Reflect.get(target, prop, receiver);
      return (query: Parameters<Database['db']['execute']>[0]) =>
        state.down
          ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))
          : target.execute(query);
    },
  });
  return { state, database: { kind: database.kind, db } };
}

const payloads = { enabled: true, maxBytes: 4096, redactFields: ['api_key', 'authorization'], redactPatterns: [] };

describe.each(testDatabases())('CallLogWriter on $kind', (target) => {
  let database: Database;
  let spoolDir: string;
  const writers: CallLogWriter[] = [];

  const writer = (opts: Partial<CallLogWriterOptions> = {}): CallLogWriter => {
    const w = new CallLogWriter({ database, spoolDir, payloads, logger: silentLogger, flushMs: 20, ...opts });
    writers.push(w);
    return w;
  };
  const rowCount = async (): Promise<number> => (await database.db.select({ n: count() }).from(calls))[0]!.n;
  const spoolFiles = async (): Promise<string[]> => (await readdir(spoolDir)).filter((f) => f.startsWith('calls-'));

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'sluice-spool-'));
    await database.db.execute(sql`truncate calls, call_payloads`);
  });
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close();
    await rm(spoolDir, { recursive: true, force: true });
  });

  it('writes N concurrently enqueued records exactly once, with their fields', async () => {
    const w = writer({ batchSize: 64 });
    w.start();
    const N = 1500;
    const base = Date.now();
    await Promise.all(
      Array.from({ length: 15 }, async (_, p) => {
        for (let i = 0; i < N / 15; i++) {
          w.enqueue(sampleRecord({ user: `u${p}` }, new Date(base + p * 1000 + i)));
          if (i % 10 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
    await w.flush();
    expect(await rowCount()).toBe(N);
    expect((await database.db.select({ n: count() }).from(callPayloads))[0]!.n).toBe(N);
    expect(w.stats()).toMatchObject({ queued: 0, written: N, spooled: 0, dropped: 0, failedBatches: 0 });

    const rec = sampleRecord(
      {
        status: 'upstream_error',
        httpStatus: 502,
        errorCode: 'upstream_error',
        errorMessage: 'Incorrect API key provided: sk-proj-ABCDEFGH1234',
        stream: true,
        ttftMs: 12.5,
        usage: null,
        costMicros: null,
        costStatus: 'unpriced',
        retrievedDocIds: ['doc-1', 'doc-2'],
        metadata: { team: 'a', ticket: '42' },
        promptVersion: null,
      },
      new Date('2030-01-02T03:04:05.678Z'),
    );
    w.enqueue(rec);
    await w.flush();
    const [row] = await database.db.select().from(calls).where(eq(calls.id, rec.id));
    expect(row).toMatchObject({
      requestId: rec.requestId,
      startedAt: rec.startedAt,
      endpoint: 'chat.completions',
      apiKeyId: rec.apiKeyId,
      route: 'support-bot',
      variant: 'control',
      shadow: false,
      provider: 'openai',
      model: 'gpt-4o-mini',
      promptName: 'support',
      promptVersion: null,
      stream: true,
      status: 'upstream_error',
      httpStatus: 502,
      errorCode: 'upstream_error',
      errorMessage: 'Incorrect API key provided: [redacted]',
      attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 200, error: null, latency_ms: 412.5 }],
      latencyMs: 415.25,
      ttftMs: 12.5,
      inputTokens: null,
      outputTokens: null,
      costMicros: null,
      costStatus: 'unpriced',
      cacheStatus: 'miss',
      user: 'user-42',
      metadata: { team: 'a', ticket: '42' },
      retrievedDocIds: ['doc-1', 'doc-2'],
    });
  });

  it('stores usage and cost, and the payload capped, redacted and scrubbed', async () => {
    const w = writer({ payloads: { ...payloads, maxBytes: 1024 } });
    const rec = sampleRecord({
      requestBody: {
        model: 'support-bot',
        api_key: 'plain-secret-value',
        headers: { Authorization: 'Bearer sk-sluice-abcdef123456' },
        messages: [{ role: 'user', content: `use sk-ant-api03-XXXXXXXXXXXX and sk-abcdefghij please ${'z'.repeat(5000)}` }],
      },
    });
    w.enqueue(rec);
    await w.flush();
    const [row] = await database.db.select().from(calls).where(eq(calls.id, rec.id));
    expect(row).toMatchObject({ inputTokens: 120, outputTokens: 48, cachedTokens: 0, reasoningTokens: 0, costStatus: 'exact' });
    expect(Number(row!.costMicros)).toBeCloseTo(46.8);
    const [p] = await database.db
      .select({ request: sql<string>`${callPayloads.request}::text`, response: callPayloads.response, truncated: callPayloads.truncated })
      .from(callPayloads)
      .where(eq(callPayloads.callId, rec.id));
    expect(p!.truncated).toBe(true);
    expect(p!.request).not.toMatch(/sk-/);
    expect(p!.request).not.toContain('plain-secret-value');
    expect(p!.request).toContain('"model": "support-bot"');
    expect(p!.response).toEqual(rec.responseBody);
  });

  it('keeps one row when the same record arrives twice (replays are idempotent)', async () => {
    const w = writer();
    const rec = sampleRecord();
    w.enqueue(rec);
    w.enqueue(rec);
    await w.flush();
    w.enqueue(rec);
    await w.flush();
    expect(await rowCount()).toBe(1);
    expect(w.stats().written).toBe(3);
  });

  it('spills past queueMax to the spool while the database is down, and replays it on recovery', async () => {
    const s = switchable(database);
    const w = writer({ database: s.database, queueMax: 50, batchSize: 20, backoff: { initialMs: 5, maxMs: 20 } });
    w.start();
    s.state.down = true;
    const recs = Array.from({ length: 300 }, (_, i) => sampleRecord({}, new Date(Date.now() + i)));
    for (const r of recs) w.enqueue(r);
    await expect(w.flush()).rejects.toThrow(/ECONNREFUSED/);
    const during = w.stats();
    expect(during.spooled).toBe(250);
    expect(during.queued).toBe(50);
    expect(during.failedBatches).toBeGreaterThan(0);
    expect(during.lastError).toMatch(/ECONNREFUSED/);
    expect(await spoolFiles()).toHaveLength(1);

    s.state.down = false;
    await w.flush();
    expect(await rowCount()).toBe(300);
    expect(w.stats()).toMatchObject({ queued: 0, written: 50, replayed: 250, dropped: 0 });
    expect(await spoolFiles()).toHaveLength(0);
  });

  it('rotates the spool by size and replays every file', async () => {
    const s = switchable(database);
    const w = writer({ database: s.database, queueMax: 10, spoolFileMaxBytes: 8 * 1024, backoff: { initialMs: 5, maxMs: 20 } });
    s.state.down = true;
    for (let i = 0; i < 20; i++) w.enqueue(sampleRecord());
    await new Promise((r) => setImmediate(r)); // spill
    for (let i = 0; i < 20; i++) w.enqueue(sampleRecord());
    await expect(w.flush()).rejects.toThrow();
    expect((await spoolFiles()).length).toBeGreaterThan(1);
    s.state.down = false;
    await w.flush();
    expect(await rowCount()).toBe(40);
    expect(w.stats()).toMatchObject({ spooled: 30, replayed: 30, written: 10, dropped: 0 });
    expect(await spoolFiles()).toHaveLength(0);
  });

  it('counts and logs records it cannot spool (the only way one is dropped)', async () => {
    const s = switchable(database);
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const blocker = join(spoolDir, 'not-a-dir');
    await writeFile(blocker, '');
    const w = writer({ database: s.database, spoolDir: join(blocker, 'spool'), queueMax: 5, logger, closeTimeoutMs: 200 });
    s.state.down = true;
    for (let i = 0; i < 12; i++) w.enqueue(sampleRecord());
    await expect(w.flush()).rejects.toThrow();
    expect(w.stats()).toMatchObject({ dropped: 7, spooled: 0, queued: 5 });
    expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('records dropped'), expect.objectContaining({ count: 7 }));
    await w.close();
    expect(w.stats()).toMatchObject({ dropped: 12, queued: 0 });
  });

  it('replays a spool left open by a dead process, skipping its torn last line', async () => {
    const policy = compilePayloadPolicy(payloads);
    const rows = Array.from({ length: 25 }, () => toCallRow(sampleRecord(), policy, Date.now()));
    const torn = toCallRow(sampleRecord(), policy, Date.now()).slice(0, 100);
    // pid 2^22 + 1 is above Linux's pid_max, so that process cannot be alive.
    await writeFile(join(spoolDir, `calls-1-${2 ** 22 + 1}-0.jsonl.open`), `${rows.join('\n')}\n${torn}`);
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const w = writer({ logger });
    w.start();
    await w.flush();
    expect(await rowCount()).toBe(25);
    expect(w.stats()).toMatchObject({ replayed: 25, dropped: 1 });
    expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('torn line'), expect.any(Object));
    expect(await spoolFiles()).toHaveLength(0);
  });

  it('leaves a spool file in a row format it does not read where it is, says so once, and replays the rest', async () => {
    const policy = compilePayloadPolicy(payloads);
    const line = () => toCallRow(sampleRecord(), policy, Date.now());
    const later = `calls-1-${2 ** 22 + 1}-0.r9.jsonl`;
    await writeFile(join(spoolDir, later), `${line()}\n`);
    await writeFile(join(spoolDir, `calls-2-${2 ** 22 + 1}-1.r2.jsonl.open`), `${line()}\n${line()}\n`);
    await writeFile(join(spoolDir, `calls-3-${2 ** 22 + 1}-2.jsonl`), `${line()}\n`);
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const w = writer({ logger });
    w.start();
    await w.flush();
    await w.flush();
    expect(w.stats()).toMatchObject({ replayed: 3, dropped: 0 });
    expect(await rowCount()).toBe(3);
    expect(await spoolFiles()).toEqual([later]);
    const foreign = logger.warn.mock.calls.filter(([message]) => String(message).includes('row format this version does not read'));
    expect(foreign).toEqual([[expect.any(String), { path: join(spoolDir, later) }]]);
  });

  it("replays an earlier version's spool (rows as keyed objects) with every field and the payloads", async () => {
    const policy = compilePayloadPolicy(payloads);
    const records = Array.from({ length: 10 }, (_, i) => sampleRecord({ user: `legacy-${i}`, ttftMs: i, route: i % 2 ? 'r-odd' : null }));
    const legacy = records.map((r) => JSON.stringify(rowObject(toCallRow(r, policy, Date.now()))));
    expect(legacy[0]!.startsWith('{"id":')).toBe(true);
    await writeFile(join(spoolDir, `calls-1-${2 ** 22 + 1}-0.jsonl`), `${legacy.join('\n')}\n`);
    const w = writer();
    w.start();
    await w.flush();
    expect(w.stats()).toMatchObject({ replayed: 10, dropped: 0 });
    const stored = await database.db.select({ id: calls.id, user: calls.user, ttft: calls.ttftMs, route: calls.route }).from(calls);
    expect(stored.sort((a, b) => a.user!.localeCompare(b.user!))).toEqual(
      records.map((r, i) => ({ id: r.id, user: `legacy-${i}`, ttft: i, route: i % 2 ? 'r-odd' : null })),
    );
    const bodies = await database.db.select({ request: callPayloads.request }).from(callPayloads);
    expect(bodies).toHaveLength(10);
    expect(bodies[0]!.request).toEqual(records[0]!.requestBody);
  });

  it('close() drains to the database when it answers', async () => {
    const w = writer({ batchSize: 1000, flushMs: 60_000 });
    w.start();
    for (let i = 0; i < 120; i++) w.enqueue(sampleRecord());
    await w.close();
    expect(await rowCount()).toBe(120);
    expect(w.stats()).toMatchObject({ queued: 0, written: 120 });
  });

  it('close() with the database down spools everything; the next process replays it at start', async () => {
    const s = switchable(database);
    const first = writer({ database: s.database, closeTimeoutMs: 500, backoff: { initialMs: 5, maxMs: 20 } });
    first.start();
    s.state.down = true;
    for (let i = 0; i < 80; i++) first.enqueue(sampleRecord());
    await first.close();
    expect(first.stats()).toMatchObject({ queued: 0, spooled: 80, written: 0 });
    first.enqueue(sampleRecord()); // after close: straight to the spool
    expect(first.stats().spooled).toBe(81);
    expect(await rowCount()).toBe(0);

    const second = writer();
    second.start();
    await second.flush();
    expect(await rowCount()).toBe(81);
    expect(second.stats().replayed).toBe(81);
    expect(await spoolFiles()).toHaveLength(0);
  });

  it('drops (and reports) only the row Postgres refuses, and writes the rest of its batch', async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const w = writer({ logger });
    const bad: CallRecord = sampleRecord({ apiKeyId: 'not-a-uuid' });
    for (let i = 0; i < 5; i++) w.enqueue(sampleRecord());
    w.enqueue(bad);
    for (let i = 0; i < 5; i++) w.enqueue(sampleRecord());
    await w.flush();
    expect(await rowCount()).toBe(10);
    expect(w.stats()).toMatchObject({ written: 10, dropped: 1 });
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining('rejected'),
      expect.objectContaining({ callId: bad.id }),
    );
  });

  it('stores text Postgres would refuse (NUL, lone surrogates) after cleaning it', async () => {
    const w = writer();
    const rec = sampleRecord({
      user: 'a\u0000b',
      errorMessage: 'bad \ud800 char',
      latencyMs: Number.NaN,
      requestBody: { content: 'x\u0000y\udc00' },
    });
    w.enqueue(rec);
    await w.flush();
    const [row] = await database.db.select().from(calls).where(eq(calls.id, rec.id));
    expect(row).toMatchObject({ user: 'ab', errorMessage: 'bad \ufffd char', latencyMs: 0 });
    expect(w.stats().dropped).toBe(0);
  });
});
