/**
 * Starts what the benchmark measures, each in its own process on 127.0.0.1: the fake upstream,
 * the bare pass-through proxy and the gateway (compiled, dist/gateway/server.js, with a generated
 * config; see gatewayEntry).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { compiledFile } from '../gateway/cli/compiled.mjs';
import { readyPort, REPO_ROOT, spawnNode, waitForLine, type Child } from './children.ts';

export const ADMIN_KEY = 'sk-bench-admin-0123456789';

export interface Target {
  name: 'direct' | 'bare' | 'gateway';
  origin: string;
  child: Child;
}

export interface GatewayLog {
  errors: number;
  warnings: number;
  /** The first few error/warning lines, verbatim. */
  samples: string[];
}

export interface GatewayTarget extends Target {
  name: 'gateway';
  /** From /healthz: 'pglite' or 'postgres'. */
  database: string;
  log: GatewayLog;
}

export async function startUpstream(): Promise<Target> {
  const child = spawnNode({ name: 'fake upstream', script: 'bench/fake-upstream.ts' });
  const port = await waitForLine(child, 'stdout', readyPort, 30_000);
  return { name: 'direct', origin: `http://127.0.0.1:${port}`, child };
}

export async function startBareProxy(upstream: string): Promise<Target> {
  const child = spawnNode({ name: 'bare proxy', script: 'bench/bare-proxy.ts', args: ['--upstream', upstream] });
  const port = await waitForLine(child, 'stdout', readyPort, 30_000);
  return { name: 'bare', origin: `http://127.0.0.1:${port}`, child };
}

let entry: string | undefined;

/**
 * The gateway as users run it (`npm start`): compiled in dist/, built first when the sources
 * changed; its TypeScript through tsx only when it cannot be built or with SLUICE_FROM_SOURCE=1.
 */
export function gatewayEntry(): string {
  if (entry !== undefined) return entry;
  if (process.env.SLUICE_FROM_SOURCE !== '1') execFileSync(process.execPath, ['gateway/cli/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  entry = compiledFile('gateway/server.js') ? 'dist/gateway/server.js' : 'gateway/server.ts';
  return entry;
}

export interface GatewayOptions {
  upstream: string;
  /** Temporary directory for the config and (without DATABASE_URL) the PGlite data. */
  workDir: string;
  /** When set, the gateway runs with --cpu-prof writing into this directory. */
  profileDir?: string | undefined;
  /** Extra node flags (e.g. `--trace-gc`, which NODE_OPTIONS does not take). */
  nodeArgs?: string[] | undefined;
  /** Extra top-level config lines (e.g. `logging: { enabled: false }`). */
  configExtra?: string[] | undefined;
  /** Extra environment for the gateway process (e.g. REDIS_URL). */
  env?: Record<string, string> | undefined;
  /** Process name in error messages (default `gateway`). */
  name?: string | undefined;
  /**
   * The database to log to: a postgres:// URL, or null for the embedded PGlite in workDir.
   * Default: the bench's own DATABASE_URL when set, else embedded.
   */
  databaseUrl?: string | null | undefined;
}

export async function startGateway(opts: GatewayOptions): Promise<GatewayTarget> {
  const configPath = join(opts.workDir, 'sluice.config.yaml');
  writeFileSync(
    configPath,
    ['providers:', `  up: { type: openai-compatible, base_url: ${opts.upstream}/v1, api_key: sk-bench-upstream }`, ...(opts.configExtra ?? []), ''].join('\n'),
  );
  const log: GatewayLog = { errors: 0, warnings: 0, samples: [] };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_CONFIG: configPath,
    SLUICE_ADMIN_KEY: ADMIN_KEY,
    // Spool and, without DATABASE_URL, the embedded PGlite live here; gone after the run.
    SLUICE_DATA_DIR: join(opts.workDir, 'data'),
  };
  const databaseUrl = opts.databaseUrl === undefined ? process.env.DATABASE_URL : opts.databaseUrl;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  Object.assign(env, opts.env);
  const child = spawnNode({
    name: opts.name ?? 'gateway',
    script: gatewayEntry(),
    nodeArgs: [...(opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : []), ...(opts.nodeArgs ?? [])],
    env,
    onStderr: (line) => {
      const level = /"level":"(error|warn)"/.exec(line)?.[1];
      if (!level) return;
      if (level === 'error') log.errors++;
      else log.warnings++;
      if (log.samples.length < 5) log.samples.push(line.slice(0, 400));
    },
  });
  const origin = await waitForLine(
    child,
    'stderr',
    (line) => {
      if (!line.includes('sluice listening')) return undefined;
      try {
        return (JSON.parse(line) as { url?: string }).url;
      } catch {
        return undefined;
      }
    },
    90_000,
  );
  const health = await waitForHealth(origin);
  return { name: 'gateway', origin, child, database: typeof health.database === 'string' ? health.database : 'unknown', log };
}

/** The call writer's counters from /healthz (`call_log`), when the gateway reports them. */
export interface CallLogCounters {
  queued?: number;
  written?: number;
  spooled?: number;
  dropped?: number;
  failedBatches?: number;
  lastError?: string | null;
  enabled?: boolean;
}

export async function callLogCounters(gateway: Target): Promise<CallLogCounters | null> {
  try {
    const res = await request(`${gateway.origin}/healthz`);
    const body = (await res.body.json()) as { call_log?: CallLogCounters };
    return body.call_log ?? null;
  } catch {
    return null;
  }
}

export function describeCallLog(c: CallLogCounters | null, sent?: number): string {
  if (!c) return 'call log: not reported by /healthz';
  if (c.enabled === false) return 'call log: disabled';
  const of = sent === undefined ? '' : ` of ${sent.toLocaleString('en-US')} gateway requests`;
  return (
    `call log: ${(c.written ?? 0).toLocaleString('en-US')} written${of}, ${c.queued ?? 0} queued, ${c.spooled ?? 0} spooled, ` +
    `${c.dropped ?? 0} dropped, ${c.failedBatches ?? 0} failed batches${c.lastError ? `, last error: ${c.lastError}` : ''}`
  );
}

async function waitForHealth(origin: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await request(`${origin}/healthz`);
      const body = (await res.body.json()) as Record<string, unknown>;
      if (res.statusCode === 200) return body;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`gateway at ${origin} did not answer /healthz`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
