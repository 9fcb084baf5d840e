import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { pause, postChat, until } from './raw-client.ts';

/**
 * Issue 4, slow clients: slowloris sockets (a header byte at a time) and slow request bodies
 * do not hold up other clients; a client that stops reading a stream does not make the gateway
 * buffer without bound — backpressure reaches the upstream, which stops being read — and when
 * that client goes away the upstream request is cancelled.
 */
const SLOW_SOCKETS = 50;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const rssAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().rss;
};

/** An upstream whose stream never ends: it writes while the socket takes data, and counts. */
interface EndlessUpstream {
  url: string;
  written(): number;
  open(): number;
  close(): Promise<void>;
}

async function startEndlessUpstream(): Promise<EndlessUpstream> {
  let written = 0;
  let open = 0;
  const text = 'lorem ipsum '.repeat(80); // ~1 kB of content per event
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    open++;
    let closed = false;
    res.on('close', () => {
      closed = true;
      open--;
    });
    void (async () => {
      for (let i = 0; !closed; i++) {
        const event = `data: ${JSON.stringify({ id: 'chatcmpl-endless', object: 'chat.completion.chunk', created: 1, model: 'endless', choices: [{ index: 0, delta: { content: `${i} ${text}` }, finish_reason: null }] })}\n\n`;
        written += Buffer.byteLength(event);
        if (!res.write(event)) {
          await new Promise<void>((resolve) => {
            const go = () => {
              res.off('drain', go);
              res.off('close', go);
              resolve();
            };
            res.on('drain', go);
            res.on('close', go);
          });
        }
      }
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    written: () => written,
    open: () => open,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('slow clients', () => {
  let fake: FakeProvider;
  let endless: EndlessUpstream;
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    [fake, endless] = await Promise.all([startFakeProvider(), startEndlessUpstream()]);
    gw = await startTestGateway({
      config: {
        providers: {
          fake: { type: 'openai-compatible', base_url: fake.openaiBaseUrl },
          endless: { type: 'openai-compatible', base_url: endless.url, retry: { max_attempts: 1 } },
        },
      },
    });
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => {
    await gw?.close();
    await endless?.close();
    await fake?.close();
  });

  const normalCall = async () => {
    const t0 = performance.now();
    const answer = await postChat(gw.url, { model: 'fake/gpt-4o-mini', messages: [{ role: 'user', content: 'are you there' }] });
    return { answer, ms: performance.now() - t0 };
  };

  it(`serves a normal call promptly while ${SLOW_SOCKETS} slowloris sockets and slow bodies trickle in`, async () => {
    const sockets: Socket[] = [];
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\n`;
    const body = JSON.stringify({ model: 'fake/gpt-4o-mini', messages: [{ role: 'user', content: 'slow body' }] });
    for (let i = 0; i < SLOW_SOCKETS; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      await once(s, 'connect');
      // Half send their head a byte at a time; half send the whole head, then the body a byte at a time.
      if (i % 2 === 1) s.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      sockets.push(s);
    }
    let sent = 0;
    const drip = setInterval(() => {
      sockets.forEach((s, i) => {
        const source = i % 2 === 0 ? head : body;
        // Never finish: keep the last byte back so each request stays incomplete.
        if (sent < source.length - 1) s.write(source[sent]!);
      });
      sent++;
    }, 50);
    try {
      await pause(500); // every slow socket is mid-request now
      const timings: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { answer, ms } = await normalCall();
        expect(answer.status).toBe(200);
        timings.push(ms);
      }
      expect(Math.max(...timings)).toBeLessThan(1_000);
      expect(sockets.filter((s) => s.destroyed)).toHaveLength(0); // they are still open, still trickling
      console.info(`[slow-clients] normal call with ${SLOW_SOCKETS} slow sockets open: max ${Math.max(...timings).toFixed(1)} ms`);
    } finally {
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    }
  });

  it('a stalled stream reader gets backpressure, not an unbounded buffer; leaving cancels the upstream', async () => {
    const before = rssAfterGc();
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(
        `${gw.url}/v1/chat/completions`,
        { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, agent: false },
        resolve,
      );
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'endless/m', messages: [{ role: 'user', content: 'never stop' }], stream: true }));
    });
    expect(res.statusCode).toBe(200);
    // Read one piece, then stop reading altogether.
    await once(res, 'data');
    res.pause();

    // The upstream keeps writing only until every buffer on the way is full, then waits.
    await until('the upstream to be held back', async () => {
      const a = endless.written();
      await pause(300);
      return endless.written() - a < 64 * 1024;
    }, 10_000, 0);
    const plateau = endless.written();
    await pause(1_000);
    const later = endless.written();
    // Under a loaded CI machine the buffers may still settle a little; what matters is that
    // writing has all but stopped (a stream with no backpressure writes megabytes a second).
    expect(later - plateau).toBeLessThan(2 * 1024 * 1024);
    // Socket buffers on two loopback hops plus the stream queues: megabytes, not the whole stream.
    expect(plateau).toBeLessThan(64 * 1024 * 1024);
    const rssGrowth = (rssAfterGc() - before) / 1024 / 1024;
    expect(rssGrowth).toBeLessThan(100);

    // Others are served meanwhile.
    const { answer, ms } = await normalCall();
    expect(answer.status).toBe(200);
    expect(ms).toBeLessThan(1_000);

    // The stalled client goes away: the gateway cancels the upstream request.
    expect(endless.open()).toBe(1);
    res.destroy();
    await until('the upstream request to be cancelled', () => endless.open() === 0, 5_000);
    await until('the call record', () => gw.sink.records.some((r) => r.model === 'm' && r.status === 'client_aborted'), 5_000);
    console.info(
      `[slow-clients] stalled reader: upstream held at ${(plateau / 1024 / 1024).toFixed(1)} MB written, ` +
        `rss +${rssGrowth.toFixed(0)} MB, normal call ${ms.toFixed(1)} ms meanwhile`,
    );
  });
});
