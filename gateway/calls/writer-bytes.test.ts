import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { parseConfig } from '../config/load.ts';
import type { Database } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import { toCallRow } from './call-row.ts';
import { compilePayloadPolicy } from './payloads.ts';
import type { CallRecord } from './record.ts';
import { estimateRecordBytes } from './record-size.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { calls } from './schema.ts';
import { Spiller } from './spiller.ts';
import { Spool } from './spool.ts';
import { CallLogWriter } from './writer.ts';

/**
 * Issue 14 item 7: the call-log queue is bounded by bytes as well as by count. While the
 * database is down or slow, records with large bodies fill the queue up to `queueMaxBytes`
 * (estimated), the rest goes to the spool, and every record lands once the database is back.
 */

/** The database behind a switch: `down` refuses every statement; `slow` holds them until released. */
function controllable(database: Database) {
  const state = { down: false, slow: null as Promise<void> | null, held: 0 };
  const db = new Proxy(database.db, {
    get(target, prop, receiver) {
      if (prop !== 'execute') return Reflect.get(target, prop, receiver);
      return async (query: Parameters<Database['db']['execute']>[0]) => {
        if (state.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        if (state.slow) {
          state.held++;
          await state.slow;
        }
        return target.execute(query);
      };
    },
  });
  return { state, database: { kind: database.kind, db } };
}

/** Waits for a condition (never for a fixed time). */
async function until(cond: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const payloads = { enabled: true, maxBytes: 4096, redactFields: [], redactPatterns: [] };
const LIMIT = 1024 * 1024;
// One string shared by every record: the test holds little memory, the estimate sees 200 KB each.
const BODY = 'b'.repeat(200 * 1024);
const bigRecord = (i: number): CallRecord =>
  sampleRecord({ requestBody: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: BODY }] } }, new Date(Date.now() + i));

describe('parseConfig', () => {
  it('reads logging.queue_max_bytes (default 64 MB)', () => {
    expect(parseConfig({}, {}).logging.queue_max_bytes).toBe(64 * 1024 * 1024);
    expect(parseConfig({ logging: { queue_max_bytes: 1024 } }, {}).logging.queue_max_bytes).toBe(1024);
    expect(() => parseConfig({ logging: { queue_max_bytes: 0 } }, {})).toThrow(/queue_max_bytes/);
  });
});

describe.each(testDatabases())('CallLogWriter byte bound on $kind', (target) => {
  let database: Database;
  let spoolDir: string;
  const writers: CallLogWriter[] = [];
  const rowCount = async (): Promise<number> => (await database.db.select({ n: count() }).from(calls))[0]!.n;

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'sluice-spool-bytes-'));
    await database.db.execute(sql`truncate calls, call_payloads`);
  });
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close();
    await rm(spoolDir, { recursive: true, force: true });
  });

  it.each(['down', 'slow'] as const)('keeps at most queueMaxBytes in memory while the database is %s, spools the rest, loses nothing', async (mode) => {
    const c = controllable(database);
    let release = (): void => {};
    if (mode === 'down') c.state.down = true;
    else c.state.slow = new Promise<void>((r) => (release = r));
    const w = new CallLogWriter({
      database: c.database,
      spoolDir,
      payloads,
      logger: silentLogger,
      queueMaxBytes: LIMIT,
      batchSize: 4,
      flushMs: 5,
      backoff: { initialMs: 5, maxMs: 20 },
    });
    writers.push(w);
    w.start();

    const N = 60;
    const each = estimateRecordBytes(bigRecord(0));
    expect(each).toBeGreaterThan(BODY.length);
    let maxQueued = 0;
    for (let i = 0; i < N; i++) {
      w.enqueue(bigRecord(i));
      maxQueued = Math.max(maxQueued, w.stats().queuedBytes);
      // Let the writer take batches (and fail or hang on them) between arrivals.
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 2));
    }
    maxQueued = Math.max(maxQueued, w.stats().queuedBytes);
    expect(maxQueued).toBeLessThanOrEqual(LIMIT);
    // Without the byte bound all 60 (12 MB estimated) would sit in memory: the count bound is 50,000.
    const held = Math.floor(LIMIT / each);
    if (mode === 'down') await expect(w.flush()).rejects.toThrow(/ECONNREFUSED/);
    else {
      expect(c.state.held).toBeGreaterThan(0); // batches really are waiting on the database
      await until(() => w.stats().spillingBytes === 0);
    }
    const spilled = w.stats();
    expect(spilled.queuedBytes).toBeLessThanOrEqual(LIMIT);
    expect(spilled.queued).toBeLessThanOrEqual(held);
    expect(spilled.spooled).toBeGreaterThanOrEqual(N - held);
    expect(spilled.dropped).toBe(0);
    const files = (await readdir(spoolDir)).filter((f) => f.startsWith('calls-'));
    expect(files.length).toBeGreaterThan(0);

    // The database comes back: every record is in, from memory or from the spool.
    c.state.down = false;
    c.state.slow = null;
    release();
    await w.flush();
    expect(await rowCount()).toBe(N);
    expect(w.stats()).toMatchObject({ queued: 0, queuedBytes: 0, spillingBytes: 0, dropped: 0 });
    const s = w.stats();
    expect(s.written + s.replayed).toBe(N);
    expect(s.replayed).toBeGreaterThanOrEqual(N - held);
  });

  it('sends a record larger than the whole bound straight to the spool', async () => {
    const c = controllable(database);
    c.state.down = true;
    const w = new CallLogWriter({ database: c.database, spoolDir, payloads, logger: silentLogger, queueMaxBytes: 100 * 1024 });
    writers.push(w);
    w.enqueue(bigRecord(0));
    expect(w.stats()).toMatchObject({ queuedBytes: 0 });
    expect(w.stats().spillingBytes).toBeGreaterThan(200 * 1024);
    await expect(w.flush()).rejects.toThrow(/ECONNREFUSED/); // its replay fails while the database is down
    expect(w.stats()).toMatchObject({ queued: 0, spooled: 1, spillingBytes: 0 });
    c.state.down = false;
    await w.flush();
    expect(await rowCount()).toBe(1);
    expect(w.stats()).toMatchObject({ spooled: 1, replayed: 1, spillingBytes: 0 });
  });

  it('spools rows already redacted and capped: no secret reaches the spool file', async () => {
    const c = controllable(database);
    c.state.down = true;
    const w = new CallLogWriter({
      database: c.database,
      spoolDir,
      payloads: { ...payloads, redactPatterns: ['\\d{16}'], secrets: ['tenant-header-token-77'] },
      logger: silentLogger,
      queueMax: 1,
      closeTimeoutMs: 200,
    });
    writers.push(w);
    const secretRecord = (i: number) =>
      sampleRecord(
        {
          user: 'dave sk-live-abcdef123456',
          metadata: { api_key: 'sk-live-abcdef123456', note: 'card 4111111111111111', blob: 'q'.repeat(100_000) },
          errorMessage: 'upstream said: header tenant-header-token-77 is invalid',
          requestBody: { messages: [{ role: 'user', content: 'card 4111111111111111' }], api_key: 'plain-text-key' },
        },
        new Date(Date.now() + i),
      );
    for (let i = 0; i < 5; i++) w.enqueue(secretRecord(i)); // 1 queued, 4 spilled
    await w.close(); // and the queued one goes to the spool at close
    const text = (await Promise.all((await readdir(spoolDir)).map((f) => readFile(join(spoolDir, f), 'utf8')))).join('');
    expect(text.trim().split('\n')).toHaveLength(5);
    for (const secret of ['abcdef123456', '4111111111111111', 'tenant-header-token-77', 'plain-text-key']) expect(text).not.toContain(secret);
    expect(text).not.toContain('q'.repeat(2000));
  });
});

describe('Spiller', () => {
  it('writes synchronously when rows waiting for a slow disk would pass the bound', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-spill-'));
    let open = (): void => {};
    const gate = new Promise<void>((r) => (open = r));
    class SlowSpool extends Spool {
      override async append(lines: readonly string[]): Promise<void> {
        await gate;
        return super.append(lines);
      }
    }
    const spool = new SlowSpool({ dir, maxFileBytes: 64 * 1024 * 1024, now: Date.now });
    const policy = compilePayloadPolicy({ ...payloads, maxBytes: 64 * 1024 });
    const counters = { spooled: 0, dropped: 0 };
    const recs = Array.from({ length: 6 }, (_, i) => sampleRecord({ requestBody: { content: 'p'.repeat(20_000) } }, new Date(Date.now() + i)));
    const rowChars = toCallRow(recs[0]!, policy, Date.now()).length;
    const spiller = new Spiller({
      spool,
      prepare: (rs) => rs.map((r) => (typeof r === 'string' ? r : toCallRow(r, policy, Date.now()))),
      maxPendingChars: rowChars * 3,
      counters,
      onSpooled: () => {},
      logger: silentLogger,
    });
    try {
      let maxPending = 0;
      for (const r of recs) {
        spiller.add(r, estimateRecordBytes(r), 'test');
        spiller.spill();
        maxPending = Math.max(maxPending, spiller.bytes);
      }
      // Three rows fit in the bound and wait for the disk; the other three went out at once.
      expect(maxPending).toBeLessThanOrEqual(rowChars * 3);
      expect(counters.spooled).toBe(3);
      open();
      await spiller.settled();
      expect(counters).toEqual({ spooled: 6, dropped: 0 });
      expect(spiller.bytes).toBe(0);
      await spool.close();
      const text = (await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f), 'utf8')))).join('');
      for (const r of recs) expect(text).toContain(r.id);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
