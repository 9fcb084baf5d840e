/**
 * Call-log writer throughput: how many call records per second reach the database.
 *
 *   node --import tsx bench/writer-throughput.ts [--records N] [--batch 500] [--concurrency C]
 *                                                [--payloads on|off] [--body-bytes 600]
 *
 * With DATABASE_URL it writes into a scratch database on that server (dropped afterwards);
 * without, into an in-memory PGlite. Records are enqueued in bursts of 1,000 with a macrotask
 * between bursts (as request handlers would): each is a fresh id and time over one of 1,000
 * prebuilt templates, so the heap holds what a gateway's would. The clock stops when flush()
 * resolves and every row is in. The offered load is well above what the database takes, so the
 * figure is the writer's capacity, not the producer's rate.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';
import type { CallRecord } from '../gateway/calls/record.ts';
import { sampleRecord } from '../test/helpers/sample-record.ts';
import { CallLogWriter } from '../gateway/calls/writer.ts';
import { openDatabase, type Database } from '../gateway/db/client.ts';
import { silentLogger } from '../gateway/logger.ts';
import { createScratchDatabase } from '../test/helpers/test-db.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string' },
    payloads: { type: 'string', default: 'on' },
    'body-bytes': { type: 'string', default: '600' },
  },
});

const url = process.env.DATABASE_URL;
const records = Number(args.records ?? (url ? 200_000 : 50_000));
const batchSize = Number(args.batch);
const bodyBytes = Number(args['body-bytes']);

async function open(): Promise<{ database: Database; drop: () => Promise<void> }> {
  if (!url) {
    const database = await openDatabase({});
    await database.migrate();
    return { database, drop: async () => {} };
  }
  const scratch = await createScratchDatabase(url);
  const database = await openDatabase({ url: scratch.url, max: 4 });
  await database.migrate();
  return { database, drop: () => scratch.drop() };
}

function countOf(result: unknown): number {
  const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
  return Number((rows[0] as { n: number | string }).n);
}

const { database, drop } = await open();
const spoolDir = await mkdtemp(join(tmpdir(), 'sluice-bench-spool-'));
try {
  const filler = 'x'.repeat(Math.max(0, bodyBytes - 400));
  const base = Date.now();
  const templates: CallRecord[] = [];
  for (let i = 0; i < 1000; i++) {
    const r = sampleRecord({ user: `user-${i}`, model: i % 3 ? 'gpt-4o-mini' : 'gpt-4o' });
    if (filler) r.requestBody = { ...(r.requestBody as object), note: `${i} ${filler}`, api_key: 'sk-should-not-survive-123456' };
    templates.push(r);
  }
  const ids = Array.from({ length: records }, (_, i) => uuidv7({ msecs: base + i }));

  const writer = new CallLogWriter({
    database,
    spoolDir,
    queueMax: records + 1,
    batchSize,
    ...(args.concurrency ? { concurrency: Number(args.concurrency) } : {}),
    payloads: { enabled: args.payloads === 'on', maxBytes: 16_384, redactFields: ['api_key'], redactPatterns: [] },
    logger: silentLogger,
  });
  writer.start();

  const t0 = performance.now();
  let enqueueMs = 0;
  for (let i = 0; i < records; i += 1000) {
    const e0 = performance.now();
    const end = Math.min(records, i + 1000);
    for (let j = i; j < end; j++) writer.enqueue({ ...templates[j % 1000]!, id: ids[j]!, startedAt: new Date(base + j) });
    enqueueMs += performance.now() - e0;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await writer.flush();
  const elapsed = performance.now() - t0;
  await writer.close();

  const n = countOf(await database.db.execute(sql`select count(*)::int as n from calls`));
  const p = countOf(await database.db.execute(sql`select count(*)::int as n from call_payloads`));
  const s = writer.stats();
  console.log(
    JSON.stringify(
      {
        database: database.kind,
        records,
        batchSize,
        payloads: args.payloads,
        rows_per_s: Math.round((records / elapsed) * 1000),
        elapsed_ms: Math.round(elapsed),
        // Building each record copy (a spread and a Date) plus enqueue(): what a request handler pays.
        producer_ns_per_record: Math.round((enqueueMs * 1e6) / records),
        calls_rows: n,
        payload_rows: p,
        stats: s,
      },
      null,
      2,
    ),
  );
  if (n !== records) process.exitCode = 1;
} finally {
  await database.close();
  await drop();
  await rm(spoolDir, { recursive: true, force: true });
}
