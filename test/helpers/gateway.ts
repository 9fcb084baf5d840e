import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { serve, type ServerType } from '@hono/node-server';
import { createApp, type AppDeps } from '../../gateway/app.ts';
import type { KeyStore } from '../../gateway/auth/key-store.ts';
import type { CallRecord, CallSink } from '../../gateway/calls/record.ts';
import { parseConfig } from '../../gateway/config/load.ts';
import { openDatabase, type Database } from '../../gateway/db/client.ts';
import { silentLogger } from '../../gateway/logger.ts';
import type { Providers } from '../../gateway/providers/registry.ts';
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

export interface TestGateway {
  url: string;
  baseURL: string;
  sink: MemorySink;
  database: Database;
  keys: KeyStore;
  providers: Providers;
  prompts: Services['prompts'];
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
  overrides?: Partial<AppDeps>;
}

/** The real app on a real port (0), in-process, with a real database (PGlite by default). */
export async function startTestGateway(opts: TestGatewayOptions): Promise<TestGateway> {
  const config = parseConfig(opts.config, opts.env ?? {});
  const ownDatabase = !opts.database;
  const database = opts.database ?? (await openDatabase({}));
  if (ownDatabase) await database.migrate();
  const services = await startServices(config, database, { adminKey: ADMIN_KEY, providers: opts.providers, logger: silentLogger });
  const { keys, providers } = services;
  const sink = new MemorySink();
  const app = createApp({
    config,
    ...services,
    calls: opts.calls ?? sink,
    logger: silentLogger,
    now: () => performance.now(),
    clock: Date.now,
    random: Math.random,
    ...opts.overrides,
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
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
    async close() {
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.stop();
      if (ownDatabase) await database.close();
    },
  };
}
