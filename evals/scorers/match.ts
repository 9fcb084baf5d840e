import { z } from 'zod';
import { defineScorer, notApplicable } from './types.ts';

/**
 * String scorers against the item's `expected` (or a `value` in the job). `exact` passes when
 * the output equals one of the expected strings after trimming (and, by default, folding case
 * and inner whitespace); `contains` scores the share of expected strings the output contains;
 * `regex` passes when the pattern matches. All give 0 or 1 (`contains` with several values may
 * give a fraction), so McNemar applies to them in regressions.
 */
const expectedStrings = (value: unknown): string[] | null => {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value.map(String);
  return null;
};

const normalise = (s: string, ignoreCase: boolean) => {
  const t = s.trim().replace(/\s+/g, ' ');
  return ignoreCase ? t.toLowerCase() : t;
};

const valueOption = z.union([z.string(), z.array(z.string()).min(1)]).optional();

export const exactScorer = defineScorer({
  name: 'exact',
  kind: 'deterministic',
  options: z.strictObject({ value: valueOption, ignore_case: z.boolean().default(true) }).default({ ignore_case: true }),
  score(input, opts) {
    const expected = expectedStrings(opts.value ?? input.item.expected);
    if (!expected) return notApplicable('no expected string (item.expected or scorer value)');
    const out = normalise(input.output, opts.ignore_case);
    const hit = expected.find((e) => normalise(e, opts.ignore_case) === out);
    return hit === undefined ? { score: 0, reason: `expected ${JSON.stringify(expected[0])}` } : { score: 1 };
  },
});

export const containsScorer = defineScorer({
  name: 'contains',
  kind: 'deterministic',
  options: z.strictObject({ value: valueOption, ignore_case: z.boolean().default(true) }).default({ ignore_case: true }),
  score(input, opts) {
    const expected = expectedStrings(opts.value ?? input.item.expected);
    if (!expected || expected.length === 0) return notApplicable('no expected string (item.expected or scorer value)');
    const out = normalise(input.output, opts.ignore_case);
    const missing = expected.filter((e) => !out.includes(normalise(e, opts.ignore_case)));
    return {
      score: (expected.length - missing.length) / expected.length,
      ...(missing.length ? { reason: `missing ${missing.map((m) => JSON.stringify(m)).join(', ')}` } : {}),
    };
  },
});

export const regexScorer = defineScorer({
  name: 'regex',
  kind: 'deterministic',
  options: z.strictObject({
    pattern: z.string().refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression'),
    flags: z.string().regex(/^[gimsuy]*$/, 'regex flags').default(''),
  }),
  score(input, opts) {
    const re = new RegExp(opts.pattern, opts.flags.replace('g', ''));
    return re.test(input.output) ? { score: 1 } : { score: 0, reason: `no match for /${opts.pattern}/${opts.flags}` };
  },
});
