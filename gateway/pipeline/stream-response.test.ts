import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { collectFinished, usage } from '../../test/helpers/calls.ts';
import { describe, expect, it } from 'vitest';
import type { NormalizedUsage } from '../../core/usage.ts';
import { CallEvents, type CallFinished } from '../calls/call-events.ts';
import { CallTracker, type TrackerDeps } from '../calls/tracker.ts';
import { createPricer } from '../cost/pricing.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../logger.ts';
import type { ChatStream, StreamChunk } from '../providers/types.ts';
import type { ChunkAssembler } from '../streaming/chunk-assembler.ts';
import { replayStream, SSE_HEADERS, streamResponse, type StreamFramer, type StreamLifecycle } from './stream-response.ts';

/**
 * streamResponse with a hand-made ChatStream, a real CallTracker (its CallFinished events
 * collected) on a clock the test moves, a framer that writes what it is given, and a lifecycle
 * that records what it is told. The Response body is read as a client would.
 */

function chunkOf(delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk {
  return { id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}
const usageChunk = (u: NormalizedUsage): ChatCompletionChunk => ({
  id: 'chatcmpl-s',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [],
  usage: { prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.inputTokens + u.outputTokens },
});
const item = (chunk: ChatCompletionChunk): StreamChunk => ({ chunk, data: JSON.stringify(chunk) });

/** A hand-made upstream stream: each step yields a chunk, runs code (move the clock) or throws. */
type Step = StreamChunk | { run: () => void } | { throw: unknown } | { wait: Promise<void> };

interface HandStream extends ChatStream {
  cancels: number;
  /** Whether the iterator's return() ran (the generator's finally). */
  returned: boolean;
}

function handStream(steps: Step[], finalUsage: NormalizedUsage | null): HandStream {
  let done = false;
  const s: HandStream = {
    cancels: 0,
    returned: false,
    [Symbol.asyncIterator]() {
      return gen();
    },
    usage: () => (done ? finalUsage : null),
    cancel() {
      s.cancels++;
    },
  };
  async function* gen(): AsyncGenerator<StreamChunk> {
    try {
      for (const step of steps) {
        if ('run' in step) step.run();
        else if ('throw' in step) throw step.throw;
        else if ('wait' in step) await step.wait;
        else yield step;
      }
      done = true;
    } finally {
      s.returned = true;
    }
  }
  return s;
}

function setup() {
  let now = 1000;
  const events = new CallEvents((err) => {
    throw err;
  });
  const { finished, nextFinished } = collectFinished(events);
  const deps: TrackerDeps = { events, pricer: createPricer(), now: () => now, clock: () => Date.parse('2026-01-01T00:00:00Z') };
  const call = new CallTracker({ id: 'c1', requestId: 'r1', endpoint: 'chat.completions', startedAt: new Date('2026-01-01T00:00:00Z'), t0: now }, deps);
  call.setTarget({ name: 'openai', type: 'openai' } as never, 'gpt-4o-mini');
  call.setRequest({ model: 'gpt-4o-mini', messages: [] });
  call.setClientFacts({ stream: true, user: null, metadata: null });

  const logged: Array<{ msg: string; fields: unknown }> = [];
  const logger: Logger = { info() {}, warn() {}, error: (msg: string, fields?: unknown) => void logged.push({ msg, fields }) } as Logger;

  const framerCalls: string[] = [];
  let endUsage: NormalizedUsage | null | undefined;
  let errorSeen: GatewayError | undefined;
  const framer: StreamFramer = {
    chunk(chunk, data, native) {
      framerCalls.push('chunk');
      // Like the OpenAI face without include_usage: the usage chunk writes nothing.
      if (chunk.choices.length === 0) return '';
      return native !== undefined ? native : `data: ${data}\n\n`;
    },
    end(u) {
      framerCalls.push('end');
      endUsage = u;
      return 'data: [DONE]\n\n';
    },
    error(err) {
      framerCalls.push('error');
      errorSeen = err;
      return `event: error\ndata: ${JSON.stringify({ code: err.code, message: err.message })}\n\n`;
    },
  };

  const told: Array<{ kind: 'complete' | 'abandon'; text: string; usage: NormalizedUsage | null }> = [];
  const lifecycle: StreamLifecycle & { onComplete?: (a: ChunkAssembler, u: NormalizedUsage | null) => void } = {
    complete(assembler, u) {
      told.push({ kind: 'complete', text: assembler.text(), usage: u });
      lifecycle.onComplete?.(assembler, u);
    },
    abandon(assembler, u) {
      told.push({ kind: 'abandon', text: assembler.text(), usage: u });
    },
  };

  return {
    call,
    finished,
    nextFinished,
    logger,
    logged,
    framer,
    framerCalls,
    endUsage: () => endUsage,
    errorSeen: () => errorSeen,
    lifecycle,
    told,
    advance: (ms: number) => void (now += ms),
  };
}

async function readAll(res: Response): Promise<string> {
  return new TextDecoder().decode(await new Response(res.body).arrayBuffer());
}

/** The SSE events of a body, as written (each ends with a blank line). */
const framesOf = (text: string): string[] => text.split(/(?<=\n\n)/).filter((f) => f !== '');

describe('streamResponse: a stream that completes', () => {
  it('writes every frame in order, tells complete once with the text and usage, and finishes the record ok', async () => {
    const h = setup();
    const u = usage(12, 3);
    h.advance(4); // gateway work before the stream starts
    const pieces = [chunkOf({ role: 'assistant', content: '' }), chunkOf({ content: 'Hel' }), chunkOf({ content: 'lo' }), chunkOf({}, 'stop')];
    const stream = handStream(
      [item(pieces[0]!), { run: () => h.advance(20) }, item(pieces[1]!), { run: () => h.advance(5) }, item(pieces[2]!), item(pieces[3]!), item(usageChunk(u))],
      u,
    );
    const res = streamResponse(stream, h.call, { logger: h.logger }, h.framer, h.lifecycle, { 'x-sluice-cache': 'miss' });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(SSE_HEADERS['content-type']);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-sluice-cache')).toBe('miss');
    // Overhead is fixed when the response is built: 4 ms of gateway work, no upstream tries.
    expect(res.headers.get('x-sluice-overhead-ms')).toBe('4.000');
    expect(h.call.finished).toBe(false);

    const finished = h.nextFinished();
    const text = await readAll(res);
    expect(framesOf(text)).toEqual([...pieces.map((c) => `data: ${JSON.stringify(c)}\n\n`), 'data: [DONE]\n\n']);
    // The usage chunk was framed as '' (nothing written) and the stream went on.
    expect(h.framerCalls).toEqual(['chunk', 'chunk', 'chunk', 'chunk', 'chunk', 'end']);

    const { record } = await finished;
    expect(h.told).toEqual([{ kind: 'complete', text: 'Hello', usage: u }]);
    expect(h.endUsage()).toEqual(u);
    expect(stream.cancels).toBe(0);
    expect(record).toMatchObject({ status: 'ok', httpStatus: 200, errorCode: null, stream: true, overheadMs: 4 });
    // The first content arrived 4 + 20 ms after the call started (the role chunk does not count).
    expect(record.ttftMs).toBe(24);
    expect(record.latencyMs).toBe(29);
    const body = record.responseBody as { choices: Array<{ message: { content: string }; finish_reason: string }>; usage?: unknown };
    expect(body.choices[0]).toMatchObject({ message: { content: 'Hello' }, finish_reason: 'stop' });
    expect(body.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3 });
    expect(h.finished).toHaveLength(1);
  });

  it('a tool-call delta also sets ttft', async () => {
    const h = setup();
    const toolDelta = chunkOf({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] });
    const stream = handStream([item(chunkOf({ role: 'assistant' })), { run: () => h.advance(7) }, item(toolDelta), item(chunkOf({}, 'tool_calls'))], null);
    const finished = h.nextFinished();
    await readAll(streamResponse(stream, h.call, { logger: h.logger }, h.framer, h.lifecycle, {}));
    const { record } = await finished;
    expect(record.ttftMs).toBe(7);
    expect(record.responseBody).toMatchObject({ choices: [{ message: { tool_calls: [{ id: 'call_1', function: { name: 'f' } }] }, finish_reason: 'tool_calls' }] });
  });

  it('a stream with no content leaves ttft null', async () => {
    const h = setup();
    const finished = h.nextFinished();
    await readAll(streamResponse(handStream([item(chunkOf({ role: 'assistant', content: '' })), item(chunkOf({}, 'stop'))], null), h.call, { logger: h.logger }, h.framer, h.lifecycle, {}));
    expect((await finished).record).toMatchObject({ status: 'ok', ttftMs: null });
  });

  it("the end frame is given the record's usage once complete priced the call (e.g. an estimate), else the stream's", async () => {
    const h = setup();
    const estimate = usage(40, 2);
    h.lifecycle.onComplete = (_a, u) => {
      expect(u).toBeNull(); // the upstream reported none
      h.call.price(estimate, true, 'chat');
    };
    const finished = h.nextFinished();
    await readAll(streamResponse(handStream([item(chunkOf({ content: 'hi' })), item(chunkOf({}, 'stop'))], null), h.call, { logger: h.logger }, h.framer, h.lifecycle, {}));
    expect(h.endUsage()).toEqual(estimate);
    expect((await finished).record).toMatchObject({ status: 'ok', usage: estimate, costStatus: 'estimated' });
  });

  it('passes the native frame through to the framer (pass-through streams)', async () => {
    const h = setup();
    const c = chunkOf({ content: 'hi' });
    const frame = 'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n';
    const text = await readAll(streamResponse(handStream([{ chunk: c, data: JSON.stringify(c), native: frame }], null), h.call, { logger: h.logger }, h.framer, h.lifecycle, {}));
    expect(framesOf(text)).toEqual([frame, 'data: [DONE]\n\n']);
  });

  it('the record waits for lifecycle.settled (the client does not); a settled that fails still finishes ok', async () => {
    const h = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h.lifecycle.settled = () => gate;
    const finished = h.nextFinished();
    const text = await readAll(streamResponse(handStream([item(chunkOf({ content: 'hi' }))], null), h.call, { logger: h.logger }, h.framer, h.lifecycle, {}));
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(h.call.finished).toBe(false);
    release();
    expect((await finished).record.status).toBe('ok');

    const h2 = setup();
    h2.lifecycle.settled = () => Promise.reject(new Error('after hook failed'));
    const finished2 = h2.nextFinished();
    await readAll(streamResponse(handStream([item(chunkOf({ content: 'hi' }))], null), h2.call, { logger: h2.logger }, h2.framer, h2.lifecycle, {}));
    expect((await finished2).record).toMatchObject({ status: 'ok', errorCode: null });
  });
});

describe('streamResponse: a stream that fails mid-way', () => {
  it('ends with the framer error frame, tells abandon (not complete), and finishes the record with the error', async () => {
    const h = setup();
    const failure = new GatewayError('upstream_error', 'provider openai failed mid-stream: overloaded', { provider: 'openai' });
    const partial = usage(12, 1);
    const stream = handStream([item(chunkOf({ role: 'assistant', content: '' })), item(chunkOf({ content: 'Hel' })), { throw: failure }], partial);
    const finished = h.nextFinished();
    const text = await readAll(streamResponse(stream, h.call, { logger: h.logger }, h.framer, h.lifecycle, {}));

    const frames = framesOf(text);
    expect(frames).toHaveLength(3);
    expect(frames[1]).toBe(`data: ${JSON.stringify(chunkOf({ content: 'Hel' }))}\n\n`);
    expect(frames[2]).toBe(`event: error\ndata: ${JSON.stringify({ code: 'upstream_error', message: failure.message })}\n\n`);
    expect(h.framerCalls).toEqual(['chunk', 'chunk', 'error']);
    expect(h.errorSeen()).toBe(failure);

    const { record } = await finished;
    // The usage the stream had so far (the hand stream reports none before its end).
    expect(h.told).toEqual([{ kind: 'abandon', text: 'Hel', usage: null }]);
    expect(record).toMatchObject({ status: 'upstream_error', httpStatus: 502, errorCode: 'upstream_error', errorMessage: failure.message });
    expect(record.ttftMs).not.toBeNull();
    expect(record.responseBody).toMatchObject({ choices: [{ message: { content: 'Hel' } }] });
    expect(h.logged).toEqual([]);
    expect(stream.cancels).toBe(0);
  });

  it('a non-GatewayError becomes internal_error: logged with the call id, framed and recorded as a gateway error', async () => {
    const h = setup();
    const finished = h.nextFinished();
    const text = await readAll(
      streamResponse(handStream([item(chunkOf({ content: 'a' })), { throw: new TypeError('boom') }], null), h.call, { logger: h.logger }, h.framer, h.lifecycle, {}),
    );
    expect(framesOf(text).at(-1)).toContain('"code":"internal_error"');
    expect(h.logged).toHaveLength(1);
    expect(h.logged[0]).toMatchObject({ msg: 'stream failed', fields: { callId: 'c1' } });
    expect(String((h.logged[0]!.fields as { err: unknown }).err)).toContain('boom');
    expect((await finished).record).toMatchObject({ status: 'gateway_error', httpStatus: 500, errorCode: 'internal_error' });
    expect(h.told.map((t) => t.kind)).toEqual(['abandon']);
  });

  it('a failure before any chunk still ends with the error frame and an error record', async () => {
    const h = setup();
    const finished = h.nextFinished();
    const failure = new GatewayError('upstream_timeout', 'provider openai timed out', { provider: 'openai' });
    const text = await readAll(streamResponse(handStream([{ throw: failure }], null), h.call, { logger: h.logger }, h.framer, h.lifecycle, {}));
    expect(framesOf(text)).toHaveLength(1);
    expect(h.framerCalls).toEqual(['error']);
    expect((await finished).record).toMatchObject({ status: 'upstream_error', httpStatus: 504, errorCode: 'upstream_timeout', ttftMs: null });
  });
});

describe('streamResponse: the client goes away', () => {
  it('cancelling the body cancels the upstream stream, tells abandon and records client_aborted', async () => {
    const h = setup();
    let release!: () => void;
    const upstreamWaits = new Promise<void>((r) => (release = r));
    // The upstream sends one chunk, then keeps the client waiting.
    const stream = handStream([item(chunkOf({ content: 'Hel' })), { wait: upstreamWaits }, item(chunkOf({ content: 'lo' }))], null);
    const finished = h.nextFinished();
    const reader = streamResponse(stream, h.call, { logger: h.logger }, h.framer, h.lifecycle, {}).body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe(`data: ${JSON.stringify(chunkOf({ content: 'Hel' }))}\n\n`);

    await reader.cancel();
    const { record } = await finished;
    expect(stream.cancels).toBe(1);
    expect(record).toMatchObject({ status: 'client_aborted', httpStatus: 499, errorCode: 'client_aborted' });
    expect(record.responseBody).toMatchObject({ choices: [{ message: { content: 'Hel' } }] });
    expect(h.told).toEqual([{ kind: 'abandon', text: 'Hel', usage: null }]);

    // The upstream iterator is closed once its pending read settles (its finally runs).
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(stream.returned).toBe(true);
    expect(h.finished).toHaveLength(1);
  });
});

/**
 * The common case of a client leaving: the response is waiting on the upstream (a pull is in
 * flight) when the body is cancelled. As the real providers do, cancel() makes the pending read
 * fail (the upstream body is destroyed), or a chunk already on its way still arrives.
 */
function pendingUpstream(h: ReturnType<typeof setup>, onCancel: 'fail' | 'deliver') {
  let reached!: () => void;
  const waiting = new Promise<void>((r) => (reached = r));
  let settle!: { ok: () => void; fail: (e: unknown) => void };
  const upstream = new Promise<void>((ok, fail) => (settle = { ok, fail }));
  const stream = handStream([item(chunkOf({ content: 'Hel' })), { run: () => reached() }, { wait: upstream }, item(chunkOf({ content: 'lo' }))], null);
  const cancel = stream.cancel.bind(stream);
  stream.cancel = () => {
    cancel();
    if (onCancel === 'fail') settle.fail(new GatewayError('upstream_error', 'provider openai closed the connection mid-stream'));
    else settle.ok();
  };
  const reader = streamResponse(stream, h.call, { logger: h.logger }, h.framer, h.lifecycle, {}).body!.getReader();
  return { stream, reader, waiting };
}

/** Lets every queued callback run (the pull that was in flight settles). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('streamResponse: the client goes away while the upstream is pending', () => {
  it('the upstream stream is cancelled once and the record finishes once, as client_aborted', async () => {
    for (const onCancel of ['fail', 'deliver'] as const) {
      const h = setup();
      const finished = h.nextFinished();
      const { stream, reader, waiting } = pendingUpstream(h, onCancel);
      await reader.read();
      await waiting; // the next pull is waiting on the upstream
      await reader.cancel();
      const { record } = await finished;
      await settle();
      expect(stream.cancels, onCancel).toBe(1);
      expect(stream.returned, onCancel).toBe(true);
      expect(record, onCancel).toMatchObject({ status: 'client_aborted', errorCode: 'client_aborted' });
      expect(h.finished, onCancel).toHaveLength(1);
      expect(h.told.map((t) => t.kind), onCancel).not.toContain('complete');
    }
  });

  // The pull in flight when the client cancels settles after cancel() told abandon: it must end
  // quietly, not tell abandon again or ask the framer for a frame nobody can receive.
  it('an upstream read failing because of the cancel does not tell abandon again', async () => {
    const h = setup();
    const { reader, waiting } = pendingUpstream(h, 'fail');
    await reader.read();
    await waiting;
    await reader.cancel();
    await settle();
    expect(h.told).toHaveLength(1);
    expect(h.framerCalls).not.toContain('error');
  });

  // A chunk that arrives after the cancel must not be enqueued on the closed controller (that
  // TypeError used to be logged as an internal "stream failed" and abandon told twice).
  it('a chunk arriving after the cancel is dropped quietly: no "stream failed" log, no second abandon', async () => {
    const h = setup();
    const { reader, waiting } = pendingUpstream(h, 'deliver');
    await reader.read();
    await waiting;
    await reader.cancel();
    await settle();
    expect(h.logged).toEqual([]);
    expect(h.told).toHaveLength(1);
  });
});

describe('replayStream', () => {
  it('yields the given chunks in order with their JSON as data, then ends; usage() is the given usage; cancel is harmless', async () => {
    const chunks = [chunkOf({ role: 'assistant', content: '' }), chunkOf({ content: 'cached' }), chunkOf({}, 'stop')];
    const u = usage(5, 1);
    const stream = replayStream(chunks, u);
    const seen: StreamChunk[] = [];
    for await (const c of stream) seen.push(c);
    expect(seen.map((c) => c.chunk)).toEqual(chunks);
    expect(seen.map((c) => c.data)).toEqual(chunks.map((c) => JSON.stringify(c)));
    expect(seen.every((c) => c.native === undefined)).toBe(true);
    expect(stream.usage()).toEqual(u);
    expect(() => stream.cancel()).not.toThrow();
    expect(replayStream([], null).usage()).toBeNull();
  });

  it('served through streamResponse it reproduces the answer and finishes the record ok', async () => {
    const h = setup();
    const chunks = [chunkOf({ content: 'cached ' }), chunkOf({ content: 'answer' }), chunkOf({}, 'stop')];
    const finished = h.nextFinished();
    const text = await readAll(streamResponse(replayStream(chunks, usage(5, 2)), h.call, { logger: h.logger }, h.framer, h.lifecycle, {}));
    expect(framesOf(text)).toEqual([...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), 'data: [DONE]\n\n']);
    expect(h.told).toEqual([{ kind: 'complete', text: 'cached answer', usage: usage(5, 2) }]);
    expect((await finished).record).toMatchObject({ status: 'ok', responseBody: { choices: [{ message: { content: 'cached answer' } }] } });
  });
});

describe('streamResponse: the write-ahead hooks (issue 21)', () => {
  function hooked() {
    const order: string[] = [];
    const answered: unknown[] = [];
    const events = new CallEvents();
    events.onFinished(() => void order.push('finished'));
    const deps: TrackerDeps = {
      events,
      pricer: createPricer(),
      now: () => 1000,
      clock: () => 0,
      sink: {
        streamOpened: () => void order.push('opened'),
        streamAnswered: (r) => {
          order.push('answered');
          answered.push(r.responseBody);
        },
      },
    };
    const call = new CallTracker({ id: 'c1', requestId: 'r1', endpoint: 'chat.completions', startedAt: new Date(0), t0: 1000 }, deps);
    const framer: StreamFramer = {
      chunk: (_c, data) => (order.push('chunk'), `data: ${data}\n\n`),
      end: () => (order.push('end'), 'data: [DONE]\n\n'),
      error: (err) => (order.push('error'), `event: error\ndata: ${err.code}\n\n`),
    };
    const logger = { info() {}, warn() {}, error() {} } as unknown as Logger;
    return { order, answered, call, framer, logger, lifecycle: { complete() {}, abandon() {} } satisfies StreamLifecycle };
  }

  it('writes the opening ahead before the first byte, and the answer before the final event', async () => {
    const h = hooked();
    const stream = handStream([item(chunkOf({ role: 'assistant', content: 'hi' })), item(chunkOf({}, 'stop'))], null);
    const res = streamResponse(stream, h.call, { logger: h.logger }, h.framer, h.lifecycle, {});
    expect(h.order).toEqual(['opened']);
    await readAll(res);
    expect(h.order).toEqual(['opened', 'chunk', 'chunk', 'answered', 'end', 'finished']);
    expect(h.answered[0]).toMatchObject({ choices: [{ message: { content: 'hi' } }] });
  });

  it('finishes a failed stream (so its record is written ahead) before its error event goes out', async () => {
    const h = hooked();
    const stream = handStream([item(chunkOf({ role: 'assistant', content: 'hi' })), { throw: new GatewayError('upstream_error', 'cut') }], null);
    await readAll(streamResponse(stream, h.call, { logger: h.logger }, h.framer, h.lifecycle, {}));
    expect(h.order).toEqual(['opened', 'chunk', 'finished', 'error']);
  });
});
