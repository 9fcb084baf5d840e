import { z } from 'zod';
import { parseJudgeOutput } from './judge-output.ts';
import { defineScorer, notApplicable, type JudgePromptName, type ScoreInput, type ScoreResult, type ScorerContext } from './types.ts';

/**
 * LLM-judge scorers. The judge is a `provider/model` called through the gateway (so judge
 * calls are logged and cached like any other) with a prompt from the registry; each score
 * records the prompt version and the judge model.
 */
const judgeOptions = z.strictObject({ judge: z.string().regex(/^[^/\s]+\/\S+$/, 'must be provider/model') });

const claimSchema = z.object({
  claims: z.array(
    z.object({
      claim: z.string(),
      verdict: z.enum(['supported', 'unsupported', 'contradicted']),
      evidence: z.string().optional().nullable(),
    }),
  ),
});

const verdictSchema = z.object({ verdict: z.enum(['grounded', 'hallucinated']), rationale: z.string() });

async function askJudge(
  prompt: JudgePromptName,
  input: ScoreInput,
  model: string,
  ctx: ScorerContext,
): Promise<{ ok: true; text: string; meta: Pick<ScoreResult, 'judgePromptVersion' | 'judgeModel'> } | { ok: false; result: ScoreResult }> {
  if (!ctx.judge) return { ok: false, result: notApplicable('no gateway to call the judge through') };
  try {
    const reply = await ctx.judge({
      prompt,
      model,
      variables: { context: input.context ?? '', question: input.question ?? '', answer: input.output },
    });
    return { ok: true, text: reply.text, meta: { judgePromptVersion: reply.promptVersion ?? undefined, judgeModel: reply.model } };
  } catch (err) {
    return { ok: false, result: { score: null, reason: `judge call failed: ${err instanceof Error ? err.message : String(err)}`, judgeModel: model } };
  }
}

export const faithfulnessScorer = defineScorer({
  name: 'faithfulness',
  kind: 'judge',
  options: judgeOptions,
  async score(input, opts, ctx) {
    if (!input.context) return notApplicable('no context to verify claims against');
    const asked = await askJudge('sluice-judge-faithfulness', input, opts.judge, ctx);
    if (!asked.ok) return asked.result;
    const parsed = parseJudgeOutput(asked.text, claimSchema);
    if (!parsed.ok) return { score: null, reason: parsed.reason, ...asked.meta };
    const claims = parsed.value.claims;
    if (claims.length === 0) return { score: null, reason: 'the judge found no factual claims', ...asked.meta, details: { claims } };
    const supported = claims.filter((c) => c.verdict === 'supported').length;
    const bad = claims.filter((c) => c.verdict !== 'supported');
    return {
      score: supported / claims.length,
      ...(bad.length ? { reason: `${bad.length}/${claims.length} claims not supported: ${bad.slice(0, 3).map((c) => `${c.verdict}: ${c.claim}`).join('; ')}` } : {}),
      details: { claims },
      ...asked.meta,
    };
  },
});

export const hallucinationScorer = defineScorer({
  name: 'hallucination',
  kind: 'judge',
  options: judgeOptions,
  async score(input, opts, ctx) {
    const asked = await askJudge('sluice-judge-hallucination', input, opts.judge, ctx);
    if (!asked.ok) return asked.result;
    const parsed = parseJudgeOutput(asked.text, verdictSchema);
    if (!parsed.ok) return { score: null, reason: parsed.reason, ...asked.meta };
    // 1 = no hallucination found (DESIGN §6: higher is better).
    return { score: parsed.value.verdict === 'grounded' ? 1 : 0, reason: parsed.value.rationale, details: { verdict: parsed.value.verdict }, ...asked.meta };
  },
});
