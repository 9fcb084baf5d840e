import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPostgresUnavailable, startOwnPostgres, type OwnPostgres } from '../../test/helpers/own-postgres.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { CallLogWriter } from './writer.ts';

/**
 * A Postgres of our own (test/helpers/own-postgres.ts) stopped with `-m immediate` in the
 * middle of a load: every record must still land exactly once.
 */
const reason = ownPostgresUnavailable();
if (reason) console.warn(`skipping the Postgres outage test: ${reason}`);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(reason !== null)('CallLogWriter through a Postgres outage', () => {
  let server: OwnPostgres;
  let database: Database;
  let spoolDir: string;

  beforeAll(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'sluice-spool-'));
    server = await startOwnPostgres();
    database = await openDatabase({ url: server.url, max: 4 });
    await database.migrate();
  }, 60_000);

  afterAll(async () => {
    await database?.close().catch(() => {});
    await server?.close();
    await rm(spoolDir, { recursive: true, force: true });
  });

  it('lands every record exactly once across `pg_ctl stop -m immediate` and a restart', async () => {
    const writer = new CallLogWriter({
      database,
      spoolDir,
      logger: silentLogger,
      batchSize: 50,
      queueMax: 400,
      flushMs: 10,
      backoff: { initialMs: 20, maxMs: 250 },
      payloads: { enabled: true, maxBytes: 4096, redactFields: [], redactPatterns: [] },
    });
    writer.start();
    const base = Date.now();
    let sent = 0;
    const produce = async (n: number) => {
      for (let i = 0; i < n; i += 20) {
        for (let j = 0; j < 20; j++) writer.enqueue(sampleRecord({}, new Date(base + sent++)));
        await pause(1);
      }
    };

    await produce(1000);
    const stopping = server.stop('immediate');
    await produce(200); // records racing the shutdown
    await stopping;
    await produce(1000); // the database is down
    const during = writer.stats();
    expect(during.failedBatches).toBeGreaterThan(0);
    expect(during.spooled).toBeGreaterThan(0);
    await server.start();
    await produce(800);

    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await writer.flush();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await pause(100);
      }
    }
    await writer.close();

    const [row] = (await database.db.execute(
      sql`select count(*)::int as n, count(distinct id)::int as ids from calls`,
    )) as unknown as { n: number; ids: number }[];
    expect(row).toEqual({ n: sent, ids: sent });
    const s = writer.stats();
    expect(s).toMatchObject({ queued: 0, dropped: 0 });
    expect(s.written + s.replayed).toBeGreaterThanOrEqual(sent);
  }, 60_000);
});
