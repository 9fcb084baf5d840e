import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors/gateway-error.ts';
import { scrubSecrets } from './scrub-secrets.ts';

/** The message inside an OpenAI- or Anthropic-shaped error body, if there is one. */
function upstreamMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof body.error === 'string') return body.error;
    if (body.error && typeof body.error.message === 'string') return body.error.message;
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON
  }
  return undefined;
}

/** Retry-After as seconds (delta-seconds or an HTTP date), capped at a minute. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  // delay-seconds is digits (RFC 9110 §10.2.3); Number() alone would also take " " or "0x10".
  if (/^\d+(?:\.\d+)?$/.test(raw)) return Math.min(Number(raw), 60);
  // An HTTP-date names its day and month; Date.parse alone reads "-1" or "1.5.2" as dates.
  if (!/[A-Za-z]/.test(raw)) return undefined;
  const date = Date.parse(raw);
  if (Number.isFinite(date)) return Math.min(Math.max(0, (date - now) / 1000), 60);
  return undefined;
}

/**
 * A non-2xx upstream answer as a GatewayError. The upstream's own message is kept for 4xx
 * input errors (so clients see what the provider objected to) but scrubbed of credentials;
 * credential failures never echo anything, since providers quote the key they were given.
 */
export function failureFromResponse(
  provider: string,
  status: number,
  headers: IncomingHttpHeaders,
  text: string,
  secrets: readonly string[],
): GatewayError {
  const base = { provider, upstreamStatus: status };
  const message = upstreamMessage(text);
  const said = message ? `: ${scrubSecrets(message, secrets).slice(0, 1000)}` : '';
  if (status === 401 || status === 403) {
    return new GatewayError('upstream_auth_failed', `provider ${provider} rejected the gateway's credentials (HTTP ${status})`, base);
  }
  if (status === 429) {
    const retryAfter = parseRetryAfter(headers['retry-after']);
    return new GatewayError('upstream_rate_limited', `provider ${provider} is rate limiting requests${said}`, {
      ...base,
      ...(retryAfter === undefined ? {} : { retryAfter }),
    });
  }
  if (status === 404) return new GatewayError('model_not_found', `provider ${provider} answered 404${said}`, base);
  if (status >= 400 && status < 500) {
    return new GatewayError('upstream_bad_request', `provider ${provider} rejected the request${said}`, { ...base, status });
  }
  return new GatewayError('upstream_error', `provider ${provider} failed with HTTP ${status}${said}`, base);
}
