import { describe, expect, it } from 'vitest';
import { createPricer } from '../cost/pricing.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Provider } from '../providers/types.ts';
import { CallEvents, type CallFinished } from './call-events.ts';
import type { CallRecord } from './record.ts';
import { CallTracker, type TrackerDeps } from './tracker.ts';

/** A tracker on a hand-driven clock, with every CallFinished it emits collected. */
function setup(init: Partial<ConstructorParameters<typeof CallTracker>[0]> = {}, sink?: TrackerDeps['sink']) {
  let now = 1000;
  const events = new CallEvents();
  const seen: CallFinished[] = [];
  events.onFinished((e) => seen.push(e));
  const deps: TrackerDeps = { events, pricer: createPricer(), now: () => now, clock: () => Date.parse('2026-01-01T00:00:00Z'), sink };
  const call = new CallTracker(
    { id: 'c1', requestId: 'r1', endpoint: 'chat.completions', startedAt: new Date('2026-01-01T00:00:00Z'), t0: now, ...init },
    deps,
  );
  return { call, seen, advance: (ms: number) => (now += ms) };
}

const provider = { name: 'openai', type: 'openai' } as Provider;
const key = { id: 'k1', name: 'k', scope: 'inference' } as never;

describe('CallTracker', () => {
  it('begins the call log row once the upstream call is on its way, and hands it on with the finish', async () => {
    const begun: Readonly<CallRecord>[] = [];
    const sink = {
      startRow: (r: Readonly<CallRecord>) => {
        begun.push({ ...r });
        return { head: `["${r.id}"`, id: r.id, provider: r.provider, model: r.model, requestBody: r.requestBody, faceRequest: r.faceRequest, request: null, face: null };
      },
    };
    const { call, seen } = setup({}, sink);
    call.setTarget(provider, 'gpt-4o-mini');
    call.prepareLog();
    expect(begun).toEqual([]); // not on the way out: after the upstream request is sent
    await new Promise((r) => setImmediate(r));
    expect(begun).toEqual([expect.objectContaining({ id: 'c1', model: 'gpt-4o-mini' })]);
    call.finishOk({ ok: true });
    expect(seen[0]!.rowStart).toMatchObject({ head: '["c1"' });

    // A call that finished before its turn came (a fast failure) begins nothing.
    const late = setup({}, sink);
    late.call.prepareLog();
    late.call.finishError(new GatewayError('upstream_error', 'refused'));
    await new Promise((r) => setImmediate(r));
    expect(begun).toHaveLength(1);
    expect(late.seen[0]!.rowStart).toBeNull();

    // A field of the row's head set after the start drops it: the row is then built whole.
    const moved = setup({}, sink);
    moved.call.prepareLog();
    await new Promise((r) => setImmediate(r));
    moved.call.setRoute('other', 'b', null);
    moved.call.finishOk({ ok: true });
    expect(moved.seen[0]!.rowStart).toBeNull();
  });

  it('finishes once, as one CallFinished event with the complete record', () => {
    const { call, seen, advance } = setup();
    call.setTarget(provider, 'gpt-4o-mini');
    call.setRoute('support', 'b', 0.25);
    call.setRequest({ messages: [] }, { system: 'x' });
    call.setClientFacts({ stream: true, user: 'u1', metadata: { team: 'a' } });
    advance(30);
    call.finishOk({ ok: true });
    call.finishError(new GatewayError('upstream_error', 'late'));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.record).toMatchObject({
      id: 'c1',
      provider: 'openai',
      model: 'gpt-4o-mini',
      route: 'support',
      variant: 'b',
      assignment: 0.25,
      stream: true,
      user: 'u1',
      metadata: { team: 'a' },
      requestBody: { messages: [] },
      faceRequest: { system: 'x' },
      responseBody: { ok: true },
      status: 'ok',
      latencyMs: 30,
    });
    expect(seen[0]!.shadow).toBeNull();
    expect(call.finished).toBe(true);
  });

  it('the finished record is a frozen value: a step after the finish point changes nothing subscribers saw', () => {
    const { call, seen } = setup();
    call.attempts.push({ provider: 'openai', model: 'm', status: 200, error: null, latencyMs: 5 });
    call.finishOk({ ok: true });
    const sent = seen[0]!.record;
    expect(Object.isFrozen(sent)).toBe(true);
    expect(Object.isFrozen(sent.attempts)).toBe(true);
    // A late after-hook annotation, or a cancelled fan-out's attempt, lands on the live record only.
    call.annotateRetrieval({ late: true });
    call.attempts.push({ provider: 'openai', model: 'm', status: null, error: 'cancelled', latencyMs: 1 });
    expect(sent.rag).toBeNull();
    expect(sent.attempts).toHaveLength(1);
    expect(call.record).toBe(sent);
  });

  it('a call that never authenticated emits nothing; one that did, emits', () => {
    const waiting = setup({ awaitingKey: true });
    waiting.call.finishError(new GatewayError('missing_api_key', 'no key'));
    expect(waiting.seen).toHaveLength(0);
    const keyed = setup({ awaitingKey: true });
    keyed.call.setKey(key);
    keyed.call.finishError(new GatewayError('invalid_request', 'bad'));
    expect(keyed.seen).toHaveLength(1);
    expect(keyed.seen[0]!.record).toMatchObject({ apiKeyId: 'k1', status: 'client_error', httpStatus: 400, errorCode: 'invalid_request' });
  });

  it('maps error codes to statuses: upstream, client abort, gateway', () => {
    const cases = [
      ['upstream_timeout', 'upstream_error'],
      ['client_aborted', 'client_aborted'],
      ['internal_error', 'gateway_error'],
      ['rate_limited', 'client_error'],
    ] as const;
    for (const [code, status] of cases) {
      const { call, seen } = setup();
      call.finishError(new GatewayError(code, 'x'));
      expect(seen[0]!.record.status, code).toBe(status);
    }
  });

  it('overhead excludes upstream tries and backoff waits', () => {
    const { call, seen, advance } = setup();
    advance(100);
    call.attempts.push({ provider: 'openai', model: 'm', status: 500, error: 'upstream_error', latencyMs: 60 });
    call.addWait(25);
    call.finishOk(null);
    expect(seen[0]!.record.latencyMs).toBe(100);
    expect(seen[0]!.record.overheadMs).toBe(15);
  });

  it('a shadow call carries its parent: key, route, variant, parent id and the shadow flag', () => {
    const parent = setup();
    parent.call.setKey(key);
    parent.call.setRoute('support', 'a', null);
    parent.call.followWithShadow({ body: { model: 'shadow/x' }, prompt: undefined });
    parent.call.finishOk(null);
    const sent = parent.seen[0]!;
    expect(sent.shadow).toEqual({ body: { model: 'shadow/x' }, prompt: undefined });
    const child = setup({ shadowOf: sent.record });
    child.call.finishOk(null);
    expect(child.seen[0]!.record).toMatchObject({ shadow: true, parentCallId: 'c1', apiKeyId: 'k1', route: 'support', variant: 'a' });
    expect(child.seen[0]!.shadow).toBeNull();
  });

  it('a cache hit costs nothing and keeps what it saved', () => {
    const { call, seen } = setup();
    call.hitCache({ inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, 1234);
    call.finishOk(null);
    expect(seen[0]!.record).toMatchObject({ cacheStatus: 'hit', costMicros: 0, costStatus: 'exact', costSavedMicros: 1234 });
  });
});

describe('CallTracker write-ahead hooks (issue 21)', () => {
  function withSink(awaitingKey: boolean) {
    let now = 1000;
    const seen: Array<{ hook: string; record: CallRecord }> = [];
    const sink = {
      streamOpened: (record: Readonly<CallRecord>) => void seen.push({ hook: 'opened', record: { ...record } }),
      streamAnswered: (record: Readonly<CallRecord>) => void seen.push({ hook: 'answered', record: { ...record } }),
    };
    const deps: TrackerDeps = { events: new CallEvents(), pricer: createPricer(), now: () => now, clock: () => 0, sink };
    const call = new CallTracker({ id: 'c1', requestId: 'r1', endpoint: 'chat.completions', startedAt: new Date(0), t0: now, awaitingKey }, deps);
    return { call, seen, advance: (ms: number) => (now += ms) };
  }

  it('hands the sink the record so far when a stream opens and as answered before its last byte', () => {
    const { call, seen, advance } = withSink(false);
    call.setTarget(provider, 'gpt-4o-mini');
    advance(5);
    call.streamOpened();
    advance(20);
    call.beforeLastByte({ text: 'hi' });
    expect(seen.map((s) => s.hook)).toEqual(['opened', 'answered']);
    expect(seen[0]!.record).toMatchObject({ id: 'c1', model: 'gpt-4o-mini', latencyMs: 5, responseBody: null, status: 'ok' });
    expect(seen[1]!.record).toMatchObject({ latencyMs: 25, responseBody: { text: 'hi' } });
    // The live record is untouched: the finish computes its own.
    expect(call.record.latencyMs).toBe(0);
    call.finishOk({ text: 'hi' });
    call.beforeLastByte({ late: true });
    expect(seen).toHaveLength(2);
  });

  it('writes nothing ahead for a call without a key (it leaves no record)', () => {
    const { call, seen } = withSink(true);
    call.streamOpened();
    call.beforeLastByte(null);
    expect(seen).toEqual([]);
  });
});

describe('CallEvents', () => {
  it('tells listeners in order; one that throws is reported and the rest still run', () => {
    const errors: unknown[] = [];
    const events = new CallEvents((err) => errors.push(err));
    const order: string[] = [];
    events.onFinished(() => order.push('log'));
    events.onFinished(() => {
      throw new Error('boom');
    });
    const off = events.onFinished(() => order.push('metrics'));
    const event = { record: {} as never, shadow: null };
    events.emit(event);
    off();
    events.emit(event);
    expect(order).toEqual(['log', 'metrics', 'log']);
    expect(errors).toHaveLength(2);
    // `first` runs before listeners added earlier (the call log, subscribed after extensions).
    events.onFinished(() => order.push('first'), { first: true });
    order.length = 0;
    events.emit(event);
    expect(order[0]).toBe('first');
  });
});
