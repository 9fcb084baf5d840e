/**
 * `node --import tsx bench/observability-run.ts [--rounds N --duration S --warmup S --prime S]`:
 * the observability section of `npm run bench` (issue 17) on its own, with a fake upstream, the
 * four gateways and a load generator of its own, for iterating on the cost of metrics and
 * tracing without the rest of the suite. Writes nothing; prints the same report.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanup, stopAll } from './children.ts';
import { PRICING_CONFIG } from './key-policies.ts';
import { LoadClient } from './load-client.ts';
import { OBSERVABILITY_VARIANTS, observabilityConsole, observabilityEnv, runObservability, startOtlpSink, type ObservabilityVariant } from './observability.ts';
import { startGateway, startUpstream, type GatewayTarget } from './targets.ts';

const { values: flags } = parseArgs({
  options: { rounds: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' }, prime: { type: 'string' } },
});
const seconds = (s: string | undefined, fallback: number): number => Math.round((s === undefined ? fallback : Number(s)) * 1000);
const print = (line: string): void => void process.stdout.write(`${line}\n`);

const workDir = mkdtempSync(join(tmpdir(), 'sluice-bench-observability-'));
const sink = await startOtlpSink();
let load: LoadClient | undefined;
const cleanup = async (): Promise<void> => {
  await load?.close().catch(() => {});
  await sink.close().catch(() => {});
  await stopAll();
  rmSync(workDir, { recursive: true, force: true });
};
installCleanup(cleanup);

let code = 1;
try {
  const upstream = await startUpstream();
  load = await LoadClient.start();
  const gateways: Partial<Record<ObservabilityVariant, GatewayTarget>> = {};
  for (const variant of OBSERVABILITY_VARIANTS) {
    const dir = join(workDir, variant);
    mkdirSync(dir, { recursive: true });
    gateways[variant] = await startGateway({ upstream: upstream.origin, workDir: dir, configExtra: PRICING_CONFIG, env: observabilityEnv(variant, sink.url), name: `gateway (${variant})` });
  }
  const result = await runObservability(
    load,
    gateways as Record<ObservabilityVariant, GatewayTarget>,
    sink,
    { rounds: Number(flags.rounds ?? 5), warmupMs: seconds(flags.warmup, 0.4), durationMs: seconds(flags.duration, 2), primeMs: seconds(flags.prime, 1.5) },
    print,
  );
  print(observabilityConsole(result));
  code = result.failures > 0 ? 1 : 0;
} catch (err) {
  print(`\nobservability bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await cleanup();
}
process.exit(code);
