/**
 * The floor the gateway is compared with: node:http in, an undici keep-alive Pool out, bodies
 * piped both ways, nothing parsed, no auth, no logging. What a proxy costs before it does
 * anything useful.
 *
 *   node --import tsx bench/bare-proxy.ts --upstream http://127.0.0.1:N [--port M]
 *     → prints {"ready":true,"port":M}
 */
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, not to the message.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

export function startBareProxy(upstream: string, port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
  const server = createServer((req, res) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    pool
      .request({
        path: req.url ?? '/',
        method: (req.method ?? 'GET') as 'GET',
        headers: endToEnd(req.headers) as Record<string, string>,
        body: hasBody ? req : null,
      })
      .then(
        (up) => {
          res.writeHead(up.statusCode, endToEnd(up.headers));
          pipeline(up.body, res, () => {});
        },
        (err: unknown) => {
          const message = JSON.stringify({ error: { message: `bare proxy: ${String(err)}`, type: 'api_error', param: null, code: 'bad_gateway' } });
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
          res.end(message);
        },
      );
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: async () => {
          await new Promise<void>((r) => server.close(() => r()));
          await pool.close();
        },
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } } });
  if (!values.upstream) throw new Error('--upstream http://127.0.0.1:PORT is required');
  const { port } = await startBareProxy(values.upstream, Number(values.port));
  process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
  process.once('SIGTERM', () => process.exit(0));
  process.once('SIGINT', () => process.exit(0));
}
