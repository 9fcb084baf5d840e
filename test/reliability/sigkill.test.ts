import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMapFiles } from '../../gateway/calls/wal-mapping.ts';
import { openDatabase } from '../../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY } from '../helpers/gateway.ts';
import { createScratchDatabase } from '../helpers/test-db.ts';
import { until } from './raw-client.ts';

/**
 * Issue 21: SIGKILL to the real gateway process in the middle of a load of non-stream and
 * stream calls from 16 clients (the official OpenAI SDK). The call log's batches are made
 * slow to fill (flush_ms 1000), so many answered calls are only in memory when the process
 * dies. A second process started on the same data directory (and database) replays the
 * write-ahead log; then every call a client saw complete has exactly one record, and every
 * stream whose headers arrived has one too (`interrupted` when it was cut, as far as it got).
 * On the Postgres server when DATABASE_URL is set, and always on the embedded PGlite.
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));
const CLIENTS = 16;

interface Outcome {
  stream: boolean;
  /** The answer's headers arrived (for a stream: it was opened). */
  callId?: string | undefined;
  complete?: boolean;
  error?: string;
}

interface Gateway {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function spawnGateway(env: Record<string, string>): Promise<Gateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/server.ts'], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await until('the gateway to listen', () => /"msg":"sluice listening"/.test(stderr) || child.exitCode !== null, 60_000);
  const url = /"url":"(http:[^"]+)"/.exec(stderr.split('\n').find((l) => l.includes('sluice listening')) ?? '')?.[1];
  if (!url) throw new Error(`the gateway did not start:\n${stderr.slice(-3000)}`);
  return { child, url, stderr: () => stderr, exited };
}

/** One call through the SDK, its outcome filled in as it goes (the call id once headers arrive). */
async function call(client: OpenAI, o: Outcome, i: number): Promise<void> {
  const body = { model: 'up/gpt-4o-mini', messages: [{ role: 'user' as const, content: `call ${i} with a few words to stream` }] };
  if (!o.stream) {
    const { data, response } = await client.chat.completions.create(body).withResponse();
    o.callId = response.headers.get('x-sluice-call-id') ?? undefined;
    o.complete = data.choices[0]?.finish_reason === 'stop';
    return;
  }
  const { data, response } = await client.chat.completions.create({ ...body, stream: true }).withResponse();
  o.callId = response.headers.get('x-sluice-call-id') ?? undefined;
  let finished = false;
  // The SDK ends the iteration at `data: [DONE]`; a connection cut before the end of the
  // chunked body throws instead (undici: "terminated").
  for await (const chunk of data) if (chunk.choices[0]?.finish_reason === 'stop') finished = true;
  o.complete = finished;
}

/** The spool directory's files (none before anything was written there). */
function spoolFiles(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'spool')).filter((f) => !f.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

// The log is mapped where the optional addon is installed (the default then), else written;
// with the addon the written log is run too, as a user without a compiler has it.
const mapped = canMapFiles();
const targets = [
  { kind: 'pglite' as const, log: mapped ? 'mapped' : 'written' },
  ...(mapped ? [{ kind: 'pglite' as const, log: 'written' }] : []),
  ...(process.env.DATABASE_URL ? [{ kind: 'postgres' as const, log: mapped ? 'mapped' : 'written' }] : []),
];

describe.each(targets)('SIGKILL under load ($kind, log $log)', ({ kind, log }) => {
  let fake: FakeProvider;
  let dir: string;
  let scratch: { url: string; drop(): Promise<void> } | undefined;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    fake = await startFakeProvider();
    dir = mkdtempSync(join(tmpdir(), 'sluice-sigkill-'));
    if (kind === 'postgres') scratch = await createScratchDatabase(process.env.DATABASE_URL!);
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await fake?.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves a record for every call a client saw complete, and every opened stream, none twice', async () => {
    const configPath = join(dir, 'sluice.config.yaml');
    writeFileSync(
      configPath,
      `providers:\n  up: { type: openai-compatible, base_url: "${fake.openaiBaseUrl}", retry: { max_attempts: 1 } }\n` +
        `logging: { flush_ms: 1000, batch_size: 5000, wal: { mmap: ${log === 'mapped'} } }\n`,
    );
    // Slow answers and slowly dripped streams, so calls are in flight when the process dies.
    for (let i = 0; i < 20_000; i++) fake.enqueue(i % 2 === 0 ? { delayMs: 20 } : { delayMs: 10, dripMs: 15 });
    const env = {
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_CONFIG: configPath,
      SLUICE_ADMIN_KEY: ADMIN_KEY,
      SLUICE_DATA_DIR: dir,
      DATABASE_URL: scratch?.url ?? '',
    };
    const first = await spawnGateway(env);
    children.push(first.child);
    const client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${first.url}/v1`, maxRetries: 0, timeout: 15_000 });
    const health = (await (await fetch(`${first.url}/healthz`)).json()) as { call_log?: { wal?: { mapped?: boolean } } };
    expect(health.call_log?.wal?.mapped).toBe(log === 'mapped');

    const outcomes: Outcome[] = [];
    let serial = 0;
    let killed = false;
    const lane = async () => {
      while (!killed) {
        const i = serial++;
        const o: Outcome = { stream: i % 2 === 1 };
        outcomes.push(o);
        try {
          await call(client, o, i);
        } catch (err) {
          o.error = err instanceof Error ? err.message : String(err);
        }
      }
    };
    const lanes = Array.from({ length: CLIENTS }, lane);
    await until('calls to complete', () => outcomes.filter((o) => o.complete).length >= 300, 60_000);
    first.child.kill('SIGKILL');
    killed = true;
    await first.exited;
    await Promise.all(lanes);
    const complete = outcomes.filter((o) => o.complete);
    const opened = outcomes.filter((o) => o.stream && o.callId !== undefined && !o.complete);
    expect(complete.every((o) => o.callId)).toBe(true);

    // The same data directory and database, as a supervisor restarts it.
    const second = await spawnGateway(env);
    children.push(second.child);
    // It takes traffic while it replays.
    const next = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${second.url}/v1`, maxRetries: 0 });
    const after = await next.chat.completions.create({ model: 'up/gpt-4o-mini', messages: [{ role: 'user', content: 'after the restart' }] }).withResponse();
    const afterId = after.response.headers.get('x-sluice-call-id')!;
    // Replayed while it runs: the dead process's log and spool files are gone.
    await until(
      'the write-ahead log to be replayed',
      () => spoolFiles(dir).filter((f) => f.startsWith('calls-') || (f.startsWith('wal-') && f.includes(`-${first.child.pid}-`))).length === 0,
      30_000,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited, second.stderr().slice(-3000)).toBe(0);

    const database = await openDatabase({ url: scratch?.url, dataDir: join(dir, 'pgdata') });
    try {
      const result = (await database.db.execute(sql`select id::text as id, status from calls`)) as unknown as
        | Array<{ id: string; status: string }>
        | { rows: Array<{ id: string; status: string }> };
      const rows = Array.isArray(result) ? result : result.rows;
      const byId = new Map(rows.map((r) => [r.id, r.status]));
      // None twice.
      expect(byId.size).toBe(rows.length);
      // Every call a client saw complete, as it ended.
      const missing = complete.filter((o) => byId.get(o.callId!) !== 'ok').map((o) => `${o.callId} stream=${o.stream} → ${byId.get(o.callId!)}`);
      expect(missing).toEqual([]);
      // Every stream that was opened and cut: recorded as far as it got.
      const lost = opened.filter((o) => !['interrupted', 'ok'].includes(byId.get(o.callId!) ?? 'none'));
      expect(lost.map((o) => o.callId)).toEqual([]);
      expect(byId.get(afterId)).toBe('ok');
      const interrupted = rows.filter((r) => r.status === 'interrupted').length;
      console.info(
        `[sigkill ${kind}] ${complete.length} complete, ${opened.length} streams cut, ${outcomes.filter((o) => o.error).length} failed at the kill; ` +
          `${rows.length} records after restart (${interrupted} interrupted)`,
      );
    } finally {
      await database.close();
    }
    expect(spoolFiles(dir), 'spool or write-ahead files left behind').toEqual([]);
    expect(second.stderr()).toContain('recovered calls from the write-ahead log');
  }, 180_000);
});
