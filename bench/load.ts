/**
 * Closed-loop HTTP load generator, run as its own process so it does not share an event loop
 * with the servers it measures. `--serve` (how bench/run.ts uses it): reads LoadJob JSON lines
 * on stdin and answers with LoadMessage JSON lines on stdout. Standalone:
 *
 *   node --import tsx bench/load.ts --url http://127.0.0.1:8400/v1/chat/completions \
 *     --key sk-… --model up/gpt-4o-mini --connections 50 --duration 5 [--stream]
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { Histogram } from './histogram.ts';
import type { LoadJob, LoadMessage, LoadResult, WindowStats } from './protocol.ts';

const DONE_TAIL = 'data: [DONE]\n\n';

type Outcome =
  | { ok: true; status: number; cache: string | undefined; tail: string; ttfb: number; total: number; t1: number }
  | { ok: false; error: Error };

export async function runJob(job: LoadJob, emit: (m: LoadMessage) => void): Promise<LoadResult> {
  const pool = new Pool(job.origin, {
    connections: job.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const latency = new Histogram();
  const ttfb = new Histogram();
  const windowLatency = new Histogram();
  const windowTtfb = new Histogram();
  const statusCounts: Record<string, number> = {};
  const cacheHeader: Record<string, number> = {};
  let errors = 0;
  let non2xx = 0;
  let badBodies = 0;
  let windowErrors = 0;
  let windowNon2xx = 0;
  let firstError: string | undefined;

  const begin = performance.now();
  const measureStart = begin + job.warmupMs;
  const measureEnd = measureStart + job.durationMs;
  const windowMs = job.windowMs ?? 0;
  let windowStart = measureStart;
  let windowEnd = windowMs > 0 ? measureStart + windowMs : Number.POSITIVE_INFINITY;

  const flushWindow = (): void => {
    const seconds = (windowEnd - windowStart) / 1000;
    emit({
      type: 'window',
      id: job.id,
      at: Math.round((windowEnd - measureStart) / 1000),
      ...stats(windowLatency, windowTtfb, seconds),
      errors: windowErrors,
      non2xx: windowNon2xx,
    });
    windowLatency.reset();
    windowTtfb.reset();
    windowErrors = 0;
    windowNon2xx = 0;
    windowStart = windowEnd;
    windowEnd += windowMs;
  };

  // Pool.dispatch with a handler, not Pool.request: no Readable per response, so the
  // generator spends less of the shared CPU per request and its timestamps sit closer to the
  // socket events.
  const options = { path: job.path, method: 'POST' as const, headers: job.headers, body: job.body };
  const send = (t0: number): Promise<Outcome> =>
    new Promise((resolve) => {
      let first = -1;
      let status = 0;
      let cache: string | undefined;
      let tail = '';
      pool.dispatch(options, {
        onRequestStart() {},
        onResponseStart(_c, statusCode, headers) {
          status = statusCode;
          const h = headers['x-sluice-cache'];
          if (typeof h === 'string') cache = h;
        },
        onResponseData(_c, chunk) {
          if (first < 0) first = performance.now();
          if (job.stream) tail = (tail + chunk.toString('latin1')).slice(-DONE_TAIL.length);
        },
        onResponseEnd() {
          const t1 = performance.now();
          resolve({ ok: true, status, cache, tail, ttfb: (first < 0 ? t1 : first) - t0, total: t1 - t0, t1 });
        },
        onResponseError(_c, error) {
          resolve({ ok: false, error });
        },
      });
    });

  async function worker(): Promise<void> {
    while (performance.now() < measureEnd) {
      const out = await send(performance.now());
      if (!out.ok) {
        errors++;
        windowErrors++;
        firstError ??= `${out.error.name}: ${out.error.message}`;
        // A refused connection fails instantly; do not spin the CPU the targets need.
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const { status, t1 } = out;
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      if (status < 200 || status >= 300) {
        non2xx++;
        windowNon2xx++;
        firstError ??= `HTTP ${status}`;
      } else if (job.stream && out.tail !== DONE_TAIL) {
        badBodies++;
        firstError ??= `stream did not end with [DONE] (tail ${JSON.stringify(out.tail)})`;
      }
      if (t1 >= windowEnd && t1 < measureEnd) flushWindow();
      if (t1 >= measureStart && t1 < measureEnd) {
        latency.record(out.total);
        ttfb.record(out.ttfb);
        windowLatency.record(out.total);
        windowTtfb.record(out.ttfb);
        if (out.cache !== undefined) cacheHeader[out.cache] = (cacheHeader[out.cache] ?? 0) + 1;
      }
    }
  }

  await Promise.all(Array.from({ length: job.connections }, worker));
  if (windowMs > 0 && windowEnd <= measureEnd + 1) flushWindow();
  await pool.close();
  return {
    type: 'result',
    id: job.id,
    ...stats(latency, ttfb, job.durationMs / 1000),
    errors,
    non2xx,
    badBodies,
    statusCounts,
    cacheHeader,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

function stats(latency: Histogram, ttfb: Histogram, seconds: number): WindowStats {
  return {
    requests: latency.count,
    seconds,
    rps: Math.round((latency.count / seconds) * 10) / 10,
    latency: latency.summary(),
    ttfb: ttfb.summary(),
  };
}

async function serve(): Promise<void> {
  const write = (m: LoadMessage): void => void process.stdout.write(`${JSON.stringify(m)}\n`);
  write({ type: 'ready' });
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let job: LoadJob | undefined;
    try {
      job = JSON.parse(line) as LoadJob;
      write(await runJob(job, write));
    } catch (err) {
      write({ type: 'fatal', ...(job ? { id: job.id } : {}), message: String(err) });
    }
  }
}

async function standalone(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      key: { type: 'string', default: '' },
      model: { type: 'string', default: 'gpt-4o-mini' },
      connections: { type: 'string', short: 'c', default: '50' },
      duration: { type: 'string', short: 'd', default: '5' },
      warmup: { type: 'string', short: 'w', default: '1' },
      stream: { type: 'boolean', default: false },
    },
  });
  if (!values.url) throw new Error('--url is required (or --serve)');
  const url = new URL(values.url);
  const body: Record<string, unknown> = { model: values.model, messages: [{ role: 'user', content: 'Say hello.' }] };
  if (values.stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  const result = await runJob(
    {
      id: 'cli',
      origin: url.origin,
      path: url.pathname + url.search,
      headers: { 'content-type': 'application/json', ...(values.key ? { authorization: `Bearer ${values.key}` } : {}) },
      body: JSON.stringify(body),
      connections: Number(values.connections),
      warmupMs: Number(values.warmup) * 1000,
      durationMs: Number(values.duration) * 1000,
      stream: values.stream,
    },
    () => {},
  );
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--serve')) await serve();
  else await standalone();
}
