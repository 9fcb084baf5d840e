import type { ProviderConfig } from '../config/schema.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { providerSecrets } from './scrub-secrets.ts';
import { UpstreamClient, type UpstreamResponse } from './upstream-client.ts';

export const DEFAULT_TIMEOUTS = { connect_ms: 5_000, first_byte_ms: 60_000, total_ms: 600_000 } as const;

/** The UpstreamClient every provider type builds the same way. */
export function clientFor(
  name: string,
  config: ProviderConfig,
  baseUrl: string,
  authHeaders: Record<string, string>,
): UpstreamClient {
  return new UpstreamClient({
    provider: name,
    baseUrl,
    headers: mergeHeaders({ 'user-agent': 'sluice/0.1' }, config.headers ?? {}, authHeaders),
    timeouts: config.timeouts ?? DEFAULT_TIMEOUTS,
    connections: config.connections,
    // Header values too: a custom auth header is as secret as the api_key (issue 14 item 7).
    secrets: providerSecrets(config),
  });
}

/**
 * Header maps merged case-insensitively, later ones winning: `Authorization` from a config file
 * and the api_key's `authorization` are one header, and the api_key's is the one sent.
 */
export function mergeHeaders(...maps: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const map of maps) for (const [k, v] of Object.entries(map)) out[k.toLowerCase()] = v;
  return out;
}

/** Sends a JSON request and reads a JSON answer; non-2xx becomes the mapped GatewayError. */
export async function postJson(
  client: UpstreamClient,
  provider: string,
  path: string,
  body: unknown,
  signal: AbortSignal,
  /** The try's trace headers (CallContext.trace). */
  trace?: Readonly<Record<string, string>>,
): Promise<{ text: string; json: Record<string, unknown> }> {
  const res = await client.send('POST', path, JSON.stringify(body), signal, trace);
  return readJson(client, provider, res, signal);
}

export async function readJson(
  client: UpstreamClient,
  provider: string,
  res: UpstreamResponse,
  signal: AbortSignal,
): Promise<{ text: string; json: Record<string, unknown> }> {
  if (res.status < 200 || res.status >= 300) throw await client.failure(res, signal);
  const text = await client.readText(res, signal);
  return { text, json: parseUpstreamJson(text, provider) };
}

export function parseUpstreamJson(text: string, provider: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new GatewayError('upstream_bad_response', `provider ${provider} returned a body that is not valid JSON`, { provider });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new GatewayError('upstream_bad_response', `provider ${provider} returned a JSON body that is not an object`, { provider });
  }
  return json as Record<string, unknown>;
}

/** Starts a streaming request; resolves only once the upstream accepted it. */
export async function startStream(
  client: UpstreamClient,
  path: string,
  body: unknown,
  signal: AbortSignal,
  trace?: Readonly<Record<string, string>>,
): Promise<UpstreamResponse> {
  const res = await client.send('POST', path, JSON.stringify(body), signal, trace);
  if (res.status < 200 || res.status >= 300) throw await client.failure(res, signal);
  return res;
}
