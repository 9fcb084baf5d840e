import { z } from 'zod';
import { STOPWORDS } from './text/stopwords.ts';
import { fold, stem } from './text/normalize.ts';
import { defineScorer, notApplicable } from './types.ts';

/**
 * Agreement across samples: the target is asked `samples` more times (seeds seed+1…, at
 * `temperature`) and the score is the mean pairwise similarity of all answers, the scored one
 * included. `jaccard` compares content-word sets (robust to phrasing); `exact` compares the
 * normalised text. 1 = every sample says the same thing.
 */
function contentSet(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of fold(text).toLowerCase().matchAll(/[a-z0-9]+(?:['-][a-z0-9]+)*/g)) {
    if (!STOPWORDS.has(m[0])) out.add(stem(m[0]));
  }
  return out;
}

export function jaccard(a: string, b: string): number {
  const x = contentSet(a);
  const y = contentSet(b);
  if (x.size === 0 && y.size === 0) return 1;
  let inter = 0;
  for (const w of x) if (y.has(w)) inter++;
  return inter / (x.size + y.size - inter);
}

const exactSame = (a: string, b: string) => (a.trim().toLowerCase().replace(/\s+/g, ' ') === b.trim().toLowerCase().replace(/\s+/g, ' ') ? 1 : 0);

export function meanPairwise(answers: readonly string[], sim: (a: string, b: string) => number): number {
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < answers.length; i++) {
    for (let j = i + 1; j < answers.length; j++) {
      total += sim(answers[i]!, answers[j]!);
      pairs++;
    }
  }
  return pairs ? total / pairs : 1;
}

export const selfConsistencyScorer = defineScorer({
  name: 'self_consistency',
  kind: 'sampling',
  options: z
    .strictObject({
      samples: z.number().int().min(1).max(20).default(4),
      temperature: z.number().min(0).max(2).default(0.7),
      measure: z.enum(['jaccard', 'exact']).default('jaccard'),
    })
    .default({ samples: 4, temperature: 0.7, measure: 'jaccard' }),
  async score(input, opts, ctx) {
    if (!ctx.sample) return notApplicable('needs a target to sample from (score-only item)');
    let samples: string[];
    try {
      samples = await ctx.sample(opts.samples, opts.temperature);
    } catch (err) {
      return notApplicable(`sampling failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const answers = [input.output, ...samples];
    const score = meanPairwise(answers, opts.measure === 'exact' ? exactSame : jaccard);
    return { score, details: { samples, measure: opts.measure } };
  },
});
