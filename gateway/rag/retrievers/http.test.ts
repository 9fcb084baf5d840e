import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors/gateway-error.ts';
import { searchWithPolicy } from './guard.ts';
import { HttpRetriever } from './http.ts';

/** A search service on a real socket, misbehaving on demand by path. */
let server: Server;
let base: string;
const received: unknown[] = [];
const open = new Set<ServerResponse>();

function handle(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    received.push(JSON.parse(body));
    const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    switch (req.url) {
      case '/ok':
        return json(200, [
          { id: 'b', text: 'second', score: 0.5 },
          { id: 7, text: 'first', score: 0.9, metadata: { src: 'x' } },
          { id: 'c', text: 'third', score: 0.1, metadata: null },
        ]);
      case '/wrapped':
        return json(200, { documents: [{ id: 'a', text: 'alpha', score: 1 }] });
      case '/error':
        return json(500, { error: 'boom' });
      case '/garbage':
        return res.writeHead(200).end('<html>not json</html>');
      case '/shape':
        return json(200, [{ id: 'a', score: 'high' }]);
      case '/huge':
        return json(200, [{ id: 'a', text: 'x'.repeat(5_000), score: 1 }]);
      case '/hang':
        open.add(res);
        return;
      case '/stall-body':
        open.add(res);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[{"id":"a",');
        return;
      default:
        return json(404, {});
    }
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const retriever = (path: string, name = 'search') => new HttpRetriever({ name, url: `${base}${path}`, headers: { 'x-team': 'kb' }, maxResponseBytes: 1_000 });
const signal = () => new AbortController().signal;

describe('HttpRetriever', () => {
  it('POSTs {query, top_k, filters} and returns validated hits, best first, cut at top_k', async () => {
    received.length = 0;
    const docs = await retriever('/ok').search('refund policy', { topK: 2, filters: { lang: 'en' }, signal: signal() });
    expect(received).toEqual([{ query: 'refund policy', top_k: 2, filters: { lang: 'en' } }]);
    expect(docs).toEqual([
      { id: '7', collection: 'search', text: 'first', score: 0.9, metadata: { src: 'x' } },
      { id: 'b', collection: 'search', text: 'second', score: 0.5, metadata: {} },
    ]);
    expect(await retriever('/wrapped').search('q', { topK: 5, signal: signal() })).toHaveLength(1);
  });

  it.each([
    ['/error', 'HTTP 500'],
    ['/garbage', 'the response is not JSON'],
    ['/shape', 'unexpected response shape at 0.text'],
    ['/huge', 'the response is larger than 1000 bytes'],
  ])('rejects %s with a reason of its own wording', async (path, reason) => {
    await expect(retriever(path).search('q', { topK: 3, signal: signal() })).rejects.toThrow(reason);
  });
});

describe('retrieval policy around an HTTP retriever', () => {
  const opts = () => ({ topK: 3, signal: signal() });

  it('fail-open: an error, garbage or a hang yields no documents and the reason', async () => {
    for (const [path, reason] of [
      ['/error', 'HTTP 500'],
      ['/garbage', 'the response is not JSON'],
      ['/hang', 'timed out after 150 ms'],
    ] as const) {
      const result = await searchWithPolicy(retriever(path), { timeoutMs: 150, onError: 'fail-open' }, 'q', opts());
      expect(result).toMatchObject({ documents: [], error: reason });
    }
  });

  it('fail-closed: a failure is a 502 upstream_error naming the retriever', async () => {
    const err = await searchWithPolicy(retriever('/error', 'kb-search'), { timeoutMs: 1_000, onError: 'fail-closed' }, 'q', opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'upstream_error', status: 502, message: "Retriever 'kb-search' failed: HTTP 500." });
  });

  it('an unreachable service is reported without its address', async () => {
    const dead = new HttpRetriever({ name: 'dead', url: 'http://127.0.0.1:1/x', maxResponseBytes: 1_000 });
    const err = (await searchWithPolicy(dead, { timeoutMs: 1_000, onError: 'fail-closed' }, 'q', opts()).catch((e: unknown) => e)) as GatewayError;
    expect(err.message).toBe("Retriever 'dead' failed.");
  });

  it.each(['/hang', '/stall-body'])('a service that stalls (%s) never holds the search past its timeout', async (path) => {
    for (const onError of ['fail-open', 'fail-closed'] as const) {
      const started = performance.now();
      const outcome = await searchWithPolicy(retriever(path), { timeoutMs: 200, onError }, 'q', opts()).catch((e: unknown) => e);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(600);
      if (onError === 'fail-closed') expect(outcome).toMatchObject({ code: 'upstream_error', message: "Retriever 'search' failed: timed out after 200 ms." });
      else expect(outcome).toMatchObject({ documents: [], error: 'timed out after 200 ms' });
    }
  });

  it('a client abort is not swallowed by fail-open', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(searchWithPolicy(retriever('/hang'), { timeoutMs: 2_000, onError: 'fail-open' }, 'q', { topK: 3, signal: ac.signal })).rejects.toMatchObject({
      code: 'client_aborted',
    });
  });
});
