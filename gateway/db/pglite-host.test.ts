import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, rowsOf, type Database } from './client.ts';
import { startPgliteThread } from './pglite-host.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'sluice-pgthread-'));
let database: Database;

beforeAll(async () => {
  database = await openDatabase({ dataDir: join(root, 'pgdata') });
  await database.db.execute(sql`create table t (id int primary key, v text)`);
}, 120_000);

afterAll(async () => {
  await database?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A client of its own on the thread's socket, as another process would open one. */
const connect = (max = 1) => postgres({ path: join(database.socketDir!, '.s.PGSQL.5432'), username: 'postgres', database: 'postgres', max, onnotice: () => {} });

describe('embedded PGlite in a worker thread, served on a unix socket', () => {
  it('is PGlite, reached over a socket only this user may open', () => {
    expect(database.kind).toBe('pglite');
    expect(statSync(database.socketDir!).mode & 0o777).toBe(0o700);
    expect(statSync(join(database.socketDir!, '.s.PGSQL.5432')).mode & 0o777).toBe(0o600);
  });

  it('keeps each connection\'s statements, errors and transactions apart under concurrent load', async () => {
    const sqlA = connect(8);
    try {
      let wrong = 0;
      let duplicates = 0;
      const jobs = Array.from({ length: 600 }, async (_, i) => {
        switch (i % 4) {
          case 0: {
            const [r] = await sqlA`select ${i}::int as x, ${`s${i}`}::text as s`;
            if (r?.x !== i || r.s !== `s${i}`) wrong++;
            return;
          }
          case 1:
            // Unique violations on purpose: a failed batch must not swallow another client's messages.
            await sqlA`insert into t values (${i % 20}, 'dup')`.catch((err: { code?: string }) => {
              if (err.code === '23505') duplicates++;
              else throw err;
            });
            return;
          case 2:
            await sqlA.begin(async (tx) => {
              await tx`insert into t values (${10_000 + i}, 'tx')`;
              const [r] = await tx`select v from t where id = ${10_000 + i}`;
              if (r?.v !== 'tx') wrong++;
            });
            return;
          default: {
            const rows = rowsOf<{ y: string }>(await database.db.execute(sql`select ${String(i)} || 'z' as y`));
            if (rows[0]?.y !== `${i}z`) wrong++;
          }
        }
      });
      await Promise.all(jobs);
      expect(wrong).toBe(0);
      expect(duplicates).toBe(150 - 5); // ids 1, 5, 9, 13 and 17, each inserted once
      const [n] = await sqlA`select count(*)::int as n from t where id >= 10000`;
      expect(n?.n).toBe(150);
    } finally {
      await sqlA.end();
    }
  });

  it('rolls back the transaction of a client that goes, and serves the others meanwhile', async () => {
    const gone = connect();
    await gone`begin`;
    await gone`insert into t values (-1, 'uncommitted')`;
    // While it holds the backend the others wait; once it is gone, they go on.
    const other = database.db.execute(sql`select count(*)::int as n from t where id = -1`);
    await gone.end({ timeout: 0 });
    expect(rowsOf<{ n: number }>(await other)[0]?.n).toBe(0);
    await database.db.execute(sql`insert into t values (-1, 'committed')`);
  });

  it('serves a second process while this one runs: it reads the row written here', async () => {
    await database.db.execute(sql`insert into t values (-2, 'from the server')`);
    const script = `import postgres from 'postgres';
const sql = postgres({ path: process.argv[1], username: 'postgres', database: 'postgres', max: 1 });
const [row] = await sql\`select v from t where id = -2\`;
await sql\`insert into t values (-3, 'from the cli')\`;
await sql.end();
process.stdout.write(row.v);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, join(database.socketDir!, '.s.PGSQL.5432')], { cwd: repo });
    expect(stdout).toBe('from the server');
    expect(rowsOf<{ v: string }>(await database.db.execute(sql`select v from t where id = -3`))[0]?.v).toBe('from the cli');
  });
});

describe('the thread', () => {
  it('closes PGlite cleanly: the directory opens again with what was committed', async () => {
    const dataDir = join(root, 'reopen');
    const first = await openDatabase({ dataDir });
    await first.db.execute(sql`create table kept (v text)`);
    await first.db.execute(sql`insert into kept values ('still here')`);
    await first.close();
    const second = await openDatabase({ dataDir });
    try {
      expect(rowsOf<{ v: string }>(await second.db.execute(sql`select v from kept`))[0]?.v).toBe('still here');
    } finally {
      await second.close();
    }
  }, 120_000);

  it('reports a thread that dies while serving, and its socket refuses at once', async () => {
    // The directory of the test above: initdb once is enough.
    const dataDir = join(root, 'reopen');
    const thread = await startPgliteThread(dataDir, { entry: new URL('./pglite-thread.crash.fixture.mjs', import.meta.url) });
    const failed = new Promise<Error>((resolve) => thread.onFailure(resolve));
    const err = await failed;
    expect(err.message).toMatch(/embedded database thread failed: .*on purpose/);
    const client = postgres({ path: thread.socketPath, max: 1, connect_timeout: 5 });
    await expect(client`select 1`).rejects.toThrow();
    await client.end({ timeout: 0 });
    await thread.close();
  }, 120_000);
});
