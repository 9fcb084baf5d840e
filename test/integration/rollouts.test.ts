import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalExtension } from '../../gateway/cli/serve-command.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { startGateway, type RunningGateway } from '../../gateway/server.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { seedDataDir } from '../helpers/pglite-data-dir.ts';
import { sluice } from '../helpers/sluice-cli.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * Issue 18 items 4–6 end to end, on a running server (`sluice serve`'s extension) with online
 * groundedness scoring of a RAG route: a healthy candidate is promoted step by step; a candidate
 * whose upstream starts answering ungrounded text mid-rollout, or failing with 5xx, is rolled
 * back within two looks of having min_samples bad calls scored, with one incident and one signed
 * webhook; the same for a prompt version rolled out behind a label.
 */
const GROUNDED = 'Employees get 25 days of paid vacation per year.';
const UNGROUNDED = 'Contractors receive 90 weeks of sabbatical on Mars, approved by Zorblax Incorporated.';
const QUESTION = 'How many vacation days do employees get?';
const MIN_SAMPLES = 20;
const INTERVAL_S = 0.25;
const PLAN = {
  steps: [20, 50, 100],
  step_seconds: 1,
  min_samples: MIN_SAMPLES,
  confidence: 0.95,
  guards: [
    { metric: 'score:groundedness', max_drop: 0.1 },
    { metric: 'error_rate', max_increase: 0.05 },
  ],
};

type Mode = 'healthy' | 'ungrounded' | '5xx';

describe('rollouts on a running server', () => {
  let fake: FakeProvider;
  let root: string;
  let gw: RunningGateway;
  let receiver: WebhookReceiver;
  let openai: OpenAI;
  const KEY = 'sk-sluice-rollout-test-key-0000001';
  const SECRET = 'whsec-rollout-test';
  /** How the candidate behaves: the route's variant b (model gpt-4o), or prompt faq version 2 ("creative"). */
  let mode: Mode = 'healthy';

  beforeAll(async () => {
    fake = await startFakeProvider();
    fake.setReply((req) => {
      const body = req as { model?: string; messages?: Array<{ content?: unknown }> };
      const candidate = body.model === 'gpt-4o' || JSON.stringify(body.messages ?? []).includes('creative');
      if (candidate && mode === '5xx') throw new Error('candidate is down');
      return candidate && mode === 'ungrounded' ? UNGROUNDED : GROUNDED;
    });
    receiver = await startWebhookReceiver();
    const hookUrl = receiver.url;
    root = mkdtempSync(join(tmpdir(), 'sluice-rollouts-'));
    writeFileSync(
      join(root, 'sluice.yaml'),
      `providers:\n  up: { type: openai-compatible, base_url: ${fake.openaiBaseUrl}, retry: { max_attempts: 1, base_delay_ms: 0, max_delay_ms: 0 } }\n` +
        'retrievers:\n  docs: { type: postgres-fts, collection: handbook }\n' +
        'routes:\n' +
        '  support:\n    variants: [{ name: a, target: up/gpt-4o-mini }, { name: b, target: up/gpt-4o, weight: 0 }]\n' +
        '    rag: { retriever: docs, top_k: 2 }\n    online_scoring: { sample: 1, scorers: [groundedness] }\n' +
        '  faq:\n    variants: [{ name: main, target: up/gpt-4o-mini, prompt: faq@production }]\n' +
        '    rag: { retriever: docs, top_k: 2 }\n    online_scoring: { sample: 1, scorers: [groundedness] }\n' +
        `notifications:\n  ops: { type: webhook, url: ${hookUrl}, secret: ${SECRET} }\n` +
        `monitoring: { interval_seconds: ${INTERVAL_S} }\nlogging: { flush_ms: 20 }\n`,
    );
    seedDataDir(join(root, 'data'));
    gw = await startGateway(
      { SLUICE_CONFIG: join(root, 'sluice.yaml'), SLUICE_DATA_DIR: join(root, 'data'), SLUICE_ADMIN_KEY: KEY, PORT: '0' },
      silentLogger,
      evalExtension,
    );
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
    await api('POST', '/api/documents', {
      documents: [
        { collection: 'handbook', id: 'vacation', text: 'Employees get 25 days of paid vacation per year.' },
        { collection: 'handbook', id: 'parking', text: 'Parking is free in the north garage for staff.' },
      ],
    });
    await api('POST', '/api/prompts', { name: 'faq' });
    await api('POST', '/api/prompts/faq/versions', { messages: [{ role: 'system', content: 'Answer from the handbook.' }] });
    await api('POST', '/api/prompts/faq/versions', { messages: [{ role: 'system', content: 'Answer from the handbook, and be creative.' }] });
    await api('PUT', '/api/prompts/faq/labels/production', { version: 1 });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await receiver?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function api(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = await res.json();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** Four clients calling `model` until `done()` says stop; counts the answers per variant / prompt version. */
  async function traffic(model: string, done: () => boolean, deadlineMs = 60_000): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    const until = Date.now() + deadlineMs;
    const client = async () => {
      while (!done() && Date.now() < until) {
        const { response } = await openai.chat.completions
          .create({ model, messages: [{ role: 'user', content: QUESTION }] })
          .withResponse()
          .catch((err: { headers?: Headers }) => ({ response: { headers: err.headers ?? new Headers() } }));
        const arm = response.headers.get('x-sluice-prompt-version') && model === 'faq' ? response.headers.get('x-sluice-prompt-version')! : (response.headers.get('x-sluice-variant') ?? '?');
        seen.set(arm, (seen.get(arm) ?? 0) + 1);
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    return seen;
  }

  /** Runs traffic while polling the rollout; returns its final view. */
  async function driveUntil(model: string, path: string, stop: (r: any) => boolean): Promise<any> {
    let latest = await api('GET', path);
    let finished = false;
    const poll = (async () => {
      while (!finished) {
        await new Promise((r) => setTimeout(r, 100));
        latest = await api('GET', path);
        if (stop(latest)) finished = true;
      }
    })();
    await traffic(model, () => finished);
    finished = true;
    await poll;
    return latest;
  }

  /**
   * The serving stores follow a rollout's changes by NOTIFY (Postgres) or a 500 ms poll
   * (PGlite): wait until the route serves `want`, or a poll's worth for prompt labels.
   */
  async function served(route: string, want: Record<string, number>): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const r = await api('GET', `/api/routes/${route}`);
      if (r.variants.every((v: any) => want[v.name] === undefined || v.weight === want[v.name])) return;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  const pollPeriod = () => new Promise((r) => setTimeout(r, 1_200));

  /** Looks (evidence grouped by time) of a rollout's score or error guard. */
  const looksOf = (r: any, metric: string) => (r.evidence as any[]).filter((e) => e.metric === metric);

  /**
   * Run 2 and 3 in one shape: healthy until the rollout is in its second step (mid-rollout),
   * then the candidate turns bad; it must be rolled back within two looks of the look that
   * first saw min_samples bad calls, with one incident and one signed webhook.
   */
  async function badMidRollout(model: string, path: string, start: () => Promise<unknown>, bad: Mode, metric: string): Promise<void> {
    mode = 'healthy';
    const hooksBefore = receiver.got.length;
    await start();
    const mid = await driveUntil(model, path, (r) => r.step >= 1 || r.state !== 'running');
    expect(mid).toMatchObject({ state: 'running', step: 1 });
    // Let the healthy calls' scores land, so the looks below count only bad calls after the switch.
    let before = 0;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, INTERVAL_S * 1000));
      const rows = looksOf(await api('GET', path), metric);
      const n = rows.at(-1)?.n_candidate ?? 0;
      if (n === before && n > 0) break;
      before = n;
    }
    mode = bad;
    const end = await driveUntil(model, path, (r) => r.state !== 'running');
    mode = 'healthy';
    expect(end.state).toBe('rolled_back');
    const rows = looksOf(end, metric);
    // The look that first had min_samples bad calls (or none did: rolled back with fewer).
    const full = rows.findIndex((e) => (e.n_candidate ?? 0) >= before + MIN_SAMPLES);
    const breach = rows.findIndex((e) => e.decision === 'breach');
    expect(breach).toBeGreaterThanOrEqual(0);
    expect(breach).toBeLessThanOrEqual(full === -1 ? rows.length - 1 : full + 1);
    // One incident, one signed webhook naming it.
    const incident = await api('GET', `/api/incidents/${end.incident}`);
    expect(incident).toMatchObject({ metric, status: 'open' });
    for (let i = 0; i < 50 && receiver.got.length === hooksBefore; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_S * 1000));
    expect(receiver.got.length - hooksBefore).toBe(1);
    const sent = receiver.got.at(-1)!;
    expect(sent.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(sent.body).digest('hex')}`);
    expect(JSON.parse(sent.body)).toMatchObject({ incident: end.incident, metric });
  }

  it('a healthy route candidate is promoted to 100% step by step', async () => {
    mode = 'healthy';
    await api('PUT', '/api/routes/support/rollout', { variant: 'b', ...PLAN });
    const end = await driveUntil('support', '/api/routes/support/rollout', (r) => r.state !== 'running');
    expect(end).toMatchObject({ state: 'promoted', percent: 100, weights: { a: 0, b: 100 } });
    expect(end.evidence.filter((e: any) => e.decision === 'advance').length).toBeGreaterThanOrEqual(1);
    await served('support', { a: 0, b: 100 });
    const route = await api('GET', '/api/routes/support');
    expect(route.variants.find((v: any) => v.name === 'b').weight).toBe(100);
    const seen = await traffic('support', () => false, 300);
    expect([...seen.keys()]).toEqual(['b']);
    await api('DELETE', '/api/routes/support/weights');
  }, 90_000);

  it('a route candidate answering ungrounded text mid-rollout is rolled back, with one incident and one webhook', async () => {
    await badMidRollout('support', '/api/routes/support/rollout', () => api('PUT', '/api/routes/support/rollout', { variant: 'b', ...PLAN }), 'ungrounded', 'score:groundedness');
    await served('support', { b: 0 });
    const route = await api('GET', '/api/routes/support');
    expect(route.variants.find((v: any) => v.name === 'b').weight).toBe(0);
  }, 90_000);

  it('a route candidate failing with 5xx mid-rollout is rolled back the same way', async () => {
    await badMidRollout('support', '/api/routes/support/rollout', () => api('PUT', '/api/routes/support/rollout', { variant: 'b', ...PLAN }), '5xx', 'error_rate');
  }, 90_000);

  it('a prompt version behind a label: promoted when healthy (the label moves), rolled back when it goes bad (the label stays)', async () => {
    const path = '/api/prompts/faq/labels/production/rollout';
    const seen = new Map<string, number>();
    mode = 'healthy';
    await api('PUT', path, { version: 2, ...PLAN });
    const promoted = await driveUntil('faq', path, (r) => r.state !== 'running');
    expect(promoted.state).toBe('promoted');
    expect((await api('GET', '/api/prompts/faq')).labels.production).toBe(2);
    await pollPeriod();
    for (const [k, v] of await traffic('faq', () => false, 300)) seen.set(k, v);
    expect([...seen.keys()]).toEqual(['faq@2']);

    // Back to version 1 by hand; roll version 2 out again, and it goes bad mid-rollout.
    await api('PUT', '/api/prompts/faq/labels/production', { version: 1 });
    await badMidRollout('faq', path, () => api('PUT', path, { version: 2, ...PLAN }), 'ungrounded', 'score:groundedness');
    const prompt = await api('GET', '/api/prompts/faq');
    expect(prompt.labels.production).toBe(1);
    await badMidRollout('faq', path, () => api('PUT', path, { version: 2, ...PLAN }), '5xx', 'error_rate');
  }, 180_000);

  it('sluice rollout start, status and abort go through the server; abort restores the weights', async () => {
    const env = { SLUICE_CONFIG: join(root, 'sluice.yaml'), SLUICE_DATA_DIR: join(root, 'data') };
    const started = await sluice(['rollout', 'start', 'route', 'support', '--variant', 'b', '--steps', '10,100', '--step-seconds', '3600', '--guard', 'error_rate=0.05'], env);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain('running, step 1/2 (10%)');
    const status = await sluice(['rollout', 'status', 'route', 'support'], env);
    expect(status.stdout).toMatch(/weights: a 90%, b 10%/);
    const aborted = await sluice(['rollout', 'abort', 'route', 'support'], env);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(aborted.stdout).toContain('aborted');
    await served('support', { a: 1, b: 0 });
    expect((await api('GET', '/api/routes/support')).variants.map((v: any) => v.weight)).toEqual([1, 0]);
    const bad = await sluice(['rollout', 'start', 'route', 'support'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('needs --variant');
    const none = await sluice(['rollout', 'abort', 'prompt', 'faq@production'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('No rollout of prompt');
  }, 60_000);
});
