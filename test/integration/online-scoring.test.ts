import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalExtension } from '../../gateway/cli/serve-command.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { startGateway, type RunningGateway } from '../../gateway/server.ts';
import { callScores } from '../../evals/schema.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';

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
