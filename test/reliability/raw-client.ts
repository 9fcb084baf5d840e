/**
 * Plain HTTP clients for the fault suite: the raw status, headers and body of every answer
 * (an SDK would retry, or hide the body we want to validate), and SSE split into events.
 */
import { request, type Agent } from 'node:http';
import { ADMIN_KEY } from '../helpers/gateway.ts';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The JSON body, when it parses. */
  json: unknown;
  /** SSE `data:` payloads in order (text/event-stream answers only). */
  events: string[];
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** Default: a fresh connection per request. */
  agent?: Agent;
}

/** One request over a fresh connection (node:http, no retries); rejects only on a transport failure. */
export function rawRequest(baseUrl: string, req: RawRequest): Promise<RawAnswer> {
  const url = new URL(req.path, baseUrl);
  return new Promise((resolve, reject) => {
    const r = request(
      url,
      { method: req.method ?? 'POST', headers: req.headers ?? {}, agent: req.agent ?? false, timeout: req.timeoutMs ?? 15_000 },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          const type = String(res.headers['content-type'] ?? '');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: parseJson(text),
            events: type.startsWith('text/event-stream') ? sseData(text) : [],
          });
        });
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${req.timeoutMs ?? 15_000} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** POST /v1/chat/completions with the admin key. */
export function postChat(baseUrl: string, body: unknown, opts: { headers?: Record<string, string>; agent?: Agent } = {}): Promise<RawAnswer> {
  return rawRequest(baseUrl, {
    path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify(body),
    ...(opts.agent ? { agent: opts.agent } : {}),
  });
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at a time; results in order. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, lane));
  return out;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The `data:` payloads of an SSE body (multi-line data joined with \n, as the spec says). */
export function sseData(text: string): string[] {
  const out: string[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length > 0) out.push(data.join('\n'));
  }
  return out;
}

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true, or throws after `timeoutMs` with `what` in the message. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(everyMs);
  }
}
