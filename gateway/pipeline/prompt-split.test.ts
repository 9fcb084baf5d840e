import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineHarness, reply, startPrompts, type PipelineHarness, type TestPrompts } from '../../test/helpers/pipeline-deps.ts';
import { callHeaders } from './call-headers.ts';
import { planChat } from './chat-call.ts';

/**
 * Prompt label splits, the mechanism behind prompt label rollouts (DESIGN §4.6): a call that
 * references `name@label`, by header, body or a route variant's `prompt`, goes to the split's
 * version or the label's by a draw sticky per subject, and the record (so the
 * `x-sluice-prompt-version` header) names the version it used.
 */

const CONFIG = {
  providers: { openai: { type: 'openai' } },
  routes: {
    support: { variants: [{ name: 'a', target: 'openai/gpt-4o-mini', prompt: 'banner@production' }] },
  },
};

const messages = [{ role: 'user', content: 'hi' }];
const direct = { model: 'openai/gpt-4o-mini', messages };
const subjects = Array.from({ length: 1000 }, (_, i) => `subject-${i}`);

let prompts: TestPrompts;
beforeAll(async () => {
  prompts = await startPrompts();
  const { store } = prompts;
  await store.createPrompt('banner', null, 'test');
  for (const text of ['Old banner.', 'New banner.']) {
    await store.createVersion('banner', { messages: [{ role: 'system', content: text }], model: null, params: {}, variables: null }, 'test');
  }
  await store.moveLabel('banner', 'production', 1, 'test');
  await store.setLabelSplit('banner', 'production', 2, 30, 'test');
});
afterAll(async () => {
  await prompts?.close();
});

const harness = (): PipelineHarness => pipelineHarness(CONFIG, { openai: { chat: () => reply('ok') } }, prompts.resolver);

/** The version planChat applied, as the record and the response header name it, and what it rendered. */
async function versionFor(h: PipelineHarness, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const call = h.newCall();
  const plan = await planChat(h.input(body, { headers }), call, h.deps);
  const header = callHeaders(call.record)['x-sluice-prompt-version'];
  expect(header).toBe(`banner@${call.record.promptVersion}`);
  expect(plan.req.messages[0]).toEqual({ role: 'system', content: call.record.promptVersion === 2 ? 'New banner.' : 'Old banner.' });
  return call.record.promptVersion;
}

const share = (versions: Array<number | null>): number => versions.filter((v) => v === 2).length / versions.length;

describe('prompt label splits in the pipeline', () => {
  it('sends about 30% of distinct subjects to the new version, and each subject always to the same one', async () => {
    const h = harness();
    const first: Array<number | null> = [];
    for (const subject of subjects) first.push(await versionFor(h, direct, { 'x-sluice-prompt': 'banner@production', 'x-sluice-subject': subject }));
    expect(share(first)).toBeGreaterThan(0.26);
    expect(share(first)).toBeLessThan(0.34);
    expect(new Set(first)).toEqual(new Set([1, 2]));

    // The same subjects again, and by the body's `user` and `prompt` field instead: the same sides.
    const again: Array<number | null> = [];
    for (const subject of subjects.slice(0, 200)) {
      again.push(await versionFor(h, { ...direct, user: subject, prompt: { id: 'banner', label: 'production' } }));
    }
    expect(again).toEqual(first.slice(0, 200));
    // The header's subject wins over the body's user.
    const [x, y] = [subjects.findIndex((_, i) => first[i] === 1), subjects.findIndex((_, i) => first[i] === 2)];
    const headers = { 'x-sluice-prompt': 'banner@production', 'x-sluice-subject': subjects[y]! };
    expect(await versionFor(h, { ...direct, user: subjects[x]! }, headers)).toBe(2);
  });

  it("splits a route variant's `prompt: name@label` the same way (sticky per subject)", async () => {
    const h = harness();
    const routed: Array<number | null> = [];
    for (const subject of subjects) routed.push(await versionFor(h, { model: 'support', messages }, { 'x-sluice-subject': subject }));
    expect(share(routed)).toBeGreaterThan(0.26);
    expect(share(routed)).toBeLessThan(0.34);
    // The draw is per prompt label, not per route: a subject gets the side it gets by header.
    const byHeader: Array<number | null> = [];
    for (const subject of subjects.slice(0, 100)) byHeader.push(await versionFor(h, direct, { 'x-sluice-prompt': 'banner@production', 'x-sluice-subject': subject }));
    expect(routed.slice(0, 100)).toEqual(byHeader);
  });

  it('names the version used in the response header of a whole call', async () => {
    const h = harness();
    const run = async (subject: string) =>
      (await h.run(direct, { headers: { 'x-sluice-prompt': 'banner@production', 'x-sluice-subject': subject } })).headers['x-sluice-prompt-version'];
    const seen = new Set<string | undefined>();
    for (const subject of subjects.slice(0, 20)) seen.add(await run(subject));
    expect(seen).toEqual(new Set(['banner@1', 'banner@2']));
  });

  it('draws at random without a subject, and only for a label that has a split', async () => {
    const h = harness();
    let draws = 0;
    const drawing = (u: number) => () => {
      draws++;
      return u;
    };
    h.deps.random = drawing(0.1);
    expect(await versionFor(h, direct, { 'x-sluice-prompt': 'banner@production' })).toBe(2);
    h.deps.random = drawing(0.9);
    expect(await versionFor(h, direct, { 'x-sluice-prompt': 'banner@production' })).toBe(1);
    expect(draws).toBe(2);
    // `latest` and pinned versions are never split: nothing is drawn.
    expect(await versionFor(h, direct, { 'x-sluice-prompt': 'banner' })).toBe(2);
    expect(await versionFor(h, direct, { 'x-sluice-prompt': 'banner@1' })).toBe(1);
    expect(draws).toBe(2);
  });

  it('follows the split as it changes: cleared, every call gets the label version', async () => {
    const h = harness();
    await prompts.store.setLabelSplit('banner', 'production', 2, 100, 'test');
    for (const subject of subjects.slice(0, 50)) expect(await versionFor(h, direct, { 'x-sluice-prompt': 'banner@production', 'x-sluice-subject': subject })).toBe(2);
    await prompts.store.clearLabelSplit('banner', 'production', 'test');
    for (const subject of subjects.slice(0, 50)) expect(await versionFor(h, direct, { 'x-sluice-prompt': 'banner@production', 'x-sluice-subject': subject })).toBe(1);
  });
});
