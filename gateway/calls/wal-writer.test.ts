import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import type { Database } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import { insertCallRows } from './insert.ts';
import { toCallRow } from './call-row.ts';
import { compilePayloadPolicy } from './payloads.ts';
import { calls } from './schema.ts';
import { segmentText } from './wal-files.ts';
import { CallLogWriter, type CallLogWriterOptions } from './writer.ts';

const payloads = { enabled: true, maxBytes: 4096, redactFields: [], redactPatterns: [] };

/**
 * The writer with its write-ahead log (issue 21). A killed process is simulated by a writer
 * that never starts (no timer, batches too large to fill): what it was given is only in its
 * memory and its log, as in a process killed before its next batch.
 */
describe.each(testDatabases())('CallLogWriter with the write-ahead log on $kind', (target) => {
  let database: Database;
  let spoolDir: string;
  const writers: CallLogWriter[] = [];

  const writer = (opts: Partial<CallLogWriterOptions> = {}): CallLogWriter => {
    const w = new CallLogWriter({ database, spoolDir, payloads, logger: silentLogger, flushMs: 20, wal: {}, ...opts });
    writers.push(w);
    return w;
  };
  /** Stands for a process killed with SIGKILL: it never writes, it is never closed. */
  const doomed = () => new CallLogWriter({ database, spoolDir, payloads, logger: silentLogger, flushMs: 1e9, batchSize: 1e6, wal: {} });
  const walFiles = async () => (await readdir(spoolDir).catch(() => [] as string[])).filter((f) => f.startsWith('wal-'));
  /** Every segment's entries, as recovery reads them (a mapped log also keeps reset segments around). */
  const walText = async () => (await Promise.all((await walFiles()).sort().map(async (f) => segmentText(await readFile(join(spoolDir, f)))))).join('');
  const rows = async () =>
    database.db.select({ id: calls.id, status: calls.status, latencyMs: calls.latencyMs, errorMessage: calls.errorMessage }).from(calls);

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'sluice-walw-'));
    await database.db.execute(sql`truncate calls, call_payloads`);
  });
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close();
    await rm(spoolDir, { recursive: true, force: true });
  });

  it('logs each record ahead when it is enqueued and forgets it once the database has it', async () => {
    const w = writer();
    w.start();
    const recs = Array.from({ length: 20 }, () => sampleRecord());
    for (const r of recs) w.enqueue(r);
    // Written ahead synchronously, before enqueue returns (so before the answer's body is sent):
    // read at once, before a batch can go in and the log is truncated.
    const segments = readdirSync(spoolDir).filter((f) => f.startsWith('wal-'));
    const ahead = segments.map((f) => segmentText(readFileSync(join(spoolDir, f)))).join('');
    expect(ahead.split('\n').filter(Boolean)).toHaveLength(20);
    await w.flush();
    expect(await rows()).toHaveLength(20);
    expect(await walText()).toBe('');
    expect(w.stats().wal).toMatchObject({ pending: 0, appended: 20, failed: 0 });
    await w.close();
    expect(await walFiles()).toEqual([]);
  });

  it('replays at the next start what a killed process had only in memory, streams included, none twice', async () => {
    const dead = doomed();
    const json = Array.from({ length: 30 }, () => sampleRecord());
    for (const r of json) dead.enqueue(r);
    // A stream answered (its last byte went out) whose record was not yet finished.
    const answered = sampleRecord({ stream: true });
    dead.streamOpened({ ...answered, responseBody: null });
    dead.streamAnswered(answered);
    // A stream the process died in the middle of.
    const cut = sampleRecord({ stream: true, latencyMs: 3 });
    dead.streamOpened({ ...cut, responseBody: null });
    // One record the database already had (committed, then killed before the log forgot it).
    await insertCallRows(database, [toCallRow(json[0]!, compilePayloadPolicy(payloads), Date.now())]);

    const next = writer();
    next.start();
    await next.flush();
    const got = await rows();
    expect(got).toHaveLength(32);
    expect(new Set(got.map((r) => r.id)).size).toBe(32);
    const byId = new Map(got.map((r) => [r.id, r]));
    expect(byId.get(answered.id)?.status).toBe('ok');
    expect(byId.get(cut.id)).toMatchObject({ status: 'interrupted', errorMessage: 'the gateway process stopped before the stream ended' });
    for (const r of json) expect(byId.get(r.id)?.status).toBe('ok');
    expect(next.stats()).toMatchObject({ replayed: 32, dropped: 0 });
    // The dead process's segments went to the spool, which was replayed and removed.
    expect((await readdir(spoolDir)).filter((f) => !f.startsWith('wal-') || !f.includes(`-${process.pid}-`))).toEqual([]);

    // A second start finds nothing more to do.
    await next.close();
    const again = writer();
    again.start();
    await again.flush();
    expect(await rows()).toHaveLength(32);
  });

  it('writes a stream ahead twice (opened, answered), not again when it finishes; a kill after the finish recovers the answered entry', async () => {
    const w = writer();
    w.start();
    const s = sampleRecord({ stream: true });
    w.streamOpened({ ...s, responseBody: null });
    w.streamAnswered({ ...s, latencyMs: 7 });
    w.enqueue({ ...s, latencyMs: 9 });
    // Read at once (synchronously), before the batch goes in and the log is truncated.
    const entries = readdirSync(spoolDir)
      .filter((f) => f.startsWith('wal-'))
      .flatMap((f) => segmentText(readFileSync(join(spoolDir, f))).split('\n').filter(Boolean));
    expect(entries.map((l) => l[0])).toEqual(['O', 'F']);
    await w.flush();
    // The batch took the finished record (built off the request path), not the entry.
    expect(await rows()).toEqual([expect.objectContaining({ id: s.id, status: 'ok', latencyMs: 9 })]);
    expect(w.stats().wal).toMatchObject({ appended: 2, pending: 0 });
    expect(await walText()).toBe('');

    const dead = doomed();
    const t = sampleRecord({ stream: true });
    dead.streamOpened({ ...t, responseBody: null });
    dead.streamAnswered({ ...t, latencyMs: 7 });
    dead.enqueue({ ...t, latencyMs: 9 });
    const next = writer();
    next.start();
    await next.flush();
    expect((await rows()).find((r) => r.id === t.id)).toMatchObject({ status: 'ok', latencyMs: 7 });
  });

  it('releases what it spools, so a long outage leaves the log empty', async () => {
    const w = writer({ queueMax: 5 });
    w.start();
    for (let i = 0; i < 12; i++) w.enqueue(sampleRecord());
    await w.flush();
    const stats = w.stats();
    expect(stats.spooled).toBeGreaterThan(0);
    expect(stats.written + stats.replayed).toBe(12);
    expect(stats.dropped).toBe(0);
    expect(await walText()).toBe('');
  });

  it('keeps answering and writing to the database when the log cannot be written (a full disk)', async () => {
    // Every write under a path whose parent is a file fails (ENOTDIR), as every write fails on a full disk.
    const blocked = join(spoolDir, 'not-a-dir');
    writeFileSync(blocked, '');
    const w = writer({ spoolDir: join(blocked, 'spool') });
    w.start();
    const recs = Array.from({ length: 10 }, () => sampleRecord());
    expect(() => recs.forEach((r) => w.enqueue(r))).not.toThrow();
    await w.flush();
    expect(await rows()).toHaveLength(10);
    expect(w.stats()).toMatchObject({ written: 10, dropped: 0, wal: { appended: 0, failed: 10, pending: 0 } });
  });

  it('writes nothing ahead when off', async () => {
    const w = writer({ wal: undefined });
    w.start();
    w.enqueue(sampleRecord());
    w.streamOpened(sampleRecord());
    await w.flush();
    expect(await walFiles()).toEqual([]);
    expect(w.stats().wal).toBeUndefined();
    // Nothing to begin during the upstream wait: the tracker schedules no work per call.
    expect(w.startRow).toBeUndefined();
    expect(writer().startRow?.(sampleRecord())).toMatchObject({ head: expect.stringMatching(/^\["[0-9a-f-]{36}",/) });
  });
});
