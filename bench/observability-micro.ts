/**
 * The same costs as observability.ts, measured in this process without a network or a second
 * process in the way, so they are not lost in the noise of a 0.02 ms goal: µs of one core per
 * call for Metrics.observe on a finished record, and for one call's spans (server span, one
 * client span, three phase spans): what recording them costs on the call's path, and that plus
 * making the SDK spans and exporting them to the local OTLP receiver, all in this thread (the
 * gateway does the export in a thread of its own). A hot loop keeps the SDK in the CPU caches:
 * the same work inside a real request costs several times more.
 */
import { readFileSync } from 'node:fs';
import { sampleRecord } from '../test/helpers/sample-record.ts';
import { CallEvents } from '../gateway/calls/call-events.ts';
import { parseConfig } from '../gateway/config/load.ts';
import { RejectionCounters } from '../gateway/http/rejections.ts';
import { Metrics } from '../gateway/observability/metrics.ts';
import { otlpTracing } from '../gateway/observability/tracing-otel.ts';
import { NO_INCOMING_TRACE, otlpSettings } from '../gateway/observability/tracing.ts';
import { median } from './summary.ts';

export interface ObservabilityMicro {
  /** µs per call: Metrics.observe of one finished record. */
  metricsUs: number;
  /** µs per call on the call's own path: recording its spans. */
  tracingPathUs: number;
  /** CPU µs per call of the serving thread: recording, and handing the spans to the export thread. */
  tracingUs: number | null;
  /** CPU µs per call of the export thread: making the SDK spans, serialising and sending them. */
  tracingExportUs: number | null;
}

// USER_HZ, the unit of utime/stime in /proc/…/stat: 100 on every mainstream Linux build.
const TICKS_PER_S = 100;

/** CPU ms (10 ms resolution) one thread of a process has used: its main thread when tid = pid. Linux only. */
export function readThreadCpuMs(pid: number, tid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_S : null;
  } catch {
    return null;
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export async function observabilityMicro(otlpUrl: string, quick: boolean): Promise<ObservabilityMicro> {
  const config = parseConfig({ providers: { openai: { type: 'openai', api_key: 'sk-bench' } }, routes: { 'support-bot': { variants: [{ name: 'control', target: 'openai/gpt-4o-mini' }] } } }, {});
  const metrics = new Metrics({ config, events: new CallEvents(() => {}), rejections: new RejectionCounters(), processMetrics: false });
  const record = sampleRecord();
  const batches = 5;
  const perBatch = quick ? 20_000 : 100_000;
  const metricsRuns: number[] = [];
  for (let b = -1; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) metrics.observe(record);
    if (b >= 0) metricsRuns.push(((performance.now() - t0) * 1000) / perBatch);
  }
  metrics.stop();

  // As the gateway runs it: the default protocol (http/protobuf), export in its own thread.
  const tracing = await otlpTracing(otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_SERVICE_NAME: 'sluice-bench-micro' })!);
  const calls = quick ? 4_000 : 20_000;
  const mainRuns: number[] = [];
  const exportRuns: number[] = [];
  const pathRuns: number[] = [];
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  for (let b = -1; b < batches; b++) {
    let path = 0;
    const main0 = readThreadCpuMs(process.pid, process.pid);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      const p0 = performance.now();
      const call = tracing.startCall('chat.completions', NO_INCOMING_TRACE)!;
      for (const phase of ['prompt', 'retrieval', 'cache'] as const) call.startPhase(phase).end({ 'sluice.cache': 'miss' });
      call.startAttempt('openai', 'gpt-4o-mini').end(record.attempts[0]!);
      call.end(record);
      path += performance.now() - p0;
      // A turn of the event loop now and then, as between requests: the spans are handed over
      // there. Every 400 calls all is exported: this loop makes spans far faster than a gateway,
      // and the batch processor drops what exceeds its queue (2,048) while an export is in flight.
      if (i % 400 === 399) await tracing.forceFlush();
      else if (i % 16 === 15) await turn();
    }
    await tracing.forceFlush();
    const main1 = readThreadCpuMs(process.pid, process.pid);
    const cpu = process.cpuUsage(cpu0);
    if (b >= 0) {
      pathRuns.push((path * 1000) / calls);
      if (main0 !== null && main1 !== null) {
        mainRuns.push(((main1 - main0) * 1000) / calls);
        exportRuns.push((cpu.user + cpu.system - (main1 - main0) * 1000) / calls);
      }
    }
  }
  await tracing.shutdown();
  return {
    metricsUs: round2(median(metricsRuns)),
    tracingPathUs: round2(median(pathRuns)),
    tracingUs: mainRuns.length ? round2(median(mainRuns)) : null,
    tracingExportUs: exportRuns.length ? round2(median(exportRuns)) : null,
  };
}
