import { describe, expect, it } from 'vitest';
import type { Attempt } from '../calls/record.ts';
import { GatewayError, type ErrorCode } from '../errors/gateway-error.ts';
import { withRetry, type RetryOptions, type RetryPolicy } from './retry.ts';

const RETRYABLE: ErrorCode[] = ['upstream_rate_limited', 'upstream_error', 'upstream_timeout', 'upstream_unreachable', 'upstream_bad_response'];
const FINAL: ErrorCode[] = ['upstream_bad_request', 'upstream_auth_failed', 'model_not_found', 'invalid_request', 'client_aborted', 'internal_error'];

/** Options with a fake clock (each read advances 5 ms) and the maximum jitter. */
function options(overrides: Partial<Omit<RetryOptions, 'policy'>> & { policy?: Partial<RetryPolicy> } = {}) {
  let t = 1_000;
  const waits: number[] = [];
  const attempts: Attempt[] = [];
  const { policy, ...rest } = overrides;
  const opts: RetryOptions = {
    policy: { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 50, ...policy },
    provider: 'openai',
    model: 'gpt-4o-mini',
    attempts,
    signal: new AbortController().signal,
    now: () => (t += 5),
    random: () => 1,
    onWait: (ms) => waits.push(ms),
    ...rest,
  };
  return { opts, waits, attempts };
}

/** A run() that fails with the given errors in turn, then succeeds with 'ok'. */
function failing(...errors: unknown[]) {
  let calls = 0;
  const run = async (): Promise<string> => {
    const err = errors[calls++];
    if (err !== undefined) throw err;
    return 'ok';
  };
  return { run, calls: () => calls };
}

const upstream = (code: ErrorCode, status?: number, retryAfter?: number) =>
  new GatewayError(code, `${code} happened`, {
    provider: 'openai',
    ...(status === undefined ? {} : { upstreamStatus: status }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
  });

describe('withRetry', () => {
  it('returns the first success without waiting and records one attempt', async () => {
    const { opts, waits, attempts } = options();
    const { run, calls } = failing();
    await expect(withRetry(run, opts)).resolves.toBe('ok');
    expect(calls()).toBe(1);
    expect(waits).toEqual([]);
    // Two clock reads 5 ms apart.
    expect(attempts).toEqual([{ provider: 'openai', model: 'gpt-4o-mini', status: 200, error: null, latencyMs: 5 }]);
  });

  it.each(RETRYABLE)('retries %s and records each failed try', async (code) => {
    const { opts, attempts } = options();
    const { run, calls } = failing(upstream(code, 503));
    await expect(withRetry(run, opts)).resolves.toBe('ok');
    expect(calls()).toBe(2);
    expect(attempts).toEqual([
      { provider: 'openai', model: 'gpt-4o-mini', status: 503, error: code, latencyMs: 5 },
      { provider: 'openai', model: 'gpt-4o-mini', status: 200, error: null, latencyMs: 5 },
    ]);
  });

  it.each(FINAL)('does not retry %s', async (code) => {
    const { opts, attempts, waits } = options();
    const err = upstream(code, 400);
    const { run, calls } = failing(err);
    await expect(withRetry(run, opts)).rejects.toBe(err);
    expect(calls()).toBe(1);
    expect(waits).toEqual([]);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ status: 400, error: code });
  });

  it('does not retry an unexpected throw, and reports it as a hidden internal_error', async () => {
    const { opts, attempts } = options();
    const { run, calls } = failing(new TypeError('undefined is not a function'));
    const err = await withRetry(run, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'internal_error', message: 'undefined is not a function' });
    expect((err as GatewayError).publicMessage).not.toContain('undefined is not a function');
    expect(calls()).toBe(1);
    expect(attempts).toEqual([{ provider: 'openai', model: 'gpt-4o-mini', status: null, error: 'internal_error', latencyMs: 5 }]);
  });

  it('gives up after max_attempts with the last error, one attempt recorded per try', async () => {
    const { opts, attempts, waits } = options({ policy: { max_attempts: 4 } });
    const errors = [upstream('upstream_error', 500), upstream('upstream_timeout'), upstream('upstream_unreachable'), upstream('upstream_error', 502)];
    const { run, calls } = failing(...errors, 'never reached');
    await expect(withRetry(run, opts)).rejects.toBe(errors[3]);
    expect(calls()).toBe(4);
    expect(attempts.map((a) => [a.status, a.error])).toEqual([
      [500, 'upstream_error'],
      [null, 'upstream_timeout'],
      [null, 'upstream_unreachable'],
      [502, 'upstream_error'],
    ]);
    // No wait after the last try.
    expect(waits).toHaveLength(3);
  });

  it('max_attempts 1 means no retry at all', async () => {
    const { opts, attempts } = options({ policy: { max_attempts: 1 } });
    const { run, calls } = failing(upstream('upstream_error', 500));
    await expect(withRetry(run, opts)).rejects.toMatchObject({ code: 'upstream_error' });
    expect(calls()).toBe(1);
    expect(attempts).toHaveLength(1);
  });

  it('backs off exponentially from base_delay_ms, capped at max_delay_ms, scaled by the jitter', async () => {
    const full = options({ policy: { max_attempts: 5, base_delay_ms: 2, max_delay_ms: 10 } });
    await withRetry(failing(...Array.from({ length: 4 }, () => upstream('upstream_error', 500))).run, full.opts);
    expect(full.waits).toEqual([2, 4, 8, 10]);

    const half = options({ policy: { max_attempts: 3, base_delay_ms: 4, max_delay_ms: 100 }, random: () => 0.5 });
    await withRetry(failing(upstream('upstream_error', 500), upstream('upstream_error', 500)).run, half.opts);
    expect(half.waits).toEqual([2, 4]);

    const none = options({ random: () => 0 });
    await withRetry(failing(upstream('upstream_error', 500), upstream('upstream_error', 500)).run, none.opts);
    expect(none.waits).toEqual([0, 0]);
  });

  it('actually sleeps the announced time', async () => {
    const { opts, waits } = options({ now: () => performance.now(), policy: { base_delay_ms: 30, max_delay_ms: 30, max_attempts: 2 } });
    const started = performance.now();
    await withRetry(failing(upstream('upstream_error', 500)).run, opts);
    expect(waits).toEqual([30]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('waits at least the Retry-After the upstream asked for', async () => {
    const { opts, waits, attempts } = options({ random: () => 0 });
    const started = performance.now();
    await expect(withRetry(failing(upstream('upstream_rate_limited', 429, 0.04)).run, opts)).resolves.toBe('ok');
    expect(waits).toEqual([40]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    expect(attempts.map((a) => a.status)).toEqual([429, 200]);
  });

  it('uses the backoff when it is longer than the Retry-After', async () => {
    const { opts, waits } = options({ policy: { base_delay_ms: 20, max_delay_ms: 20 } });
    await withRetry(failing(upstream('upstream_rate_limited', 429, 0.001)).run, opts);
    expect(waits).toEqual([20]);
  });

  it('returns the 429 at once when Retry-After is longer than it is willing to wait', async () => {
    const { opts, waits, attempts } = options();
    const err = upstream('upstream_rate_limited', 429, 21);
    const { run, calls } = failing(err);
    const started = performance.now();
    await expect(withRetry(run, opts)).rejects.toBe(err);
    expect(performance.now() - started).toBeLessThan(100);
    expect(calls()).toBe(1);
    expect(waits).toEqual([]);
    expect(attempts).toHaveLength(1);
  });

  it('stops with client_aborted when the client goes away during the wait', async () => {
    const controller = new AbortController();
    const { opts, waits, attempts } = options({
      signal: controller.signal,
      policy: { base_delay_ms: 5_000, max_delay_ms: 5_000 },
      onWait: (ms) => {
        waits.push(ms);
        setTimeout(() => controller.abort(), 5);
      },
    });
    const { run, calls } = failing(upstream('upstream_error', 500));
    const started = performance.now();
    await expect(withRetry(run, opts)).rejects.toMatchObject({ code: 'client_aborted' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(waits).toEqual([5_000]);
    expect(calls()).toBe(1);
    expect(attempts).toHaveLength(1);
  });

  it('does not retry once the signal is aborted, and reports the call as client_aborted', async () => {
    const controller = new AbortController();
    const { opts, waits } = options({ signal: controller.signal });
    const err = upstream('upstream_error', 500);
    const run = async (): Promise<string> => {
      controller.abort();
      throw err;
    };
    await expect(withRetry(run, opts)).rejects.toMatchObject({ code: 'client_aborted' });
    expect(opts.attempts.map((a) => a.error)).toEqual(['upstream_error']);
    expect(waits).toEqual([]);
  });

  it('works without onWait', async () => {
    const { opts } = options();
    delete opts.onWait;
    await expect(withRetry(failing(upstream('upstream_error', 500)).run, opts)).resolves.toBe('ok');
  });
});
