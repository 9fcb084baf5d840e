/** The HTTP server: recording, routing, auth and fault application. Behaviour documented in `../fake-provider.ts`. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { anthropicAuthError, anthropicError, anthropicErrorBody, anthropicModelGet, anthropicModels, countTokens, messages } from './anthropic.ts';
import { deliver, FaultQueue, kill, sendJson, sleep, type Exchange, type FaultFields } from './faults.ts';
import { chatCompletions, embeddings, openaiAuthError, openaiError, openaiErrorBody, openaiModelGet, openaiModels } from './openai.ts';
import { responses } from './responses.ts';
import { randomId } from './text.ts';
import {
  DEFAULT_MODELS,
  type FakeProvider,
  type FakeProviderOptions,
  type HandlerContext,
  type Plan,
  type AnthropicJson,
  type RecordedRequest,
  type UsageOverride,
} from './types.ts';

type Flavor = 'openai' | 'anthropic';

const POST_ROUTES = new Set(['/v1/chat/completions', '/v1/embeddings', '/v1/responses', '/v1/messages', '/v1/messages/count_tokens']);

function flavorOf(pathname: string, req: IncomingMessage): Flavor {
  if (pathname === '/v1/messages' || pathname.startsWith('/v1/messages/')) return 'anthropic';
  if (pathname === '/v1/chat/completions' || pathname === '/v1/embeddings' || pathname === '/v1/responses') return 'openai';
  return req.headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function parseBody(raw: string): { body: unknown; json: boolean } {
  if (raw === '') return { body: undefined, json: false };
  try {
    return { body: JSON.parse(raw) as unknown, json: true };
  } catch {
    return { body: raw, json: false };
  }
}

function providedKey(req: IncomingMessage, flavor: Flavor): string | undefined {
  if (flavor === 'anthropic') {
    // Anthropic accepts `x-api-key`; the official SDK (v1.14) sends the key as `Authorization: Bearer`.
    const k = req.headers['x-api-key'];
    if (typeof k === 'string' && k !== '') return k;
  }
  const auth = req.headers.authorization;
  if (typeof auth !== 'string') return undefined;
  const m = /^Bearer\s+(.*)$/i.exec(auth.trim());
  return m?.[1] ? m[1] : undefined;
}

function errorPlan(flavor: Flavor, status: number, message: string): Plan {
  return flavor === 'anthropic' ? anthropicError(status, message) : openaiError(status, message);
}

export async function startFakeProvider(opts: FakeProviderOptions = {}): Promise<FakeProvider> {
  const requests: RecordedRequest[] = [];
  const faults = new FaultQueue();
  const sockets = new Set<Socket>();
  let reply: ((req: unknown) => string) | null = null;
  let toolCalls: HandlerContext['toolCalls'] = null;
  let usage: Partial<UsageOverride> | null = null;
  let toolCounter = 0;
  let closing = false;
  const models = opts.models ?? DEFAULT_MODELS;
  let anthropicJson: AnthropicJson = opts.anthropicJson ?? 'structured_outputs';
  // Responses sent in full, and requests held (afterAnswers) until there are enough of them.
  let answered = 0;
  let held: Array<{ n: number; release: () => void }> = [];
  const countAnswer = (): void => {
    answered++;
    held = held.filter((h) => (answered >= h.n ? (h.release(), false) : true));
  };
  const afterAnswers = (n: number, res: ServerResponse): Promise<void> =>
    answered >= n
      ? Promise.resolve()
      : new Promise((resolve) => {
          held.push({ n, release: resolve });
          res.once('close', () => resolve());
        });

  const ctx = (): HandlerContext => ({
    reply,
    usage,
    models,
    embeddingDimensions: opts.embeddingDimensions ?? 8,
    anthropicJson,
    toolCalls,
    nextToolId: () => ++toolCounter,
  });

  function route(method: string, pathname: string, req: IncomingMessage, flavor: Flavor, body: unknown, json: boolean): Plan {
    if (opts.apiKey !== undefined) {
      const key = providedKey(req, flavor);
      if (key !== opts.apiKey) return flavor === 'anthropic' ? anthropicAuthError(key) : openaiAuthError(key);
    }
    if (flavor === 'anthropic' && req.headers['anthropic-version'] === undefined) {
      return anthropicError(400, 'anthropic-version: header is required', 'invalid_request_error');
    }
    if (method === 'POST' && !json && POST_ROUTES.has(pathname)) {
      return errorPlan(flavor, 400, 'We could not parse the JSON body of your request.');
    }
    const c = ctx();
    if (method === 'POST' && pathname === '/v1/chat/completions') return chatCompletions(body, c);
    if (method === 'POST' && pathname === '/v1/embeddings') return embeddings(body, c);
    if (method === 'POST' && pathname === '/v1/responses') return responses(body, c);
    if (method === 'POST' && pathname === '/v1/messages') return messages(body, c);
    if (method === 'POST' && pathname === '/v1/messages/count_tokens') return countTokens(body);
    if (method === 'GET' && pathname === '/v1/models') return flavor === 'anthropic' ? anthropicModels(models) : openaiModels(models);
    if (method === 'GET' && pathname.startsWith('/v1/models/')) {
      const id = decodeURIComponent(pathname.slice('/v1/models/'.length));
      return flavor === 'anthropic' ? anthropicModelGet(models, id) : openaiModelGet(models, id);
    }
    return flavor === 'anthropic'
      ? anthropicError(404, 'Not Found', 'not_found_error')
      : openaiError(404, `Invalid URL (${method} ${pathname})`, 'invalid_request_error');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const pathname = path.split('?')[0] ?? '/';
    const rec: RecordedRequest = { method, path, headers: { ...req.headers }, body: undefined, aborted: false };
    requests.push(rec);
    const flavor = flavorOf(pathname, req);
    const requestId = randomId('req_');
    const ex: Exchange = {
      req,
      res,
      serverKilled: false,
      baseHeaders: flavor === 'anthropic' ? { 'request-id': requestId } : { 'x-request-id': requestId },
    };
    res.on('close', () => {
      if (!res.writableFinished && !ex.serverKilled && !closing) rec.aborted = true;
    });
    res.on('finish', countAnswer);

    const { body, json } = parseBody(await readBody(req));
    rec.body = body;
    const fault: FaultFields | undefined = faults.take(pathname);

    if (fault?.delayMs) await sleep(fault.delayMs, res);
    if (fault?.afterAnswers !== undefined) await afterAnswers(fault.afterAnswers, res);
    if (res.destroyed) return;
    if (fault?.reset) return kill(ex);
    if (fault?.hang) return; // never answered; close() or the client ends it
    if (fault?.status !== undefined) {
      const said = `Injected fault: HTTP ${fault.status}${fault.echoHeaders ? `; request headers: ${JSON.stringify(req.headers)}` : ''}`;
      const errBody =
        fault.body !== undefined
          ? fault.body
          : flavor === 'anthropic'
            ? anthropicErrorBody(fault.status, said)
            : openaiErrorBody(fault.status, said);
      return sendJson(ex, { kind: 'json', status: fault.status, body: errBody, ...(fault.headers ? { headers: fault.headers } : {}) });
    }
    let plan: Plan;
    try {
      plan = route(method, pathname, req, flavor, body, json);
    } catch (err) {
      plan = errorPlan(flavor, 500, `fake provider crashed: ${err instanceof Error ? err.message : String(err)}`);
    }
    await deliver(ex, plan, fault);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.destroyed) res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    requests,
    enqueue: (...fs) => faults.push(...fs),
    setReply: (fn) => {
      reply = fn;
    },
    setUsage: (u) => {
      usage = u;
    },
    setToolCalls: (fn) => {
      toolCalls = fn;
    },
    setAnthropicJson: (mode) => {
      anthropicJson = mode ?? opts.anthropicJson ?? 'structured_outputs';
    },
    answered: () => answered,
    reset: () => {
      requests.length = 0;
      faults.clear();
      reply = null;
      usage = null;
      toolCalls = null;
      toolCounter = 0;
      anthropicJson = opts.anthropicJson ?? 'structured_outputs';
      answered = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }),
  };
}
