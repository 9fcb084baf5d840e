import { z } from 'zod';
import { claimsOf, supportIndex, unitSupport, type UnitKind } from './text/units.ts';
import { defineScorer, notApplicable, type ScoreResult } from './types.ts';

/**
 * Deterministic groundedness (DESIGN §6): how much of the answer the context supports, with no
 * model. The answer is split into claims (sentences, semicolon clauses); each claim's checkable
 * units — numbers, named entities, content words — are looked up in the context (and the
 * question, which the answer may restate without inventing anything). A claim's support is the
 * weighted share of its units found, numbers and entities weighing more than words; the score is
 * the mean over claims, so it is a ratio per claim rather than a count of misses: a long answer
 * is not penalised for its length, only for what it adds that the context does not hold.
 * 1 = every unit supported. Null when there is no context or nothing checkable (a bare "yes").
 */
export const DEFAULT_WEIGHTS: Record<UnitKind, number> = { number: 3, entity: 3, word: 1, negation: 1 };

const options = z
  .strictObject({
    /** Count the question as support too (default true). */
    use_input: z.boolean().default(true),
    weights: z
      .strictObject({ number: z.number().nonnegative(), entity: z.number().nonnegative(), word: z.number().nonnegative(), negation: z.number().nonnegative() })
      .partial()
      .optional(),
  })
  .default({ use_input: true });

export interface GroundednessDetails {
  claims: Array<{ text: string; support: number; unsupported: string[] }>;
  units: number;
  unsupported_units: number;
}

export function groundedness(answer: string, context: string, question: string | null, weights: Record<UnitKind, number> = DEFAULT_WEIGHTS): ScoreResult {
  const idx = supportIndex(context, question ?? '');
  const claims: GroundednessDetails['claims'] = [];
  let units = 0;
  let unsupportedUnits = 0;
  for (const claim of claimsOf(answer)) {
    if (claim.units.length === 0) continue;
    let total = 0;
    let supported = 0;
    const unsupported: string[] = [];
    for (const u of claim.units) {
      const w = weights[u.kind];
      const s = unitSupport(u, idx);
      total += w;
      supported += w * s;
      units++;
      if (s < 1) {
        unsupported.push(u.text);
        unsupportedUnits++;
      }
    }
    if (total > 0) claims.push({ text: claim.text, support: supported / total, unsupported });
  }
  if (claims.length === 0) return notApplicable('nothing checkable in the answer (no content words, numbers or names)');
  const score = claims.reduce((s, c) => s + c.support, 0) / claims.length;
  const details: GroundednessDetails = { claims, units, unsupported_units: unsupportedUnits };
  return {
    score,
    ...(unsupportedUnits ? { reason: `unsupported: ${claims.flatMap((c) => c.unsupported).slice(0, 8).join(', ')}` } : {}),
    details: details as unknown as Record<string, unknown>,
  };
}

export const groundednessScorer = defineScorer({
  name: 'groundedness',
  kind: 'deterministic',
  options,
  score(input, opts) {
    if (!input.context || input.context.trim() === '') return notApplicable('no context to check the answer against');
    const weights = { ...DEFAULT_WEIGHTS, ...opts.weights } as Record<UnitKind, number>;
    return groundedness(input.output, input.context, opts.use_input ? input.question : null, weights);
  },
});
