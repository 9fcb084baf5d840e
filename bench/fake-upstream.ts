/**
 * The benchmark's upstream: an OpenAI-compatible chat completions endpoint that answers as fast
 * as node:http can. Every body is built once at start; a request costs one scan of its body for
 * `"stream": true` and `"include_usage": true`. Not the test helper (test/helpers/fake-provider),
 * which parses, validates and records every request and so would dominate what we measure.
 *
 *   node --import tsx bench/fake-upstream.ts [--port N]   → prints {"ready":true,"port":N}
 *
 * Streams write a role chunk, five content chunks, a finish chunk, the usage chunk when
 * `stream_options.include_usage` is set, and `data: [DONE]`, one chunk per event-loop turn so
 * a proxy that buffers instead of streaming shows up in time-to-first-byte.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ID = 'chatcmpl-bench0000000000000000000000';
const CREATED = 1_767_225_600;
const MODEL = 'gpt-4o-mini-2024-07-18';
const WORDS = ['Hello', ' from', ' the', ' fake', ' upstream.'];
const USAGE = {
  prompt_tokens: 12,
  completion_tokens: WORDS.length,
  total_tokens: 12 + WORDS.length,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};

const COMPLETION = Buffer.from(
  JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: WORDS.join(''), refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: USAGE,
    service_tier: 'default',
    system_fingerprint: 'fp_bench',
  }),
);

function event(data: unknown): Buffer {
  return Buffer.from(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

function chunk(delta: Record<string, unknown>, finish: string | null): Buffer {
  return event({
    id: ID,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: MODEL,
    system_fingerprint: 'fp_bench',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
}

const STREAM_BODY: Buffer[] = [chunk({ role: 'assistant', content: '', refusal: null }, null), ...WORDS.map((w) => chunk({ content: w }, null)), chunk({}, 'stop')];
const USAGE_EVENT = event({ id: ID, object: 'chat.completion.chunk', created: CREATED, model: MODEL, system_fingerprint: 'fp_bench', choices: [], usage: USAGE });
const DONE_EVENT = event('[DONE]');
const STREAM_WITH_USAGE = [...STREAM_BODY, USAGE_EVENT, DONE_EVENT];
const STREAM_WITHOUT_USAGE = [...STREAM_BODY, DONE_EVENT];

const MODELS = Buffer.from(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: CREATED, owned_by: 'bench' }] }));
const NOT_FOUND = Buffer.from(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: 'not_found' } }));

const JSON_HEADERS = { 'content-type': 'application/json', 'content-length': String(COMPLETION.length) };
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const STREAM_RE = /"stream"\s*:\s*true/;
const USAGE_RE = /"include_usage"\s*:\s*true/;

function writeStream(res: ServerResponse, events: readonly Buffer[]): void {
  res.writeHead(200, SSE_HEADERS);
  let i = 0;
  const next = (): void => {
    if (res.destroyed) return;
    const e = events[i++];
    if (e === undefined) {
      res.end();
      return;
    }
    res.write(e);
    setImmediate(next);
  };
  next();
}

/** Connections accepted and requests answered since start: GET /__stats (a proxy that does not reuse connections shows up here). */
const counters = { connections: 0, requests: 0 };

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  counters.requests++;
  if (req.method === 'POST' && req.url === '/v1/chat/completions') {
    if (STREAM_RE.test(body)) writeStream(res, USAGE_RE.test(body) ? STREAM_WITH_USAGE : STREAM_WITHOUT_USAGE);
    else {
      res.writeHead(200, JSON_HEADERS);
      res.end(COMPLETION);
    }
    return;
  }
  if (req.method === 'GET' && req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(counters));
    return;
  }
  if (req.method === 'GET' && req.url === '/v1/models') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MODELS.length) });
    res.end(MODELS);
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': String(NOT_FOUND.length) });
  res.end(NOT_FOUND);
}

export function startFakeUpstream(port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (s: string) => (body += s));
    req.on('end', () => answer(req, res, body));
  });
  server.on('connection', () => counters.connections++);
  // Longer than the clients' keep-alive so the server never closes a socket they are reusing.
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
  const { port } = await startFakeUpstream(Number(values.port));
  process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
  process.once('SIGTERM', () => process.exit(0));
  process.once('SIGINT', () => process.exit(0));
}
