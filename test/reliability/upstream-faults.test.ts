import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../gateway/calls/record.ts';
import type { Database } from '../../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider, type QueuedFault } from '../helpers/fake-provider.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectValidAgainstSpec } from '../helpers/openapi.ts';
import { testDatabases } from '../helpers/test-db.ts';
import { postChat, until, type RawAnswer } from './raw-client.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

/**
 * Issue 4, upstream faults under concurrent load: every fault kind the fake provider can
 * inject, interleaved across parallel stream and non-stream calls. Whatever a call meets, its
 * client gets a success or an OpenAI-shaped error (an SSE error event once a stream has
 * started), and its call record lists exactly the upstream tries the provider saw — in
 * memory and in the database. (test/integration/resilience.test.ts covers each fault alone.)
 */
const SEED = Number(process.env.FAULT_SEED ?? 4242);
const PATH = '/v1/chat/completions';
const RETRY_AFTER_S = 1;

// Queued FIFO: whichever upstream request comes next takes the next fault.
const FAULT_KINDS: Array<{ name: string; fault: QueuedFault }> = [
  { name: '500', fault: { status: 500 } },
  { name: '502', fault: { status: 502 } },
  { name: '503', fault: { status: 503 } },
  { name: '429', fault: { status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) } } },
  { name: 'reset', fault: { reset: true } },
  { name: 'timeout before headers', fault: { hang: true } },
  { name: 'stream cut', fault: { cutAfterChunks: 3 } },
  { name: 'malformed', fault: { malformed: true } },
  { name: 'slow drip', fault: { dripMs: 25 } },
  { name: 'stream error event', fault: { streamError: { message: 'overloaded right now' } } },
];

interface Outcome {
  marker: string;
  stream: boolean;
  answer: RawAnswer;
  callId: string;
}

/** The database this file logs to: the real server when DATABASE_URL is set, else PGlite. */
const target = testDatabases().at(-1)!;

describe(`upstream faults under concurrent load (call log on ${target.kind})`, () => {
  let fake: FakeProvider;
  let database: Database;
  let gw: TestGateway;
  let serial = 0;

  beforeAll(async () => {
    fake = await startFakeProvider();
    database = await target.open();
    gw = await startTestGateway({
      database,
      callLog: true,
      config: {
        providers: {
          fake: {
            type: 'openai-compatible',
            base_url: fake.openaiBaseUrl,
            retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 20 },
            timeouts: { connect_ms: 1_000, first_byte_ms: 400, total_ms: 10_000 },
          },
        },
        logging: { flush_ms: 20 },
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await database?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  /** One call; its marker is in the message so the provider's requests can be told apart. */
  async function call(stream: boolean, words = 'alpha beta gamma delta'): Promise<Outcome> {
    const marker = `m${++serial}x`;
    const answer = await postChat(gw.url, { model: 'fake/gpt-4o-mini', messages: [{ role: 'user', content: `${marker} ${words}` }], stream });
    const callId = String(answer.headers['x-sluice-call-id'] ?? '');
    return { marker, stream, answer, callId };
  }

  const upstreamTriesOf = (marker: string) =>
    fake.requests.filter((r) => {
      const messages = (r.body as { messages?: Array<{ content?: unknown }> } | undefined)?.messages;
      return r.path === PATH && typeof messages?.[0]?.content === 'string' && messages[0].content.startsWith(`${marker} `);
    }).length;

  /** What the client saw is a success or an OpenAI-shaped error, and the record agrees. */
  function checkOutcome(o: Outcome, record: CallRecord): 'ok' | 'error' {
    const { answer } = o;
    expect(o.callId, 'x-sluice-call-id').toMatch(/^[0-9a-f-]{36}$/);
    expect(record.attempts.length, `attempts recorded for ${o.marker}`).toBe(upstreamTriesOf(o.marker));
    expect(record.attempts.length).toBeGreaterThan(0);
    expect(record.attempts.length).toBeLessThanOrEqual(3);
    // Only a failed try is followed by another.
    for (const a of record.attempts.slice(0, -1)) expect(a.error, `a retried attempt of ${o.marker}`).not.toBeNull();
    const last = record.attempts.at(-1)!;
    // Retry-After was honoured before any retry that followed a 429.
    if (record.attempts.slice(0, -1).some((a) => a.status === 429)) expect(record.latencyMs).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 50);

    if (answer.status !== 200) {
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expectValidAgainstSpec('ErrorResponse', answer.json);
      const code = (answer.json as { error: { code: string } }).error.code;
      expect(record.status).toBe('upstream_error');
      expect(record.httpStatus).toBe(answer.status);
      expect(record.errorCode).toBe(code);
      expect(last.error).toBe(code);
      if (answer.status === 429) expect(answer.headers['retry-after']).toBe(String(RETRY_AFTER_S));
      return 'error';
    }
    expect(last).toMatchObject({ status: 200, error: null });
    if (!o.stream) {
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expectValidAgainstSpec('CreateChatCompletionResponse', answer.json);
      expect(record.status).toBe('ok');
      return 'ok';
    }
    expect(answer.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = answer.events;
    if (events.at(-1) === '[DONE]') {
      for (const e of events.slice(0, -1)) expectValidAgainstSpec('CreateChatCompletionStreamResponse', JSON.parse(e));
      const text = events
        .slice(0, -1)
        .map((e) => (JSON.parse(e) as { choices: Array<{ delta: { content?: string | null } }> }).choices[0]?.delta.content ?? '')
        .join('');
      expect(text).toContain(o.marker);
      expect(record.status).toBe('ok');
      return 'ok';
    }
    // A stream that failed after it started ends with exactly one error event, no [DONE].
    expect(events.length).toBeGreaterThan(0);
    const final = JSON.parse(events.at(-1)!) as unknown;
    expectValidAgainstSpec('ErrorResponse', final);
    for (const e of events.slice(0, -1)) expect(JSON.parse(e)).not.toHaveProperty('error');
    expect(record.status).toBe('upstream_error');
    expect(record.errorCode).toBe((final as { error: { code: string } }).error.code);
    return 'error';
  }

  async function recordsOf(outcomes: Outcome[]): Promise<Map<string, CallRecord>> {
    await until('a call record per call', () => outcomes.every((o) => gw.sink.records.some((r) => r.id === o.callId)));
    return new Map(gw.sink.records.map((r) => [r.id, r]));
  }

  it('50 parallel mixed calls with every fault kind interleaved: success or OpenAI-shaped error, every try recorded', async () => {
    const random = seededRandom(SEED);
    const faults: QueuedFault[] = [];
    for (let i = 0; i < 40; i++) faults.push(FAULT_KINDS[i % FAULT_KINDS.length]!.fault);
    // Interleave deterministically (Fisher–Yates with the seeded PRNG).
    for (let i = faults.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [faults[i], faults[j]] = [faults[j]!, faults[i]!];
    }
    fake.enqueue(...faults);

    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => call(i % 2 === 0)));
    const elapsed = Date.now() - started;
    const records = await recordsOf(outcomes);

    const tally = { ok: 0, error: 0 };
    for (const o of outcomes) tally[checkOutcome(o, records.get(o.callId)!)]++;
    const attempts = outcomes.flatMap((o) => records.get(o.callId)!.attempts);
    // The provider saw exactly the tries the records list, no more, no fewer.
    expect(attempts.length).toBe(fake.requests.filter((r) => r.path === PATH).length);
    // Every queued fault was consumed and shows: as a failed try, or (a malformed body that met a
    // stream already flowing) as the stream's error event.
    const seen = new Set([...attempts.map((a) => a.error), ...outcomes.map((o) => records.get(o.callId)!.errorCode)]);
    for (const code of ['upstream_error', 'upstream_rate_limited', 'upstream_unreachable', 'upstream_timeout', 'upstream_bad_response']) {
      expect(seen, `some try or stream failed with ${code}`).toContain(code);
    }
    // 24 faults (5xx, 429, reset, hang) always fail a try; a malformed body does too unless it
    // met a stream that had started (then it is a mid-stream error); the stream-only faults never do.
    const failedTries = attempts.filter((a) => a.error !== null).length;
    expect(failedTries).toBeGreaterThanOrEqual(24);
    expect(failedTries).toBeLessThanOrEqual(28);
    expect(outcomes.filter((o) => records.get(o.callId)!.attempts.length > 1 && records.get(o.callId)!.status === 'ok').length).toBeGreaterThan(0);
    expect(tally.ok + tally.error).toBe(50);
    console.info(`[upstream-faults] 50 calls, 40 faults, seed ${SEED}: ${tally.ok} ok, ${tally.error} errors, ${attempts.length} tries, ${elapsed} ms`);
  });

  it('streams that fail after they start end with one SSE error event and are not retried', async () => {
    const faults: QueuedFault[] = [];
    for (let i = 0; i < 3; i++) faults.push({ cutAfterChunks: 3 }, { streamError: { message: 'overloaded right now' } }, { malformed: true }, { dripMs: 25 });
    fake.enqueue(...faults);
    const outcomes = await Promise.all(Array.from({ length: 16 }, () => call(true, 'one two three four five six seven')));
    const records = await recordsOf(outcomes);
    const tally = { ok: 0, error: 0 };
    for (const o of outcomes) {
      const record = records.get(o.callId)!;
      tally[checkOutcome(o, record)]++;
      expect(record.attempts).toHaveLength(1); // once bytes flowed to the client, no retry
    }
    // 3 cut + 3 error events + 3 malformed mid-stream; drip and unfaulted streams succeed.
    expect(tally).toEqual({ ok: 7, error: 9 });
    const errors = outcomes
      .filter((o) => o.answer.events.at(-1) !== '[DONE]')
      .map((o) => (JSON.parse(o.answer.events.at(-1)!) as { error: { code: string; message: string } }).error);
    for (const e of errors) expect(['upstream_error', 'upstream_bad_response']).toContain(e.code);
    expect(errors.filter((e) => e.message.includes('overloaded right now'))).toHaveLength(3);
    expect(errors.filter((e) => e.code === 'upstream_bad_response').length).toBeGreaterThanOrEqual(3); // the malformed events
  });

  it('lands every record, attempts included, in the database', async () => {
    const inMemory = gw.sink.records;
    await until('the writer to catch up', () => (gw.callLog!.stats() as { written: number }).written >= inMemory.length);
    const rows = (await database.db.execute(sql`select id::text as id, attempts, status, error_code from calls`)) as unknown as
      | Array<{ id: string; attempts: Array<{ status: number | null; error: string | null }>; status: string; error_code: string | null }>
      | { rows: Array<{ id: string; attempts: Array<{ status: number | null; error: string | null }>; status: string; error_code: string | null }> };
    const list = Array.isArray(rows) ? rows : rows.rows;
    expect(list).toHaveLength(inMemory.length);
    const byId = new Map(list.map((r) => [r.id, r]));
    for (const r of inMemory) {
      const row = byId.get(r.id);
      expect(row, `row for ${r.id}`).toBeDefined();
      expect(row!.status).toBe(r.status);
      expect(row!.error_code).toBe(r.errorCode);
      expect(row!.attempts.map((a) => [a.status, a.error])).toEqual(r.attempts.map((a) => [a.status, a.error]));
    }
  });
});
