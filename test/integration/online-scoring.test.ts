import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalExtension } from '../../gateway/cli/serve-command.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { startGateway, type RunningGateway } from '../../gateway/server.ts';
import { callScores } from '../../evals/schema.ts';
import { judgeKind, judgeReply } from '../helpers/evals.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { seedDataDir } from '../helpers/pglite-data-dir.ts';

/**
 * Issue 18 item 1, end to end: a real server (`sluice serve`'s extension) with a route that
 * scores every call online; a call through the official SDK gets its scores in call_scores
 * (source online) without the client waiting, and /healthz counts them. A bad scorer in the
 * config stops the start with a message naming its path.
 */
describe('online scoring through a running server', () => {
  let fake: FakeProvider;
  let root: string;
  let gw: RunningGateway;
  const KEY = 'sk-sluice-online-scoring-test-key-0001';

  const config = (scorers: string) =>
    `providers:\n  up: { type: openai-compatible, base_url: ${fake.openaiBaseUrl} }\n` +
    `routes:\n  answers:\n    variants: [{ name: a, target: up/gpt-4o-mini }]\n    online_scoring: { sample: 1, scorers: ${scorers} }\n` +
    'logging: { flush_ms: 20 }\n';

  beforeAll(async () => {
    fake = await startFakeProvider();
    root = mkdtempSync(join(tmpdir(), 'sluice-online-'));
    writeFileSync(join(root, 'ok.yaml'), config("[{ name: contains, value: 'Echo' }, { name: regex, pattern: '^Nope' }]"));
    seedDataDir(join(root, 'data'));
    gw = await startGateway(
      { SLUICE_CONFIG: join(root, 'ok.yaml'), SLUICE_DATA_DIR: join(root, 'data'), SLUICE_ADMIN_KEY: KEY, PORT: '0' },
      silentLogger,
      evalExtension,
    );
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('scores the call once it finished, source online, and /healthz counts it', async () => {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const { data, response } = await openai.chat.completions.create({ model: 'answers', messages: [{ role: 'user', content: 'score me' }] }).withResponse();
    expect(data.choices[0]!.message.content).toContain('Echo');
    const callId = response.headers.get('x-sluice-call-id')!;

    let rows: Array<typeof callScores.$inferSelect> = [];
    for (let i = 0; i < 100 && rows.length < 2; i++) {
      rows = await gw.database.db.select().from(callScores).where(eq(callScores.callId, callId));
      if (rows.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(rows.map((r) => [r.scorer, r.score, r.source]).sort()).toEqual([
      ['contains', 1, 'online'],
      ['regex', 0, 'online'],
    ]);
    const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { online_scoring?: Record<string, number> };
    expect(health.online_scoring).toMatchObject({ sampled: 1, scored: 1, shed: 0, failed: 0 });
  });

  it('a route naming an unknown scorer does not start, and says where', async () => {
    writeFileSync(join(root, 'bad.yaml'), config('[groundedness, nope]'));
    const started = startGateway(
      { SLUICE_CONFIG: join(root, 'bad.yaml'), SLUICE_DATA_DIR: join(root, 'data-bad'), SLUICE_ADMIN_KEY: KEY, PORT: '0' },
      silentLogger,
      evalExtension,
    );
    await expect(started).rejects.toThrow(/routes\.answers\.online_scoring\.scorers\.1\.name: unknown scorer 'nope'/);
  });
});

/**
 * DESIGN §4.6, judge scorers through the job queue, end to end: the server hands each sampled
 * call to the queue (ids and scorer specs only), its own worker (embedded mode) reads the call
 * back from the call log and asks the judge through the gateway — the fake provider plays both
 * the answering model and the judge — and the scores land in call_scores, source online.
 */
describe('online judge scoring through a running server', () => {
  let fake: FakeProvider;
  let root: string;
  let gw: RunningGateway;
  const KEY = 'sk-sluice-online-judge-test-key-00001';

  beforeAll(async () => {
    fake = await startFakeProvider();
    fake.setReply(judgeReply); // judge prompts get a verdict; every other request an echo
    root = mkdtempSync(join(tmpdir(), 'sluice-online-judge-'));
    writeFileSync(
      join(root, 'judged.yaml'),
      `providers:\n  up: { type: openai-compatible, base_url: ${fake.openaiBaseUrl} }\n` +
        'routes:\n  answers:\n    variants: [{ name: a, target: up/gpt-4o-mini }]\n' +
        '    online_scoring: { sample: 1, scorers: [{ name: hallucination, judge: up/gpt-4o-mini }] }\n' +
        'logging: { flush_ms: 20 }\n',
    );
    gw = await startGateway({ SLUICE_CONFIG: join(root, 'judged.yaml'), SLUICE_DATA_DIR: join(root, 'data'), SLUICE_ADMIN_KEY: KEY, PORT: '0' }, silentLogger, evalExtension);
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('each call gets one online row for the judge scorer, with the score the judge gave', async () => {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const questions = ['what is in the box?', 'tell me about the moon', 'where was it bought?'];
    const callIds: string[] = [];
    for (const content of questions) {
      const { response } = await openai.chat.completions.create({ model: 'answers', messages: [{ role: 'user', content }] }).withResponse();
      callIds.push(response.headers.get('x-sluice-call-id')!);
    }

    const deadline = Date.now() + 20_000;
    let rows: Array<typeof callScores.$inferSelect> = [];
    while (Date.now() < deadline) {
      rows = await gw.database.db.select().from(callScores).where(and(inArray(callScores.callId, callIds), eq(callScores.source, 'online')));
      if (rows.length >= callIds.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The fake echoes the question, so only the answer about the moon is judged hallucinated.
    expect(callIds.map((id) => rows.filter((r) => r.callId === id).map((r) => [r.scorer, r.score]))).toEqual([
      [['hallucination', 1]],
      [['hallucination', 0]],
      [['hallucination', 1]],
    ]);
    expect(rows[0]!.details).toMatchObject({ judge_prompt_version: 'sluice-judge-hallucination@1', judge_model: 'up/gpt-4o-mini' });
    expect(fake.requests.filter((r) => judgeKind(r.body) === 'hallucination')).toHaveLength(3);

    const stats = async () => ((await (await fetch(`${gw.url}/healthz`)).json()) as { online_scoring: Record<string, number> }).online_scoring;
    while (Date.now() < deadline && ((await stats()).judge_scored ?? 0) < 3) await new Promise((r) => setTimeout(r, 50));
    expect(await stats()).toMatchObject({ sampled: 3, judge_enqueued: 3, judge_scored: 3, judge_failed: 0, judge_shed: 0, judge_backlog: 0 });
    // The judge's own calls went through the gateway and are not scored in turn.
    expect(await gw.database.db.select().from(callScores)).toHaveLength(3);
  });
});
