import { existsSync, readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, rowsOf, type Database } from '../db/client.ts';
import { createScratchDatabase } from '../../test/helpers/test-db.ts';
import { everyFieldRecord, sampleRecord } from '../../test/helpers/sample-record.ts';
import { toCallRow } from './call-row.ts';
import { BATCH_PARTS, batchParts, insertCallRows, PART_CHARS } from './insert.ts';
import { compilePayloadPolicy } from './payloads.ts';

const policy = compilePayloadPolicy({ enabled: true, maxBytes: 256 * 1024, redactFields: [], redactPatterns: [], secrets: [] });

function rows(n: number, at: number): string[] {
  return Array.from({ length: n }, (_, i) => toCallRow(sampleRecord({}, new Date(at + i)), policy, at));
}

async function warmed(database: Database): Promise<string | null> {
  const [row] = rowsOf<{ v: string | null }>(await database.db.execute(sql`select current_setting('sluice.allocator_warmed', true) as v`));
  return row?.v ?? null;
}

/** Minor page faults of a process so far (field 10 of /proc/<pid>/stat). */
const minorFaults = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7]);

describe('insertCallRows on PGlite', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({});
    await database.migrate();
  });
  afterAll(() => database.close());

  it('leaves the allocator alone: a WASM heap never shrinks, so a warm-up would only grow it', async () => {
    await insertCallRows(database, rows(3, Date.now()));
    expect(await warmed(database)).toBeNull();
  });
});

describe.skipIf(!process.env.DATABASE_URL)('insertCallRows on a Postgres server', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let database: Database;
  beforeAll(async () => {
    scratch = await createScratchDatabase(process.env.DATABASE_URL!);
    // One connection, so every statement below runs in the same backend.
    database = await openDatabase({ url: scratch.url, max: 1 });
    await database.migrate();
  });
  afterAll(async () => {
    await database.close();
    await scratch.drop();
  });

  it('warms the backend once per session, and batches then reuse its memory instead of faulting it in again', async () => {
    expect(await warmed(database)).toBeNull();
    const base = Date.now();
    await insertCallRows(database, rows(400, base));
    expect(await warmed(database)).toBe('1');
    // A new backend's first statements fill its caches and touch new pages; then it settles.
    for (let b = 1; b <= 4; b++) await insertCallRows(database, rows(400, base + b * 1000));

    const [{ pid }] = rowsOf<{ pid: number }>(await database.db.execute(sql`select pg_backend_pid() as pid`)) as [{ pid: number }];
    // The server is on this machine in CI; elsewhere its process cannot be read and the count is skipped.
    if (!existsSync(`/proc/${pid}/stat`)) return;
    const batches = Array.from({ length: 4 }, (_, b) => rows(400, base + (b + 5) * 1000));
    const before = minorFaults(pid);
    for (const batch of batches) await insertCallRows(database, batch);
    const perRow = (minorFaults(pid) - before) / 1600;
    // Without the warm-up glibc unmapped each batch's ~3 MB and the next batch faulted it back:
    // ~2 faults per row from a fresh backend (and a warm-up repeated per statement would add its
    // 16 MB, ~10 per row). What remains is the first touch of shared buffers, ~0.4 per row.
    expect(perRow).toBeLessThan(1);
  });
});

describe('batchParts', () => {
  const row = (i: number, chars: number) => `{"i":${i},"x":"${'y'.repeat(Math.max(0, chars - 14 - String(i).length))}"}`;
  const whole = (parts: string[]) => JSON.parse(`[${parts.join(',')}]`) as Array<{ i: number }>;

  it('keeps every row, in order, and each part under the large-object size unless one row is larger', () => {
    const rows = Array.from({ length: 400 }, (_, i) => row(i, 1500));
    const parts = batchParts(rows);
    expect(parts.length).toBe(Math.ceil((400 * 1501) / PART_CHARS));
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(PART_CHARS);
    expect(whole(parts).map((r) => r.i)).toEqual(rows.map((_, i) => i));
    expect(batchParts([rows[0]!])).toEqual([rows[0]]);
    expect(batchParts([])).toEqual([]);
  });

  it('gives a row larger than a part a part of its own, and puts any overflow past the last part into it', () => {
    const big = row(1, PART_CHARS * 2);
    const parts = batchParts([row(0, 100), big, row(2, 100)]);
    expect(parts).toEqual([row(0, 100), big, row(2, 100)]);
    const many = Array.from({ length: BATCH_PARTS * 3 }, (_, i) => row(i, PART_CHARS - 10));
    const packed = batchParts(many);
    expect(packed.length).toBe(BATCH_PARTS);
    expect(whole(packed).map((r) => r.i)).toEqual(many.map((_, i) => i));
  });
});

describe.each(['pglite', ...(process.env.DATABASE_URL ? ['postgres'] : [])])('a batch of many parts on %s', (kind) => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  let database: Database;
  beforeAll(async () => {
    if (kind === 'postgres') scratch = await createScratchDatabase(process.env.DATABASE_URL!);
    database = await openDatabase(scratch ? { url: scratch.url } : {});
    await database.migrate();
  });
  afterAll(async () => {
    await database.close();
    await scratch?.drop();
  });

  it('writes every row of a batch spread over all the parameters, overflow included', async () => {
    const at = Date.now();
    const big = { role: 'user', content: 'z'.repeat(40_000) };
    const records = Array.from({ length: 60 }, (_, i) => toCallRow(sampleRecord({ requestBody: { messages: [big] } }, new Date(at + i)), policy, at));
    expect(batchParts(records).length).toBe(BATCH_PARTS);
    await insertCallRows(database, records);
    const [{ n }] = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from calls c join call_payloads p on p.call_id = c.id`)) as [{ n: number }];
    expect(n).toBe(60);
  });

  it('stores every field of a row in its column (each value distinct), and a row without bodies with no payload row', async () => {
    const at = new Date('2031-02-03T04:05:06.789Z');
    const rec = everyFieldRecord(at);
    const bare = sampleRecord({ route: 'metadata-only' }, new Date(at.getTime() + 1));
    const metadataOnly = compilePayloadPolicy({ enabled: true, maxBytes: 4096, redactFields: [], redactPatterns: [], routes: { 'metadata-only': 'metadata' } });
    await insertCallRows(database, [toCallRow(rec, policy, 0), toCallRow(bare, metadataOnly, 0)]);
    const [row] = rowsOf<Record<string, unknown>>(
      await database.db.execute(sql`select c.*, c.started_at::text as started, c.cost_micros::text as cost, c.cost_saved_micros::text as saved,
        p.request, p.response, p.rag, p.face_request, p.truncated from calls c join call_payloads p on p.call_id = c.id where c.id = ${rec.id}`),
    );
    expect(row).toMatchObject({
      id: rec.id,
      request_id: rec.requestId,
      endpoint: 'chat.completions',
      api_key_id: rec.apiKeyId,
      route: 'support-bot',
      variant: 'control',
      assignment: 0.625,
      shadow: true,
      parent_call_id: rec.parentCallId,
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt_name: 'support',
      prompt_version: 3,
      stream: true,
      status: 'upstream_error',
      http_status: 502,
      error_code: 'upstream_error',
      error_message: 'bad gateway',
      attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 200, error: null, latency_ms: 412.5 }],
      latency_ms: 415.25,
      ttft_ms: 7.5,
      overhead_ms: 0.75,
      input_tokens: 11,
      output_tokens: 12,
      cached_tokens: 13,
      cache_write_tokens: 14,
      reasoning_tokens: 15,
      cost: '46.8',
      cost_status: 'exact',
      saved: '9.5',
      fallback_used: true,
      cache_status: 'hit',
      user: 'user-42',
      metadata: { team: 't' },
      retrieved_doc_ids: ['d1', 'd"2'],
      retrieval_ms: 3.25,
      trace_id: 'c'.repeat(32),
      request: rec.requestBody,
      response: rec.responseBody,
      rag: { query: 'q' },
      face_request: { system: 's' },
      truncated: false,
    });
    expect(new Date(String(row!.started).replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString()).toBe(at.toISOString());
    const stored = rowsOf<{ payloads: number; ttft: number | null }>(
      await database.db.execute(sql`select (select count(*)::int from call_payloads where call_id = ${bare.id}) as payloads, ttft_ms as ttft from calls where id = ${bare.id}`),
    );
    expect(stored).toEqual([{ payloads: 0, ttft: null }]);
  });
});
