import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { EvalItem } from '../datasets/item.ts';
import { budgetScore, costScorer, latencyScorer } from './budget.ts';
import { groundedness, groundednessScorer } from './groundedness.ts';
import { parseJudgeOutput } from './judge-output.ts';
import { jsonSchemaScorer } from './json-schema.ts';
import { containsScorer, exactScorer, regexScorer } from './match.ts';
import { jaccard, meanPairwise } from './self-consistency.ts';
import type { Scorer, ScoreInput, ScorerContext } from './types.ts';

const ctx: ScorerContext = { judge: null, sample: null };
const input = (output: string, item: Partial<EvalItem> = {}, extra: Partial<ScoreInput> = {}): ScoreInput => ({
  item: { item_id: '0', ...item },
  output,
  question: item.input ?? null,
  context: typeof item.context === 'string' ? item.context : null,
  latencyMs: null,
  costUsd: null,
  ...extra,
});
const run = async <S extends z.ZodType>(s: Scorer<S>, i: ScoreInput, opts: unknown = {}) => s.score(i, s.options.parse(opts), ctx);

describe('string scorers', () => {
  it('exact: normalised equality against expected (one of several)', async () => {
    expect((await run(exactScorer, input(' Delhi ', { expected: 'delhi' }))).score).toBe(1);
    expect((await run(exactScorer, input('Delhi', { expected: ['Mumbai', 'Delhi'] }))).score).toBe(1);
    expect((await run(exactScorer, input('Delhi', { expected: 'delhi' }), { ignore_case: false })).score).toBe(0);
    expect(await run(exactScorer, input('Delhi'))).toMatchObject({ score: null, reason: expect.stringMatching(/no expected/) });
  });

  it('contains: the share of expected strings found', async () => {
    expect((await run(containsScorer, input('red and blue', { expected: ['red', 'green'] }))).score).toBe(0.5);
    expect((await run(containsScorer, input('RED'), { value: 'red' })).score).toBe(1);
  });

  it('regex and json_schema', async () => {
    expect((await run(regexScorer, input('order #123'), { pattern: '#\\d+' })).score).toBe(1);
    expect(() => regexScorer.options.parse({ pattern: '(' })).toThrow(/valid regular expression/);
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    expect((await run(jsonSchemaScorer, input('```json\n{"n": 2}\n```'), { schema })).score).toBe(1);
    expect(await run(jsonSchemaScorer, input('{"n": "x"}', { expected: schema }))).toMatchObject({ score: 0, reason: expect.stringMatching(/\/n must be integer/) });
    expect(await run(jsonSchemaScorer, input('nope', { expected: schema }))).toMatchObject({ score: 0, reason: 'output is not JSON' });
  });

  it('latency and cost: 1 / (1 + x / budget), null when unknown', async () => {
    expect(budgetScore(0, 5)).toBe(1);
    expect(budgetScore(5, 5)).toBe(0.5);
    expect(budgetScore(15, 5)).toBe(0.25);
    expect((await run(latencyScorer, input('x', {}, { latencyMs: 2000 }))).score).toBe(0.5);
    expect((await run(costScorer, input('x', {}, { costUsd: 0.003 }), { budget_usd: 0.001 })).score).toBe(0.25);
    expect((await run(costScorer, input('x'))).score).toBeNull();
  });
});

describe('groundedness (deterministic)', () => {
  const context =
    'Jonathan Stark (born April 3, 1971) is a former professional tennis player from the United States. He won two Grand Slam doubles titles, the 1994 French Open and the 1995 Wimbledon Championships.';
  const q = 'Which tennis player won more Grand Slam titles?';

  it('is 1 when every unit is in the context, however long the answer', () => {
    expect(groundedness('Jonathan Stark', context, q).score).toBe(1);
    expect(groundedness('Jonathan Stark, a former professional tennis player from the United States, won two Grand Slam doubles titles: the 1994 French Open and the 1995 Wimbledon Championships.', context, q).score).toBe(1);
  });

  it('drops for a swapped entity or number, naming it', () => {
    const swapped = groundedness('Jonathan Stark won the 1996 French Open.', context, q);
    expect(swapped.score).toBeLessThan(1);
    expect(swapped.reason).toMatch(/1996/);
    expect(groundedness('Henri Leconte', context, q).score).toBe(0);
    // A name whose words all occur, but never together, is a recombination: half credit.
    expect(groundedness('Stark Wimbledon', context, q).score).toBeCloseTo(0.5, 9);
  });

  it('normalises per claim, so one bad claim among several does not zero the answer', () => {
    const r = groundedness('Jonathan Stark won two Grand Slam doubles titles. He was born in Paris.', context, q);
    expect(r.score).toBeGreaterThan(0.4);
    expect(r.score).toBeLessThan(1);
    expect((r.details as { claims: unknown[] }).claims).toHaveLength(2);
  });

  it('reads number words and negation', () => {
    expect(groundedness('He won 2 doubles titles.', context, q).score).toBe(1);
    expect(groundedness('Jonathan Stark did not play tennis.', context, q).score).toBeLessThan(1);
  });

  it('is null without context or without checkable content', async () => {
    expect((await run(groundednessScorer, input('Delhi'))).score).toBeNull();
    expect(groundedness('Yes.', context, q)).toMatchObject({ score: null, reason: expect.stringMatching(/nothing checkable/) });
  });
});

describe('judge output parsing', () => {
  const schema = z.object({ verdict: z.enum(['grounded', 'hallucinated']), rationale: z.string() });
  it('accepts JSON, fenced JSON, or JSON inside prose', () => {
    expect(parseJudgeOutput('{"verdict":"grounded","rationale":"ok"}', schema)).toEqual({ ok: true, value: { verdict: 'grounded', rationale: 'ok' } });
    expect(parseJudgeOutput('```json\n{"verdict":"hallucinated","rationale":"x"}\n```', schema).ok).toBe(true);
    expect(parseJudgeOutput('Sure! {"verdict":"grounded","rationale":"y"} Hope that helps.', schema).ok).toBe(true);
  });
  it('turns anything else into a reason', () => {
    expect(parseJudgeOutput('no idea', schema)).toEqual({ ok: false, reason: 'judge output is not JSON: "no idea"' });
    expect(parseJudgeOutput('{"verdict":"maybe","rationale":""}', schema)).toMatchObject({ ok: false, reason: expect.stringMatching(/^judge output has the wrong shape: verdict/) });
  });
});

describe('self_consistency measures', () => {
  it('jaccard over content words and the mean over pairs', () => {
    expect(jaccard('The capital is Paris.', 'Paris is the capital')).toBe(1);
    expect(jaccard('Paris', 'Rome')).toBe(0);
    expect(meanPairwise(['Paris', 'Paris', 'Rome'], jaccard)).toBeCloseTo(1 / 3, 9);
  });
});
