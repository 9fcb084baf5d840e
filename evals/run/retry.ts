import type { ChatResult } from '../gateway-client.ts';

/**
 * Retries an eval call on what another try may fix: no response, 429 and 5xx (issue 10 §2:
 * 3 tries with exponential backoff, honouring Retry-After up to the cap). The gateway retries
 * its upstream too; this covers the gateway's own overload and remote-gateway hiccups.
 */
export interface RetryOptions {
  tries: number;
  baseMs: number;
  maxMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = { tries: 3, baseMs: 250, maxMs: 8_000, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export const isRetryableStatus = (status: number): boolean => status === 0 || status === 429 || status >= 500;

export async function withRetry(call: () => Promise<ChatResult>, opts: RetryOptions = DEFAULT_RETRY): Promise<ChatResult & { attempts: number }> {
  let last: ChatResult | undefined;
  for (let attempt = 1; attempt <= opts.tries; attempt++) {
    last = await call();
    if (last.ok || !isRetryableStatus(last.status) || attempt === opts.tries) return { ...last, attempts: attempt };
    const backoff = Math.min(opts.maxMs, opts.baseMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
    await opts.sleep(Math.min(opts.maxMs, Math.max(backoff, last.retryAfterMs ?? 0)));
  }
  return { ...last!, attempts: opts.tries };
}
