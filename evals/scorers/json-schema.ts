import { Ajv, type ValidateFunction } from 'ajv';
// ajv-formats is CommonJS; under NodeNext its default import is module.exports (see prompts/).
import ajvFormats from 'ajv-formats';
import { z } from 'zod';
import { defineScorer, notApplicable } from './types.ts';

/**
 * 1 when the output is JSON that validates against the schema (the job's `schema`, else an
 * object `expected`), 0 otherwise with the first errors as the reason. A fenced ```json block
 * is unwrapped first, since chat models often add one.
 */
let ajv: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: object): ValidateFunction | string {
  const hit = compiled.get(schema);
  if (hit) return hit;
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: false });
    ajvFormats.default(ajv);
  }
  try {
    const v = ajv.compile(schema);
    compiled.set(schema, v);
    return v;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The JSON value in a model's text, or undefined. */
export function parseJsonOutput(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const body = (fenced ? fenced[1]! : text).trim();
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

export const jsonSchemaScorer = defineScorer({
  name: 'json_schema',
  kind: 'deterministic',
  options: z.strictObject({ schema: z.record(z.string(), z.unknown()).optional() }).default({}),
  score(input, opts) {
    const expected = input.item.expected;
    const schema = opts.schema ?? (expected && typeof expected === 'object' && !Array.isArray(expected) ? expected : undefined);
    if (!schema) return notApplicable('no JSON schema (scorer schema or object item.expected)');
    const validate = validatorFor(schema);
    if (typeof validate === 'string') return notApplicable(`invalid JSON schema: ${validate}`);
    const value = parseJsonOutput(input.output);
    if (value === undefined) return { score: 0, reason: 'output is not JSON' };
    if (validate(value)) return { score: 1 };
    const errors = (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
    return { score: 0, reason: errors.join('; '), details: { errors: validate.errors ?? [] } };
  },
});
