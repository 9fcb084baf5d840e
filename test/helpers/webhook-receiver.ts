import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver {
  url: string;
  /** Every POST received, in order: its body and its `x-sluice-signature`. */
  got: Array<{ body: string; signature: string | undefined }>;
  /** Statuses to answer the next requests with (then 200). */
  fail: number[];
  close(): Promise<void>;
}

/** A webhook endpoint for notification tests: a real HTTP server on 127.0.0.1 that keeps what it got. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const got: WebhookReceiver['got'] = [];
  const fail: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      got.push({ body, signature: req.headers['x-sluice-signature'] as string | undefined });
      res.statusCode = fail.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, fail, close: () => new Promise((r) => server.close(() => r())) };
}
