import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import { sampleRecord } from './sample-record.ts';
import { CallLogWriter } from './writer.ts';

/**
 * A Postgres of our own (initdb + pg_ctl on a free port under a temp dir) stopped with
 * `-m immediate` in the middle of a load: every record must still land exactly once.
 */
const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const isRoot = process.getuid?.() === 0;

/** Why the test cannot run here, or null when it can. */
function unavailable(): string | null {
  if (!existsSync(join(BIN, 'initdb')) || !existsSync(join(BIN, 'pg_ctl'))) return `no initdb/pg_ctl in ${BIN} (set PG_BIN)`;
  if (!isRoot) return null;
  try {
    execFileSync('id', ['-u', 'postgres']);
    execFileSync('runuser', ['--help'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'running as root, and there is no postgres user or runuser to run initdb as';
  }
}

const reason = unavailable();
if (reason) console.warn(`skipping the Postgres outage test: ${reason}`);

/** Runs a Postgres binary, as the postgres user when we are root (initdb refuses root). */
function pg(tool: string, args: string[]): Promise<{ stdout: string }> {
  const bin = join(BIN, tool);
  return isRoot ? run('runuser', ['-u', 'postgres', '--', bin, ...args]) : run(bin, args);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(reason !== null)('CallLogWriter through a Postgres outage', () => {
  let dir: string;
  let port: number;
  let database: Database;
  let spoolDir: string;

  const start = () =>
    pg('pg_ctl', [
      '-D', join(dir, 'data'), '-l', join(dir, 'server.log'), '-w', '-t', '30',
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ]);
  const stop = () => pg('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-pg-'));
    spoolDir = await mkdtemp(join(tmpdir(), 'sluice-spool-'));
    if (isRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dir, uid, gid);
    }
    await pg('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    port = await freePort();
    await start();
    database = await openDatabase({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, max: 4 });
    await database.migrate();
  }, 60_000);

  afterAll(async () => {
    await database?.close().catch(() => {});
    await stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
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
    const stopping = stop();
    await produce(200); // records racing the shutdown
    await stopping;
    await produce(1000); // the database is down
    const during = writer.stats();
    expect(during.failedBatches).toBeGreaterThan(0);
    expect(during.spooled).toBeGreaterThan(0);
    await start();
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
