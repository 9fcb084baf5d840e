import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY } from '../helpers/gateway.ts';
import { createScratchDatabase } from '../helpers/test-db.ts';
import { pause, postChat, until } from './raw-client.ts';

/**
 * Issue 3 / issue 4: SIGTERM to the real gateway process in the middle of a load. Calls in
 * flight finish (200, streams to [DONE]); new connections are refused from then on; the
 * process drains its call log and exits 0; and the database then holds exactly one record
 * per call that got an answer — on the Postgres server when DATABASE_URL is set, else in the
 * process's own PGlite data directory (opened again after the exit).
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));
const mainUrl = process.env.DATABASE_URL;
const CONCURRENCY = 16;

interface Outcome {
  startedAt: number;
  stream: boolean;
  status?: number;
  callId?: string;
  complete?: boolean;
  error?: string;
}

describe(`SIGTERM under load (${mainUrl ? 'Postgres' : 'PGlite'})`, () => {
  let fake: FakeProvider;
  let dir: string;
  let scratch: { url: string; drop(): Promise<void> } | undefined;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    fake = await startFakeProvider();
    dir = mkdtempSync(join(tmpdir(), 'sluice-sigterm-'));
    if (mainUrl) scratch = await createScratchDatabase(mainUrl);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await fake?.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes in-flight calls, refuses new connections, drains the log, exits 0, loses no record', async () => {
    const configPath = join(dir, 'sluice.config.yaml');
    writeFileSync(
      configPath,
      `providers:\n  up: { type: openai-compatible, base_url: "${fake.openaiBaseUrl}", retry: { max_attempts: 1 } }\nlogging: { flush_ms: 50 }\n`,
    );
    // Every upstream answer is slow, so calls are in flight when the signal comes.
    for (let i = 0; i < 4000; i++) fake.enqueue(i % 2 === 0 ? { delayMs: 250 } : { delayMs: 100, dripMs: 30 });

    child = spawn(process.execPath, ['--import', 'tsx', 'gateway/server.ts'], {
      cwd: repo,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        SLUICE_CONFIG: configPath,
        SLUICE_ADMIN_KEY: ADMIN_KEY,
        SLUICE_DATA_DIR: dir,
        DATABASE_URL: scratch?.url ?? '',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const spawnedAt = performance.now();
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    await until('the gateway to listen', () => /"msg":"sluice listening"/.test(stderr) || child!.exitCode !== null, 60_000);
    const url = /"url":"(http:[^"]+)"/.exec(stderr.split('\n').find((l) => l.includes('sluice listening')) ?? '')?.[1];
    expect(url, stderr).toBeDefined();
    const { port } = new URL(url!);
    const bootMs = performance.now() - spawnedAt;

    // Continuous load, each call on a fresh connection, until connections are refused.
    const outcomes: Outcome[] = [];
    let signalledAt = Infinity;
    let serial = 0;
    const lane = async () => {
      for (;;) {
        const i = serial++;
        const o: Outcome = { startedAt: performance.now(), stream: i % 2 === 1 };
        outcomes.push(o);
        try {
          const a = await postChat(url!, { model: 'up/gpt-4o-mini', messages: [{ role: 'user', content: `call ${i}` }], stream: o.stream });
          o.status = a.status;
          o.callId = String(a.headers['x-sluice-call-id']);
          o.complete = o.stream ? a.events.at(-1) === '[DONE]' : a.json !== undefined;
        } catch (err) {
          o.error = (err as NodeJS.ErrnoException).code ?? String(err);
          if (o.error === 'ECONNREFUSED') return;
        }
        if (performance.now() - signalledAt > 10_000) return;
      }
    };
    const lanes = Array.from({ length: CONCURRENCY }, lane);
    await until('calls to complete', () => outcomes.filter((o) => o.status === 200).length >= 40, 20_000);

    signalledAt = performance.now();
    child.kill('SIGTERM');
    await pause(80);
    const inFlightAtSignal = outcomes.filter((o) => o.startedAt < signalledAt && o.status === undefined && o.error === undefined).length;
    // Still finishing the calls in flight, but no longer accepting connections.
    expect(child.exitCode).toBeNull();
    const refused = await new Promise<string>((resolve) => {
      const s = connect(Number(port), '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve('connected')));
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    });
    expect(refused).toBe('ECONNREFUSED');

    const code = await exited;
    const drainMs = performance.now() - signalledAt;
    await Promise.all(lanes);
    expect(code, stderr.slice(-3000)).toBe(0);

    const answered = outcomes.filter((o) => o.status !== undefined);
    // Every call that got an answer got a whole, successful one — those in flight at the signal too.
    expect(answered.filter((o) => o.status !== 200 || !o.complete).map((o) => `${o.status} stream=${o.stream}`)).toEqual([]);
    expect(inFlightAtSignal).toBeGreaterThan(0);
    // A call that got no answer was refused (or reset while still in the kernel's backlog), after
    // the signal or just before it: a fresh connection waits in the backlog until the busy event
    // loop accepts it, 93 ms once on a slow night (2 cores, PGlite in the process). A call started
    // earlier than that and then dropped would be an in-flight call lost.
    for (const o of outcomes.filter((x) => x.error !== undefined)) {
      expect(['ECONNREFUSED', 'ECONNRESET']).toContain(o.error);
      expect(o.startedAt).toBeGreaterThan(signalledAt - 250);
    }

    // Exactly one record per answered call, in the database the process used.
    const database = await openDatabase({ url: scratch?.url, dataDir: join(dir, 'pgdata') });
    try {
      const result = (await database.db.execute(sql`select id::text as id from calls`)) as unknown as
        | Array<{ id: string }>
        | { rows: Array<{ id: string }> };
      const rows = Array.isArray(result) ? result : result.rows;
      const ids = answered.map((o) => o.callId!);
      expect(rows.length).toBe(ids.length);
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(ids));
    } finally {
      await database.close();
    }
    const spool = join(dir, 'spool');
    const left = (() => {
      try {
        return readdirSync(spool).filter((f) => !f.startsWith('.'));
      } catch {
        return [];
      }
    })();
    expect(left, 'spool files left behind').toEqual([]);
    console.info(
      `[sigterm] ${answered.length} answered (${inFlightAtSignal} in flight at the signal), ` +
        `${outcomes.filter((o) => o.error).length} refused/reset; boot ${bootMs.toFixed(0)} ms, signal to exit ${drainMs.toFixed(0)} ms, exit ${code}`,
    );
  }, 90_000);
});
