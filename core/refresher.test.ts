import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../gateway/db/client.ts';
import { createScratchDatabase } from '../test/helpers/test-db.ts';
import { serialized, startRefresher } from './refresher.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('serialized', () => {
  it('runs one at a time; calls during a run share exactly one next run, which starts after it', async () => {
    const gates: Array<ReturnType<typeof deferred>> = [];
    let started = 0;
    let active = 0;
    let maxActive = 0;
    const run = serialized(async () => {
      started++;
      active++;
      maxActive = Math.max(maxActive, active);
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      active--;
    });
    const first = run();
    await until(() => started === 1, 1_000, 'first run started');
    // Both arrive while the first runs (it may have read before what they react to): one more run for both.
    const second = run();
    const third = run();
    expect(second).toBe(third);
    expect(started).toBe(1);
    gates[0]!.resolve();
    await first;
    await until(() => started === 2, 1_000, 'second run started');
    gates[1]!.resolve();
    await second;
    expect(started).toBe(2);
    expect(maxActive).toBe(1);
  });

  it('a failed run rejects its callers and does not block the next', async () => {
    let n = 0;
    const run = serialized(async () => {
      if (++n === 1) throw new Error('boom');
    });
    await expect(run()).rejects.toThrow('boom');
    await expect(run()).resolves.toBeUndefined();
    expect(n).toBe(2);
  });
});

describe('startRefresher on PGlite (no LISTEN)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({});
  });
  afterAll(async () => {
    await database?.close();
  });

  it('does not listen, so it polls at pollIntervalMs, and stop() ends the polling', async () => {
    let refreshes = 0;
    const refresher = await startRefresher({
      source: database,
      channel: 'sluice_test',
      onNotify: () => {},
      refresh: async () => void refreshes++,
      pollIntervalMs: 20,
      safetyPollIntervalMs: 3_600_000,
      onError: () => {},
    });
    expect(refresher.listening).toBe(false);
    await until(() => refreshes >= 3, 5_000, 'three polls');
    refresher.stop();
    const after = refreshes;
    await new Promise((r) => setTimeout(r, 100));
    expect(refreshes).toBe(after);
  });
});

const url = process.env.DATABASE_URL;

describe.skipIf(!url)('startRefresher on Postgres (LISTEN)', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let admin: postgres.Sql;
  let database: Database;

  beforeAll(async () => {
    scratch = await createScratchDatabase(url!);
    admin = postgres(url!, { max: 1, onnotice: () => {} });
    database = await openDatabase({ url: scratch.url, max: 2, applicationName: 'sluice-refresher-test' });
  });
  afterAll(async () => {
    await database?.close();
    await admin?.end();
    await scratch?.drop();
  });

  it('delivers notifications, and catches up (refresh) when the LISTEN connection comes back, not at the first LISTEN', async () => {
    const payloads: string[] = [];
    let refreshes = 0;
    const refresher = await startRefresher({
      source: database,
      channel: 'sluice_test',
      onNotify: (p) => payloads.push(p),
      refresh: async () => void refreshes++,
      pollIntervalMs: 20,
      // An hour: any refresh seen below comes from the reconnect, not the safety poll.
      safetyPollIntervalMs: 3_600_000,
      onError: () => {},
    });
    try {
      expect(refresher.listening).toBe(true);
      expect(refreshes).toBe(0);
      await database.notify('sluice_test', 'one');
      await until(() => payloads.includes('one'), 5_000, 'notification delivered');

      const dbName = new URL(scratch.url).pathname.slice(1);
      const [row] = await admin<Array<{ pid: number }>>`
        select pid from pg_stat_activity
        where datname = ${dbName} and application_name = 'sluice-refresher-test' and query ilike 'listen %'`;
      await admin`select pg_terminate_backend(${row!.pid})`;
      await until(() => refreshes >= 1, 15_000, 'refresh after the re-LISTEN');
      expect(refreshes).toBe(1);

      // And the new LISTEN connection delivers again.
      await database.notify('sluice_test', 'two');
      await until(() => payloads.includes('two'), 5_000, 'notification after reconnect');
    } finally {
      refresher.stop();
    }
  });
});
