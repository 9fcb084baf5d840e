/**
 * Validate gateway responses (JSON bodies and individual SSE chunks) against the official
 * OpenAI OpenAPI description kept in the repo at `test/fixtures/openai-openapi/openapi.yaml`
 * (see the NOTE.md beside it for where it came from).
 *
 * The spec is OpenAPI 3.1 but still carries OpenAPI 3.0 idioms, so before compiling it with
 * Ajv's JSON Schema 2020-12 build we preprocess `components.schemas`:
 *   - `nullable: true` becomes "type or null" (type-array when the schema has a plain `type`,
 *     otherwise `anyOf: [schema, {type: 'null'}]`); `nullable: false` is dropped; an
 *     `allOf: [X, {nullable: true}]` member (3.0 idiom for "X or null") makes the parent nullable;
 *   - boolean `exclusiveMinimum` / `exclusiveMaximum` become the numeric 2020-12 form;
 *   - `$recursiveRef: '#'` (2019-09) becomes a `$ref` to the enclosing component;
 *   - a schema with `properties` but no `type` (Model, OpenAIFile, a few List*Response) gets
 *     `type: 'object'`, otherwise strings/arrays/null would pass it;
 *   - OpenAPI-only keywords (`x-*`, `example`, `discriminator`, `xml`, `externalDocs`) are dropped;
 *     anything else unknown is ignored by Ajv (`strict: false`);
 *   - one documented overlay (SPEC_OVERLAYS): `Embedding.embedding` may also be a base64 string,
 *     which the real API returns for `encoding_format: "base64"` (the openai SDK's default) but the
 *     spec does not model.
 * Non-standard formats (unixtime, int64, int32, double, float, binary, ...) are accepted as-is;
 * standard ones (uri, date, ...) are checked by ajv-formats.
 *
 * Parsing the 3 MB YAML takes ~0.7–1.5 s, so the preprocessed schema is cached as JSON in
 * os.tmpdir() keyed by the spec's path, mtime, size and PREPROCESS_VERSION (set
 * SLUICE_OPENAPI_CACHE=0 to bypass). Everything is lazy and memoised per process; each requested
 * component validator is compiled once.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import AjvModule from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export type SpecSchemaName =
  | 'CreateChatCompletionResponse'
  | 'CreateChatCompletionStreamResponse'
  | 'CreateEmbeddingResponse'
  | 'ListModelsResponse'
  | 'Model'
  | 'ErrorResponse'
  | (string & {});

export interface SpecValidationResult {
  valid: boolean;
  errors: string[];
}

export interface SpecLoadStats {
  specPath: string;
  /** Where the preprocessed schemas came from on this process's first load. */
  source: 'yaml' | 'cache';
  /** Time to read+parse+preprocess (yaml) or read+JSON.parse (cache), in ms. */
  loadMs: number;
  /** Time to set up Ajv and register the document (validators compile lazily afterwards). */
  ajvSetupMs: number;
  cachePath: string | null;
  schemaCount: number;
}

// ---------------------------------------------------------------------------------------------
// Paths

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of the OpenAI OpenAPI description (override with SLUICE_OPENAI_OPENAPI). */
export const OPENAI_SPEC_PATH: string =
  process.env['SLUICE_OPENAI_OPENAPI'] ?? path.resolve(repoRoot, 'test/fixtures/openai-openapi/openapi.yaml');

/** Bump whenever preprocessing changes so stale tmpdir caches are ignored. */
const PREPROCESS_VERSION = 4;
const SPEC_ID = 'https://sluice.invalid/openai-openapi.json';

// ---------------------------------------------------------------------------------------------
// Preprocessing (pure; exported for unit tests)

type Json = null | boolean | number | string | Json[] | JsonObject;
interface JsonObject {
  [key: string]: Json;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keywords whose value is a single subschema. */
const SUBSCHEMA_KEYS = new Set([
  'items',
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
  'additionalItems',
]);
/** Keywords whose value is an array of subschemas. */
const SUBSCHEMA_ARRAY_KEYS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items']);
/** Keywords whose value is a map name -> subschema. */
const SUBSCHEMA_MAP_KEYS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** OpenAPI-only keywords that are removed outright. */
const DROPPED_KEYS = new Set(['example', 'discriminator', 'xml', 'externalDocs', 'nullable']);
/** Keywords that stay on the outer schema when a schema is wrapped in anyOf for nullability. */
const ANNOTATION_KEYS = new Set([
  'title',
  'description',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  'examples',
  '$comment',
]);
/** Keywords that prevent the simple "add 'null' to type" rewrite. */
const COMPOSITE_KEYS = ['$ref', 'allOf', 'anyOf', 'oneOf', 'not', 'const', 'if', '$dynamicRef'];

/** A schema consisting only of `nullable: true` plus annotations (3.0 "allOf: [X, {nullable}]" idiom). */
function isBareNullable(s: Json): boolean {
  if (!isObject(s) || s['nullable'] !== true) return false;
  return Object.keys(s).every((k) => k === 'nullable' || ANNOTATION_KEYS.has(k) || k.startsWith('x-'));
}

function makeNullable(schema: JsonObject): JsonObject {
  const type = schema['type'];
  const canAddToType =
    (typeof type === 'string' || Array.isArray(type)) && COMPOSITE_KEYS.every((k) => !(k in schema));
  if (canAddToType) {
    const types = Array.isArray(type) ? [...type] : [type];
    if (!types.includes('null')) types.push('null');
    const out: JsonObject = { ...schema, type: types };
    const en = schema['enum'];
    if (Array.isArray(en) && !en.includes(null)) out['enum'] = [...en, null];
    return out;
  }
  const outer: JsonObject = {};
  const inner: JsonObject = {};
  for (const [k, v] of Object.entries(schema)) {
    if (ANNOTATION_KEYS.has(k)) outer[k] = v;
    else inner[k] = v;
  }
  // No constraints at all: null is already accepted.
  if (Object.keys(inner).length === 0) return schema;
  outer['anyOf'] = [inner, { type: 'null' }];
  return outer;
}

/**
 * Rewrite one OpenAPI schema object into plain JSON Schema 2020-12 (see file header).
 * `componentName` is the enclosing `components.schemas` key (used for `$recursiveRef: '#'`).
 */
export function preprocessSchema(schema: Json, componentName?: string): Json {
  if (Array.isArray(schema)) return schema.map((s) => preprocessSchema(s, componentName));
  if (!isObject(schema)) return schema;

  let out: JsonObject = {};
  let nullable = schema['nullable'] === true;

  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED_KEYS.has(key) || key.startsWith('x-') || key === '$recursiveAnchor') continue;
    if (key === '$recursiveRef') {
      out['$ref'] =
        value === '#' && componentName !== undefined
          ? `#/components/schemas/${escapePointer(componentName)}`
          : value;
      continue;
    }
    if (SUBSCHEMA_MAP_KEYS.has(key) && isObject(value)) {
      const m: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) m[name] = preprocessSchema(sub, componentName);
      out[key] = m;
    } else if (SUBSCHEMA_ARRAY_KEYS.has(key) && Array.isArray(value)) {
      let members = value;
      if (key === 'allOf' && members.some(isBareNullable)) {
        nullable = true;
        members = members.filter((m) => !isBareNullable(m));
      }
      out[key] = members.map((s) => preprocessSchema(s, componentName));
    } else if (SUBSCHEMA_KEYS.has(key) && (isObject(value) || typeof value === 'boolean')) {
      out[key] = preprocessSchema(value, componentName);
    } else {
      out[key] = value; // enum, const, default, required, description, ... copied verbatim
    }
  }
  if (Array.isArray(out['allOf']) && out['allOf'].length === 0) delete out['allOf'];

  // A few object schemas (Model, OpenAIFile, List*Response) declare `properties`/`required` but no
  // `type`; OpenAPI tooling treats them as objects, JSON Schema would accept any non-object.
  if (
    out['type'] === undefined &&
    isObject(out['properties']) &&
    !('enum' in out) &&
    COMPOSITE_KEYS.every((k) => !(k in out))
  ) {
    out = { type: 'object', ...out };
  }

  for (const [ex, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    const flag = out[ex];
    if (typeof flag !== 'boolean') continue;
    const limit = out[bound];
    delete out[ex];
    if (flag && typeof limit === 'number') {
      out[ex] = limit;
      delete out[bound];
    }
  }

  if (nullable) out = makeNullable(out);
  return out;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Deliberate, documented deviations from the published spec, applied after preprocessing.
 * Keep this list short: each entry hides a place where the spec is stricter than the real API.
 */
const SPEC_OVERLAYS: ReadonlyArray<{ why: string; apply: (schemas: JsonObject) => void }> = [
  {
    why:
      'Embedding.embedding is a base64 string when the request sets encoding_format: "base64" ' +
      '(the openai SDK default); the spec only models the float array.',
    apply(schemas) {
      const embedding = schemas['Embedding'];
      if (!isObject(embedding) || !isObject(embedding['properties'])) return;
      const props = embedding['properties'];
      const floats = props['embedding'];
      if (floats === undefined) return;
      props['embedding'] = {
        anyOf: [
          floats,
          {
            type: 'string',
            contentEncoding: 'base64',
            // Canonical base64 (length multiple of 4, correct padding).
            pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
          },
        ],
      };
    },
  },
];

/** Preprocess a parsed OpenAPI document into `{ components: { schemas } }` ready for Ajv. */
export function preprocessOpenApiDocument(doc: unknown): JsonObject {
  if (!isObject(doc) || !isObject(doc['components']) || !isObject(doc['components']['schemas'])) {
    throw new Error('OpenAPI document has no components.schemas');
  }
  const schemas: JsonObject = {};
  for (const [name, schema] of Object.entries(doc['components']['schemas'])) {
    schemas[name] = preprocessSchema(schema, name);
  }
  for (const overlay of SPEC_OVERLAYS) overlay.apply(schemas);
  const info = isObject(doc['info']) ? doc['info'] : {};
  return {
    openapi: doc['openapi'] ?? null,
    specVersion: info['version'] ?? null,
    components: { schemas },
  };
}

// ---------------------------------------------------------------------------------------------
// Loading (lazy, cached in memory and in os.tmpdir())

interface LoadedSpec {
  ajv: InstanceType<typeof AjvModule.default>;
  schemaNames: Set<string>;
  stats: SpecLoadStats;
}

let loaded: LoadedSpec | undefined;
const validators = new Map<string, ValidateFunction>();

function cacheFileFor(specPath: string, stat: fs.Stats): string {
  const key = createHash('sha256')
    .update(`${path.resolve(specPath)}|${stat.mtimeMs}|${stat.size}|v${PREPROCESS_VERSION}`)
    .digest('hex')
    .slice(0, 24);
  return path.join(os.tmpdir(), 'sluice-openapi-cache', `openai-openapi.${key}.json`);
}

function readPreprocessed(specPath: string): { doc: JsonObject; source: 'yaml' | 'cache'; cachePath: string | null } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(specPath);
  } catch {
    throw new Error(
      `OpenAI OpenAPI spec not found at ${specPath} (it is kept in the repo under test/fixtures/openai-openapi; ` +
        'or set SLUICE_OPENAI_OPENAPI)',
    );
  }
  const useCache = process.env['SLUICE_OPENAPI_CACHE'] !== '0';
  const cachePath = useCache ? cacheFileFor(specPath, stat) : null;
  if (cachePath !== null) {
    try {
      const cached: unknown = JSON.parse(fs.readFileSync(cachePath, 'utf8'));
      if (isObject(cached) && isObject(cached['components'])) return { doc: cached, source: 'cache', cachePath };
    } catch {
      // missing or corrupt cache: fall through and rebuild it
    }
  }
  const doc = preprocessOpenApiDocument(parseYaml(fs.readFileSync(specPath, 'utf8'), { maxAliasCount: -1 }));
  if (cachePath !== null) {
    try {
      fs.mkdirSync(path.dirname(cachePath), { recursive: true });
      const tmp = `${cachePath}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(doc));
      fs.renameSync(tmp, cachePath); // atomic: parallel test workers never see a partial file
    } catch {
      // an unwritable tmpdir only costs speed
    }
  }
  return { doc, source: 'yaml', cachePath };
}

/** Formats used by the spec that are not JSON Schema formats; accepted without checks. */
const LENIENT_FORMATS = ['unixtime', 'int64', 'int32', 'double', 'float', 'binary', 'byte', 'password'];

function collectFormats(node: Json, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) collectFormats(n, into);
  } else if (isObject(node)) {
    const f = node['format'];
    if (typeof f === 'string') into.add(f);
    for (const v of Object.values(node)) collectFormats(v, into);
  }
}

function load(): LoadedSpec {
  if (loaded) return loaded;
  const t0 = performance.now();
  const { doc, source, cachePath } = readPreprocessed(OPENAI_SPEC_PATH);
  const t1 = performance.now();

  const Ajv2020 = AjvModule.default;
  const addFormats = addFormatsModule.default;
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    allowUnionTypes: true,
    validateFormats: true,
    // The document is not itself a JSON Schema; its fragments are checked when compiled.
    validateSchema: false,
  });
  addFormats(ajv);
  const formats = new Set<string>(LENIENT_FORMATS);
  collectFormats(doc, formats);
  for (const f of formats) {
    if (!ajv.formats[f]) ajv.addFormat(f, true); // any other non-standard format the file uses
  }
  ajv.addSchema({ $id: SPEC_ID, components: (doc['components'] ?? {}) as JsonObject });
  const components = doc['components'];
  const schemas = isObject(components) && isObject(components['schemas']) ? components['schemas'] : {};
  const t2 = performance.now();

  loaded = {
    ajv,
    schemaNames: new Set(Object.keys(schemas)),
    stats: {
      specPath: OPENAI_SPEC_PATH,
      source,
      loadMs: Math.round(t1 - t0),
      ajvSetupMs: Math.round(t2 - t1),
      cachePath,
      schemaCount: Object.keys(schemas).length,
    },
  };
  return loaded;
}

/** Load (if needed) and report how the spec was loaded in this process. */
export function getSpecLoadStats(): SpecLoadStats {
  return { ...load().stats };
}

function getValidator(name: string): ValidateFunction {
  const cached = validators.get(name);
  if (cached) return cached;
  const spec = load();
  if (!spec.schemaNames.has(name)) {
    throw new Error(`Unknown OpenAI spec schema "${name}" (not in components.schemas of ${spec.stats.specPath})`);
  }
  const validate = spec.ajv.getSchema(`${SPEC_ID}#/components/schemas/${escapePointer(name)}`);
  if (!validate) throw new Error(`Ajv could not resolve components.schemas.${name}`);
  validators.set(name, validate);
  return validate;
}

// ---------------------------------------------------------------------------------------------
// Public API

function formatError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(root)' : e.instancePath;
  let detail = '';
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'enum' && Array.isArray(p['allowedValues'])) {
    detail = ` (allowed: ${p['allowedValues'].map((v) => JSON.stringify(v)).join(', ')})`;
  } else if (e.keyword === 'const') {
    detail = ` (allowed: ${JSON.stringify(p['allowedValue'])})`;
  } else if (e.keyword === 'additionalProperties') {
    detail = ` (${JSON.stringify(p['additionalProperty'])})`;
  }
  return `${where} ${e.message ?? e.keyword}${detail}`;
}

export function validateAgainstSpec(name: SpecSchemaName, value: unknown): SpecValidationResult {
  const validate = getValidator(name);
  if (validate(value)) return { valid: true, errors: [] };
  const errors = [...new Set((validate.errors ?? []).map(formatError))];
  return { valid: false, errors: errors.length > 0 ? errors : ['(root) invalid'] };
}

/** JSON of `value` with long strings/arrays shortened, for error messages. */
function trimmedJson(value: unknown, maxChars = 3000): string {
  let text: string;
  try {
    text =
      JSON.stringify(
        value,
        (_key, v: unknown) => {
          if (typeof v === 'string' && v.length > 200) return `${v.slice(0, 200)}…(${v.length} chars)`;
          if (Array.isArray(v) && v.length > 12) return [...v.slice(0, 12), `…(${v.length - 12} more items)`];
          return v;
        },
        2,
      ) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > maxChars ? `${text.slice(0, maxChars)}\n…(truncated, ${text.length} chars)` : text;
}

export function expectValidAgainstSpec(name: SpecSchemaName, value: unknown): void {
  const { valid, errors } = validateAgainstSpec(name, value);
  if (valid) return;
  throw new Error(
    `Value does not match OpenAI spec schema ${name}:\n` +
      errors.map((e) => `  - ${e}`).join('\n') +
      `\nValue:\n${trimmedJson(value)}`,
  );
}
