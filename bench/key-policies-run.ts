/**
 * `node --import tsx bench/key-policies-run.ts [--rounds N] [--duration S] [--connections 1,10]`:
 * only the key-policy section of `npm run bench` (key-policies.ts) — a fake upstream, a gateway
 * on the database store (DATABASE_URL, else PGlite) and, when Redis answers at REDIS_URL (default
 * redis://127.0.0.1:6379), a gateway on Redis — for iterating on issue 16's latency goal without
 * the whole suite. Prints the section's table; writes nothing.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanup, stopAll } from './children.ts';
import { DEFAULT_REDIS_URL, keyPoliciesConsole, PRICING_CONFIG, redisAnswers, runKeyPolicies, type StoreGateway } from './key-policies.ts';
import { LoadClient } from './load-client.ts';
import { startGateway, startUpstream } from './targets.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, duration: { type: 'string' }, connections: { type: 'string' } } });
const print = (line: string): void => void process.stdout.write(`${line}\n`);
const workDir = mkdtempSync(join(tmpdir(), 'sluice-key-policies-'));
let load: LoadClient | undefined;
const cleanup = async (): Promise<void> => {
  await load?.close().catch(() => {});
  await stopAll();
  rmSync(workDir, { recursive: true, force: true });
};
installCleanup(cleanup);

let code = 1;
try {
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const ping = await redisAnswers(redisUrl);
  const upstream = await startUpstream();
  const dirs = ['db', 'redis'].map((d) => join(workDir, d));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  const env = { REDIS_URL: '' };
  const [gateway, redisGateway] = await Promise.all([
    startGateway({ upstream: upstream.origin, workDir: dirs[0]!, configExtra: PRICING_CONFIG, env }),
    ping.ok ? startGateway({ upstream: upstream.origin, workDir: dirs[1]!, configExtra: PRICING_CONFIG, env: { REDIS_URL: redisUrl }, name: 'gateway (redis)' }) : Promise.resolve(undefined),
  ]);
  load = await LoadClient.start();
  const stores: StoreGateway[] = [{ store: gateway.database, gateway }];
  if (redisGateway) stores.push({ store: 'redis', gateway: redisGateway, redisUrl, serverPid: ping.pid });
  const durationMs = Math.round(Number(values.duration ?? 2) * 1000);
  const connections = (values.connections ?? '1').split(',').map(Number);
  const result = await runKeyPolicies(
    load,
    stores,
    ping.ok ? null : `no Redis answered PING at ${redisUrl} (${ping.detail})`,
    { rounds: Number(values.rounds ?? 3), warmupMs: 400, durationMs: Object.fromEntries(connections.map((c) => [c, durationMs])), connections, primeMs: 400, coldPrimeMs: 1_000, interleavedRounds: 15, interleavedMs: 300 },
    print,
  );
  print(keyPoliciesConsole(result));
  code = result.failures > 0 || result.settled.some((s) => !s.ok) ? 1 : 0;
} catch (err) {
  print(`key-policies run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await cleanup();
}
process.exit(code);
