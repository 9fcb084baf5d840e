import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
// ajv-formats is CommonJS; under NodeNext its default import is module.exports, whose
// `.default` is the plugin.
import ajvFormats from 'ajv-formats';
import { PromptError } from './errors.ts';
import type { JsonObject } from './types.ts';

let ajv: Ajv | undefined;

function instance(): Ajv {
  if (!ajv) {
    // useDefaults: a schema's `default` fills a variable the caller left out.
    ajv = new Ajv({ strict: false, useDefaults: true, allErrors: false });
    ajvFormats.default(ajv);
  }
  return ajv;
}

const compiled = new WeakMap<JsonObject, ValidateFunction>();

/**
 * Compiles a version's `variables` schema (memoised per schema object). The top-level `$id`
 * and `$schema` are dropped: ids would collide across versions in the shared Ajv instance,
 * and the meta-schema URL is informational here (Ajv validates with draft-07 semantics).
 */
export function compileVariablesSchema(schema: JsonObject): ValidateFunction {
  const hit = compiled.get(schema);
  if (hit) return hit;
  const { $id: _id, $schema: _meta, ...rest } = schema;
  let fn: ValidateFunction;
  try {
    fn = instance().compile(rest);
  } catch (err) {
    throw new PromptError('invalid_request', `'variables' is not a valid JSON schema: ${(err as Error).message}`, 'variables');
  }
  compiled.set(schema, fn);
  return fn;
}

/** Rejects a schema that cannot compile or that does not describe an object of variables. */
export function checkVariablesSchema(schema: JsonObject): void {
  if (schema.type !== undefined && schema.type !== 'object') {
    throw new PromptError('invalid_request', `'variables' must be a JSON schema of type 'object' (the variables map).`, 'variables.type');
  }
  compileVariablesSchema(schema);
}

/** Validates (and fills defaults into) `values`; the first failure is a 400 naming the variable. */
export function validateVariables(schema: JsonObject, values: JsonObject): void {
  const fn = compileVariablesSchema(schema);
  if (fn(values)) return;
  const err = fn.errors?.[0];
  if (!err) throw new PromptError('invalid_request', 'The variables do not match the prompt version’s schema.', 'variables');
  const path = errorPath(err);
  const name = path.join('.');
  const param = name ? `variables.${name}` : 'variables';
  if (err.keyword === 'required') {
    throw new PromptError('invalid_request', `Missing variable '${name}' (required by the prompt version's variables schema).`, param);
  }
  const what = name ? `variable '${name}'` : 'variables';
  throw new PromptError('invalid_request', `Invalid value for ${what}: ${err.message ?? 'does not match the schema'}.`, param);
}

function errorPath(err: ErrorObject): string[] {
  const path = err.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = err.params as { missingProperty?: string; additionalProperty?: string };
  if (err.keyword === 'required' && params.missingProperty) path.push(params.missingProperty);
  if (err.keyword === 'additionalProperties' && params.additionalProperty) path.push(params.additionalProperty);
  return path;
}
