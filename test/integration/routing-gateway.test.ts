import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../gateway/calls/record.ts';
import type { Database } from '../../gateway/db/client.ts';
import { assignmentValue } from '../../gateway/routing/assign.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { testDatabases } from '../helpers/test-db.ts';

/**
 * Routes through the real gateway (issue 6): variants with their params and prompts, sticky
 * assignment across two instances on one database, canary weight changes, shadow traffic,
 * fallbacks with a circuit breaker, boot-time reference checks and per-variant stats.
 */
const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
const noRetry = { max_attempts: 1, base_delay_ms: 0, max_delay_ms: 0 };

interface ChatAnswer {
  status: number;
  variant: string | null;
  route: string | null;
  callId: string | null;
  body: Record<string, unknown>;
}

async function chat(gw: TestGateway, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<ChatAnswer> {
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { ...admin, ...headers }, body: JSON.stringify(body) });
  return {
    status: res.status,
    variant: res.headers.get('x-sluice-variant'),
    route: res.headers.get('x-sluice-route'),
    callId: res.headers.get('x-sluice-call-id'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Polls `probe` until it returns true; resolves with the elapsed milliseconds. */
async function until(probe: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function recordOf(gw: TestGateway, callId: string, timeoutMs = 3_000): Promise<CallRecord> {
  let found: CallRecord | undefined;
  await until(async () => (found = gw.sink.records.find((r) => r.id === callId)) !== undefined, timeoutMs, 10);
  return found!;
}

const user = (content: string) => [{ role: 'user', content }];
const subjects = Array.from({ length: 200 }, (_, i) => `subject-${i}`);

describe.each(testDatabases())('routes through the gateway ($kind)', (target) => {
  let database: Database;
  let pa: FakeProvider; // variant A and most single-variant routes
  let pb: FakeProvider; // variant B
  let slow: FakeProvider; // shadow target that takes 1.5 s
  let bad: FakeProvider; // shadow target that fails
  let prim: FakeProvider; // primary that returns 500s
  let tprim: FakeProvider; // primary that hangs (timeouts)
  let back: FakeProvider; // the fallback
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    [pa, pb, slow, bad, prim, tprim, back] = await Promise.all([
      startFakeProvider(),
      startFakeProvider(),
      startFakeProvider(),
      startFakeProvider(),
      startFakeProvider(),
      startFakeProvider(),
      startFakeProvider(),
    ]);
    database = await target.open();
    // Route prompts must exist at boot: create them through the API of a route-less instance.
    const boot = await startTestGateway({ config: { providers: {} }, database });
    try {
      const api = (path: string, method: string, body: unknown) =>
        fetch(`${boot.url}/api/prompts${path}`, { method, headers: admin, body: JSON.stringify(body) });
      expect((await api('', 'POST', { name: 'greeter' })).status).toBe(201);
      expect((await api('/greeter/versions', 'POST', { messages: [{ role: 'system', content: 'You are the alpha assistant.' }] })).status).toBe(201);
      expect((await api('/greeter/versions', 'POST', { messages: [{ role: 'system', content: 'Unreleased v2.' }] })).status).toBe(201);
      expect((await api('/greeter/labels/production', 'PUT', { version: 1 })).status).toBe(200);
    } finally {
      await boot.close();
    }
    const provider = (f: FakeProvider, extra: Record<string, unknown> = {}) => ({ type: 'openai-compatible', base_url: f.openaiBaseUrl, retry: noRetry, ...extra });
    const config = {
      providers: {
        pa: provider(pa),
        pb: provider(pb),
        slow: provider(slow),
        bad: provider(bad),
        prim: provider(prim, { retry: { max_attempts: 2, base_delay_ms: 0, max_delay_ms: 0 } }),
        tprim: provider(tprim, { timeouts: { connect_ms: 1_000, first_byte_ms: 300, total_ms: 5_000 } }),
        back: provider(back),
      },
      routes: {
        ab: {
          variants: [
            { name: 'alpha', target: 'pa/gpt-4o-mini', prompt: 'greeter@production', params: { temperature: 0.3, max_tokens: 50 }, weight: 50 },
            { name: 'beta', target: 'pb/gpt-4o', params: { temperature: 0.9, top_p: 0.5 }, weight: 50 },
          ],
        },
        canary: {
          variants: [
            { name: 'control', target: 'pa/gpt-4o-mini', weight: 50 },
            { name: 'candidate', target: 'pb/gpt-4o', weight: 50 },
          ],
        },
        'shadow-slow': { variants: [{ name: 'only', target: 'pa/gpt-4o-mini' }], shadow: { target: 'slow/gpt-4o-mini', sample: 1 } },
        'shadow-bad': { variants: [{ name: 'only', target: 'pa/gpt-4o-mini' }], shadow: { target: 'bad/gpt-4o-mini', sample: 1 } },
        failover: {
          variants: [{ name: 'main', target: 'prim/gpt-4o-mini' }],
          fallbacks: ['back/gpt-4o-mini'],
          circuit_breaker: { failures: 2, cooldown_ms: 300 },
        },
        'failover-timeout': { variants: [{ name: 'main', target: 'tprim/gpt-4o-mini' }], fallbacks: ['back/gpt-4o-mini'] },
        stats: {
          variants: [
            { name: 'x', target: 'pa/gpt-4o-mini', weight: 1 },
            { name: 'y', target: 'pb/gpt-4o', weight: 1 },
          ],
        },
      },
    };
    a = await startTestGateway({ config, database, callLog: true });
    b = await startTestGateway({ config, database });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
    await Promise.all([pa, pb, slow, bad, prim, tprim, back].map((f) => f?.close()));
  });

  it("serves the variant's target with its params and prompt, and logs route, variant and assignment", async () => {
    const client = new OpenAI({ baseURL: a.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    // Subjects whose hash falls in each half (config weights 50/50, so the line is cut at 1/2).
    const alphaSubject = subjects.find((s) => assignmentValue('ab', s) < 0.5)!;
    const betaSubject = subjects.find((s) => assignmentValue('ab', s) >= 0.5)!;

    const { data, response } = await client.chat.completions
      .create({ model: 'ab', messages: [{ role: 'user', content: 'hello alpha' }], temperature: 0.1 }, { headers: { 'x-sluice-subject': alphaSubject } })
      .withResponse();
    expect(response.headers.get('x-sluice-route')).toBe('ab');
    expect(response.headers.get('x-sluice-variant')).toBe('alpha');
    expect(response.headers.get('x-sluice-prompt-version')).toBe('greeter@1');
    expect(data.choices[0]!.message.content).toBe('Echo: hello alpha');
    const sentA = pa.requests.at(-1)!.body as Record<string, unknown>;
    expect(sentA.model).toBe('gpt-4o-mini');
    expect(sentA.temperature).toBe(0.1); // the request's own field wins over the variant's 0.3
    expect(sentA.max_tokens).toBe(50); // the variant's param fills what the request left out
    expect(sentA.messages).toEqual([
      { role: 'system', content: 'You are the alpha assistant.' },
      { role: 'user', content: 'hello alpha' },
    ]);
    expect(sentA).not.toHaveProperty('prompt');
    const recA = await recordOf(a, response.headers.get('x-sluice-call-id')!);
    expect(recA).toMatchObject({ route: 'ab', variant: 'alpha', provider: 'pa', model: 'gpt-4o-mini', promptName: 'greeter', promptVersion: 1, fallbackUsed: false, shadow: false });
    expect(recA.assignment).toBe(assignmentValue('ab', alphaSubject));

    const before = pb.requests.length;
    const beta = await chat(a, { model: 'ab', messages: user('hello beta'), user: betaSubject });
    expect(beta).toMatchObject({ status: 200, route: 'ab', variant: 'beta' });
    expect(pb.requests.length).toBe(before + 1);
    const sentB = pb.requests.at(-1)!.body as Record<string, unknown>;
    expect(sentB).toMatchObject({ model: 'gpt-4o', temperature: 0.9, top_p: 0.5, messages: user('hello beta') });
    expect(sentB).not.toHaveProperty('max_tokens');
    const recB = await recordOf(a, beta.callId!);
    expect(recB).toMatchObject({ route: 'ab', variant: 'beta', provider: 'pb', model: 'gpt-4o', promptName: null, user: betaSubject });
    expect(recB.assignment).toBe(assignmentValue('ab', betaSubject));
  });

  it('assignment is sticky by x-sluice-subject and by user, on both instances, and follows the weights', async () => {
    const expected = (s: string) => (assignmentValue('ab', s) < 0.5 ? 'alpha' : 'beta');
    const jobs = subjects.flatMap((s) => [
      { s, gw: a, via: 'header' },
      { s, gw: b, via: 'header' },
      { s, gw: a, via: 'user' },
      { s, gw: b, via: 'user' },
    ]);
    const got = await pool(jobs, 16, async ({ s, gw, via }) => {
      const ans =
        via === 'header'
          ? await chat(gw, { model: 'ab', messages: user('hi') }, { 'x-sluice-subject': s })
          : await chat(gw, { model: 'ab', messages: user('hi'), user: s });
      expect(ans.status).toBe(200);
      return ans.variant;
    });
    const mismatches = jobs.filter((j, i) => got[i] !== expected(j.s)).map((j, i) => `${j.s} via ${j.via}: ${got[i]}`);
    expect(mismatches).toEqual([]);
    const alpha = subjects.filter((s) => expected(s) === 'alpha').length;
    // 200 fair coin flips: far outside [70, 130] is a broken hash, not bad luck (> 4 sd).
    expect(alpha).toBeGreaterThan(70);
    expect(alpha).toBeLessThan(130);
  });

  it('a call without a subject is a random draw, logged with no assignment', async () => {
    const seen = new Set<string>();
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const ans = await chat(b, { model: 'ab', messages: user('anonymous') });
      expect(ans.status).toBe(200);
      seen.add(ans.variant!);
      ids.push(ans.callId!);
    }
    // 24 draws at 50/50 all landing on one side has probability 2^-23.
    expect([...seen].sort()).toEqual(['alpha', 'beta']);
    for (const id of ids) expect((await recordOf(b, id)).assignment).toBeNull();
  });

  it('canary: PUT weights moves only the expected subjects, reaches the other instance within 1 s, DELETE reverts; both audited', async () => {
    const u = new Map(subjects.map((s) => [s, assignmentValue('canary', s)]));
    const variantsOn = (gw: TestGateway) =>
      pool(subjects, 16, async (s) => (await chat(gw, { model: 'canary', messages: user('c') }, { 'x-sluice-subject': s })).variant!);
    const before = await variantsOn(b);
    expect(before).toEqual(subjects.map((s) => (u.get(s)! < 0.5 ? 'control' : 'candidate')));

    // 50/50 → 80/20: candidate gives back its top 0.3 of the line ([0.7, 1)) and control takes it.
    const movers = subjects.filter((s) => u.get(s)! >= 0.7);
    expect(movers.length).toBeGreaterThan(30);
    const probe = movers[0]!;
    const put = await fetch(`${a.url}/api/routes/canary/weights`, { method: 'PUT', headers: admin, body: JSON.stringify({ weights: { control: 80, candidate: 20 } }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({
      route: 'canary',
      changed: true,
      before: { source: 'config', weights: { control: 50, candidate: 50 } },
      after: { source: 'override', weights: { control: 80, candidate: 20 } },
    });
    // The instance that made the change serves it at once; the other within a second.
    expect((await chat(a, { model: 'canary', messages: user('c') }, { 'x-sluice-subject': probe })).variant).toBe('control');
    const seenIn = await until(async () => (await chat(b, { model: 'canary', messages: user('c') }, { 'x-sluice-subject': probe })).variant === 'control', 1_500, 10);
    expect(seenIn).toBeLessThan(1_000);

    for (const gw of [a, b]) {
      const after = await variantsOn(gw);
      const moved = subjects.filter((_, i) => after[i] !== before[i]);
      expect(moved).toEqual(movers);
      for (const s of moved) expect(before[subjects.indexOf(s)]).toBe('candidate');
    }
    const listed = (await (await fetch(`${b.url}/api/routes`, { headers: admin })).json()) as { data: Array<{ name: string; weights_source: string; variants: Array<{ name: string; weight: number }> }> };
    const canary = listed.data.find((r) => r.name === 'canary')!;
    expect(canary.weights_source).toBe('override');
    expect(canary.variants.map((v) => [v.name, v.weight])).toEqual([
      ['control', 80],
      ['candidate', 20],
    ]);

    const del = await fetch(`${b.url}/api/routes/canary/weights`, { method: 'DELETE', headers: admin });
    expect(del.status).toBe(200);
    expect(await del.json()).toMatchObject({ changed: true, after: { source: 'config', weights: { control: 50, candidate: 50 } } });
    const revertedIn = await until(async () => (await chat(a, { model: 'canary', messages: user('c') }, { 'x-sluice-subject': probe })).variant === 'candidate', 1_500, 10);
    expect(revertedIn).toBeLessThan(1_000);
    // Undoing the last change restores the exact previous assignment, everywhere.
    expect(await variantsOn(a)).toEqual(before);
    expect(await variantsOn(b)).toEqual(before);

    const audit = (await database.db.execute(
      sql`select action, actor, before, after from audit_log where subject = 'route:canary' order by at, id`,
    )) as unknown;
    const rows = (Array.isArray(audit) ? audit : (audit as { rows: unknown[] }).rows) as Array<{ action: string; actor: string; before: unknown; after: unknown }>;
    expect(rows.map((r) => r.action)).toEqual(['route.weights', 'route.weights_reset']);
    expect(rows[0]).toMatchObject({ before: { weights: { control: 50, candidate: 50 } }, after: { weights: { control: 80, candidate: 20 } } });
    expect(rows[1]).toMatchObject({ before: { weights: { control: 80, candidate: 20 } }, after: { weights: { control: 50, candidate: 50 } } });
    for (const r of rows) expect(r.actor).toBeTruthy();
  });

  it('a slow shadow target changes neither the response nor its latency (JSON and stream); its record arrives later', async () => {
    const client = new OpenAI({ baseURL: a.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    slow.enqueue({ delayMs: 1_500 }, { delayMs: 1_500 });
    const slowBefore = slow.requests.length;
    const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
      const t0 = performance.now();
      const out = await fn();
      return [out, performance.now() - t0];
    };
    const [[json, jsonMs], [streamed, streamMs]] = await Promise.all([
      timed(() => client.chat.completions.create({ model: 'shadow-slow', messages: [{ role: 'user', content: 'primary please' }] }).withResponse()),
      timed(async () => {
        const { data: stream, response } = await client.chat.completions
          .create({ model: 'shadow-slow', messages: [{ role: 'user', content: 'stream me' }], stream: true })
          .withResponse();
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        return { text, response };
      }),
    ]);
    expect(json.data.choices[0]!.message.content).toBe('Echo: primary please');
    expect(json.data.model).toBe('gpt-4o-mini');
    expect(streamed.text).toBe('Echo: stream me');
    expect(jsonMs).toBeLessThan(700);
    expect(streamMs).toBeLessThan(700);

    const ids = [json.response.headers.get('x-sluice-call-id')!, streamed.response.headers.get('x-sluice-call-id')!];
    for (const id of ids) {
      expect(await recordOf(a, id)).toMatchObject({ shadow: false, provider: 'pa', route: 'shadow-slow', status: 'ok' });
      expect(a.sink.records.some((r) => r.parentCallId === id)).toBe(false); // not yet: the shadow is still waiting
    }
    for (const id of ids) {
      let shadow: CallRecord | undefined;
      await until(async () => (shadow = a.sink.records.find((r) => r.parentCallId === id)) !== undefined, 4_000);
      expect(shadow).toMatchObject({ shadow: true, parentCallId: id, provider: 'slow', model: 'gpt-4o-mini', status: 'ok', route: 'shadow-slow', stream: false });
      expect(shadow!.latencyMs).toBeGreaterThanOrEqual(1_400);
    }
    const sent = slow.requests.slice(slowBefore).map((r) => r.body as Record<string, unknown>);
    expect(sent.map((b) => (b.messages as Array<{ content: string }>)[0]!.content).sort()).toEqual(['primary please', 'stream me']);
    for (const body of sent) {
      expect(body.model).toBe('gpt-4o-mini');
      expect(body.stream === undefined || body.stream === false).toBe(true);
    }
  });

  it('a failing shadow target changes nothing for the client; the failure is logged as a shadow call', async () => {
    bad.enqueue({ status: 500 });
    const t0 = performance.now();
    const ans = await chat(a, { model: 'shadow-bad', messages: user('still fine') });
    expect(performance.now() - t0).toBeLessThan(700);
    expect(ans.status).toBe(200);
    expect((ans.body.choices as Array<{ message: { content: string } }>)[0]!.message.content).toBe('Echo: still fine');
    let shadow: CallRecord | undefined;
    await until(async () => (shadow = a.sink.records.find((r) => r.parentCallId === ans.callId)) !== undefined, 3_000);
    expect(shadow).toMatchObject({ shadow: true, provider: 'bad', status: 'upstream_error' });
    expect(shadow!.attempts).toEqual([expect.objectContaining({ provider: 'bad', status: 500 })]);
    expect((await recordOf(a, ans.callId!)).status).toBe('ok');
  });

  it('fallback serves when the primary returns 500s; the breaker opens after 2 failures and closes after the cool-down', async () => {
    const breakerOf = async () => {
      const r = (await (await fetch(`${a.url}/api/routes/failover`, { headers: admin })).json()) as { variants: Array<{ targets: Array<{ breaker: { state: string } | null }> }> };
      return r.variants[0]!.targets[0]!.breaker?.state;
    };
    expect(await breakerOf()).toBe('closed');
    const primBefore = prim.requests.length;
    for (let i = 1; i <= 2; i++) {
      prim.enqueue({ status: 500 }, { status: 500 });
      const ans = await chat(a, { model: 'failover', messages: user(`fail ${i}`) });
      expect(ans.status).toBe(200);
      expect((ans.body.choices as Array<{ message: { content: string } }>)[0]!.message.content).toBe(`Echo: fail ${i}`);
      const rec = await recordOf(a, ans.callId!);
      expect(rec).toMatchObject({ fallbackUsed: true, provider: 'back', status: 'ok', route: 'failover', variant: 'main' });
      expect(rec.attempts.map((t) => [t.provider, t.status])).toEqual([
        ['prim', 500],
        ['prim', 500],
        ['back', 200],
      ]);
    }
    expect(prim.requests.length).toBe(primBefore + 4);
    expect(await breakerOf()).toBe('open');

    // Open: straight to the fallback, the primary is not touched.
    const backBefore = back.requests.length;
    const skipped = await chat(a, { model: 'failover', messages: user('while open') });
    expect(skipped.status).toBe(200);
    expect(prim.requests.length).toBe(primBefore + 4);
    expect(back.requests.length).toBe(backBefore + 1);
    const skippedRec = await recordOf(a, skipped.callId!);
    expect(skippedRec.provider).toBe('back');
    expect(skippedRec.attempts.map((t) => t.provider)).toEqual(['back']);
    // The route chose prim; back served, so this is still a fallback.
    expect(skippedRec.fallbackUsed).toBe(true);

    // After the cool-down one trial goes to the primary (healthy again) and closes the breaker.
    await new Promise((r) => setTimeout(r, 350));
    const trial = await chat(a, { model: 'failover', messages: user('trial') });
    expect(trial.status).toBe(200);
    expect(prim.requests.length).toBe(primBefore + 5);
    expect(await recordOf(a, trial.callId!)).toMatchObject({ provider: 'prim', fallbackUsed: false });
    expect(await breakerOf()).toBe('closed');
    const after = await chat(a, { model: 'failover', messages: user('closed again') });
    expect(await recordOf(a, after.callId!)).toMatchObject({ provider: 'prim', fallbackUsed: false });
    expect(prim.requests.length).toBe(primBefore + 6);
  });

  it('fallback serves when the primary times out', async () => {
    tprim.enqueue({ hang: true });
    const t0 = performance.now();
    const ans = await chat(a, { model: 'failover-timeout', messages: user('too slow') });
    const elapsed = performance.now() - t0;
    expect(ans.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(2_000);
    const rec = await recordOf(a, ans.callId!);
    expect(rec).toMatchObject({ fallbackUsed: true, provider: 'back', status: 'ok' });
    expect(rec.attempts).toEqual([
      expect.objectContaining({ provider: 'tprim', status: null, error: 'upstream_timeout' }),
      expect.objectContaining({ provider: 'back', status: 200 }),
    ]);
  });

  it('GET /api/routes/{name}/stats counts what was sent, per variant', async () => {
    const expected = (s: string) => (assignmentValue('stats', s) < 0.5 ? 'x' : 'y');
    const sent = subjects.slice(0, 30);
    const want = { x: 0, y: 0 };
    for (const s of sent) want[expected(s)]++;
    // One call of variant x fails upstream (its provider does not retry and the route has no fallback).
    const failing = sent.find((s) => expected(s) === 'x')!;
    for (const s of sent) {
      if (s === failing) pa.enqueue({ status: 500 });
      const ans = await chat(a, { model: 'stats', messages: user(`stats ${s}`) }, { 'x-sluice-subject': s });
      expect(ans.status).toBe(s === failing ? 502 : 200);
      // (An error response carries no x-sluice-variant header; its record does.)
      if (s !== failing) expect(ans.variant).toBe(expected(s));
      else expect(await recordOf(a, ans.callId!)).toMatchObject({ variant: 'x', status: 'upstream_error' });
    }
    type Stats = { route: string; control: string; variants: Array<{ variant: string; is_control: boolean; calls: number; error_rate: { errors: number; n: number; value: number }; latency_ms: { n: number } }> };
    let stats: Stats | undefined;
    await until(async () => {
      const res = await fetch(`${a.url}/api/routes/stats/stats`, { headers: admin });
      expect(res.status).toBe(200);
      stats = (await res.json()) as Stats;
      return stats.variants.reduce((n, v) => n + v.calls, 0) >= sent.length;
    }, 5_000, 100);
    expect(stats!.route).toBe('stats');
    expect(stats!.control).toBe('x');
    const x = stats!.variants.find((v) => v.variant === 'x')!;
    const y = stats!.variants.find((v) => v.variant === 'y')!;
    expect(x).toMatchObject({ is_control: true, calls: want.x, error_rate: { errors: 1, n: want.x }, latency_ms: { n: want.x - 1 } });
    expect(x.error_rate.value).toBeCloseTo(1 / want.x, 10);
    expect(y).toMatchObject({ is_control: false, calls: want.y, error_rate: { errors: 0, n: want.y }, latency_ms: { n: want.y } });
  });

  it('a route naming an unknown provider fails the boot, naming the key', async () => {
    await expect(
      startTestGateway({
        config: { providers: { pa: { type: 'openai-compatible', base_url: pa.openaiBaseUrl } }, routes: { r: { variants: [{ name: 'v', target: 'ghost/gpt-4o-mini' }] } } },
        database,
      }),
    ).rejects.toThrow(/routes\.r\.variants\.0\.target: unknown provider "ghost"/);
    await expect(
      startTestGateway({
        config: {
          providers: { pa: { type: 'openai-compatible', base_url: pa.openaiBaseUrl } },
          routes: { r: { variants: [{ name: 'v', target: 'pa/gpt-4o-mini' }], fallbacks: ['nowhere/m'] } },
        },
        database,
      }),
    ).rejects.toThrow(/routes\.r\.fallbacks\.0: unknown provider "nowhere"/);
  });

  it('a route naming a prompt that does not exist yet boots with a warning, answers 404 saying how to create it, then serves once it exists', async () => {
    const providers = { pa: { type: 'openai-compatible', base_url: pa.openaiBaseUrl } };
    const warnings: string[] = [];
    const logger = { info() {}, error() {}, warn: (msg: string) => void warnings.push(msg) };
    const gw = await startTestGateway({
      config: {
        providers,
        routes: {
          later: {
            variants: [{ name: 'v', target: 'pa/gpt-4o-mini', prompt: 'later-prompt@production' }],
            shadow: { target: 'pa/gpt-4o', prompt: 'greeter@9' },
          },
        },
      },
      database,
      logger,
    });
    try {
      expect(warnings).toEqual([
        expect.stringMatching(/^routes\.later\.variants\.0\.prompt: prompt "later-prompt" does not exist: .*404.*sluice prompts push/),
        expect.stringMatching(/^routes\.later\.shadow\.prompt: prompt "greeter" has no version 9/),
      ]);
      const client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
      const ask = () => client.chat.completions.create({ model: 'later', messages: [{ role: 'user', content: 'hi' }] });
      const err = await ask().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect((err as Error).message).toMatch(/Route 'later' variant 'v' uses prompt 'later-prompt@production', which does not exist yet.*npx sluice prompts push/);

      const api = (path: string, method: string, body: unknown) =>
        fetch(`${gw.url}/api/prompts${path}`, { method, headers: admin, body: JSON.stringify(body) });
      expect((await api('', 'POST', { name: 'later-prompt' })).status).toBe(201);
      expect((await api('/later-prompt/versions', 'POST', { messages: [{ role: 'system', content: 'Be brief.' }] })).status).toBe(201);
      expect((await api('/later-prompt/labels/production', 'PUT', { version: 1 })).status).toBe(200);
      const ok = await ask();
      expect(ok.choices[0]!.message.content).toBe('Echo: hi');
    } finally {
      await gw.close();
    }
  });
});
