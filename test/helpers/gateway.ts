import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { serve, type ServerType } from '@hono/node-server';
import { createApp, type AppDeps } from '../../gateway/app.ts';
import type { KeyStore } from '../../gateway/auth/key-store.ts';
import { startCallLog, type CallLog } from '../../gateway/calls/call-log.ts';
import type { CallRecord, CallSink } from '../../gateway/calls/record.ts';
import { parseConfig } from '../../gateway/config/load.ts';
import { openDatabase, type Database } from '../../gateway/db/client.ts';
import { silentLogger, type Logger } from '../../gateway/logger.ts';
import type { Providers } from '../../gateway/providers/registry.ts';
import { SERVER_OPTIONS } from '../../gateway/server.ts';
import { startServices, type Services } from '../../gateway/services.ts';

export const ADMIN_KEY = 'sk-sluice-test-admin-key-0123456789';

/** A sink that keeps records in memory, for asserting what the gateway logged. */
export class MemorySink implements CallSink {
  readonly records: CallRecord[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  enqueue(record: CallRecord): void {
    this.records.push(record);
    this.waiters = this.waiters.filter((w) => (this.records.length >= w.n ? (w.resolve(), false) : true));
  }
  /** Resolves once at least n records arrived (records of streams land after the body ends). */
  waitFor(n: number, timeoutMs = 5_000): Promise<void> {
    if (this.records.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${n} call records, have ${this.records.length}`)), timeoutMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

/** Both sinks get every record: the database one under test, the memory one for waiting. */
function tee(a: CallSink, b: CallSink): CallSink {
  return {
    enqueue(record) {
      a.enqueue(record);
      b.enqueue(record);
    },
  };
}

export interface TestGateway {
  url: string;
  baseURL: string;
  sink: MemorySink;
  database: Database;
  keys: KeyStore;
  providers: Providers;
  prompts: Services['prompts'];
  /** The real call log, when `callLog: true`. */
  callLog: CallLog | undefined;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Raw config object, as sluice.config.yaml would parse. */
  config: unknown;
  env?: Record<string, string>;
  database?: Database;
  /** Replaces providers built from config (e.g. one that throws, for the 500 path). */
  providers?: Providers;
  calls?: CallSink;
  /** Where the gateway's log lines go (default: nowhere). */
  logger?: Logger;
  /** Log calls through the real writer into the database (spool under a temp dir). */
  callLog?: boolean;
  /** REDIS_URL for the cache's shared tier (as the server passes it to startServices). */
  redisUrl?: string;
  overrides?: Partial<AppDeps>;
}

/** The real app on a real port (0), in-process, with a real database (PGlite by default). */
export async function startTestGateway(opts: TestGatewayOptions): Promise<TestGateway> {
  const config = parseConfig(opts.config, opts.env ?? {});
  const ownDatabase = !opts.database;
  const database = opts.database ?? (await openDatabase({}));
  if (ownDatabase) await database.migrate();
  const services = await startServices(config, database, {
    adminKey: ADMIN_KEY,
    providers: opts.providers,
    redisUrl: opts.redisUrl,
    logger: opts.logger ?? silentLogger,
  });
  const { keys, providers } = services;
  const sink = new MemorySink();
  const dataDir = opts.callLog ? mkdtempSync(join(tmpdir(), 'sluice-gw-')) : undefined;
  const callLog = dataDir ? await startCallLog(config, database, { dataDir, logger: opts.logger ?? silentLogger }) : undefined;
  const app = createApp({
    config,
    database,
    ...services,
    calls: callLog ? tee(callLog.sink, sink) : (opts.calls ?? sink),
    health: () => ({ call_log: callLog?.stats() ?? null }),
    logger: opts.logger ?? silentLogger,
    now: () => performance.now(),
    clock: Date.now,
    random: Math.random,
    ...opts.overrides,
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', serverOptions: SERVER_OPTIONS }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    sink,
    database,
    keys,
    providers,
    prompts: services.prompts,
    callLog,
    async close() {
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.stop();
      await callLog?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (ownDatabase) await database.close();
    },
  };
}
