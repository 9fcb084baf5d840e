import { GatewayError } from '../errors/gateway-error.ts';
import type { UpstreamClient, UpstreamResponse } from '../providers/upstream-client.ts';
import { SseParser, type SseEvent } from './sse-parser.ts';

/**
 * The SSE events of an upstream response body, as they arrive. A connection failure or
 * timeout mid-stream surfaces as the client's GatewayError mapping.
 */
export async function* upstreamEvents(
  client: UpstreamClient,
  res: UpstreamResponse,
  signal: AbortSignal,
): AsyncGenerator<SseEvent, void, undefined> {
  const parser = new SseParser();
  try {
    for await (const piece of res.body) {
      const events = parser.push(piece as Uint8Array);
      for (const event of events) yield event;
    }
  } catch (err) {
    const mapped = client.networkError(err, signal, undefined);
    if (mapped.code !== 'upstream_unreachable') throw mapped;
    throw new GatewayError('upstream_error', `provider ${mapped.provider ?? ''} closed the connection mid-stream`, {
      ...(mapped.provider === undefined ? {} : { provider: mapped.provider }),
      cause: err,
    });
  }
  for (const event of parser.end()) yield event;
}
