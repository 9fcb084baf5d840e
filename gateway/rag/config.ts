import { z } from 'zod';
import { ConfigError } from '../config/load.ts';
import type { RouteRagConfig } from '../config/routes-schema.ts';

/**
 * The `retrievers:` section (DESIGN §3), owned here because the retriever types are. The
 * top-level config schema keeps it as `record(name, record(string, unknown))`; the composition
 * root calls `parseRetrievers` (or `parseRagConfig`) at boot so a bad entry fails the start with
 * its key path, before any traffic.
 */
const collection = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 100 characters)');
const targetRef = z.string().regex(/^[^/\s]+\/\S+$/, 'must be provider/model');
/** A Postgres text-search configuration name (`english`, `simple`, `french`…); checked against the database at start. */
const language = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a text search configuration name such as english or simple');
const onError = z.enum(['fail-open', 'fail-closed']);

/**
 * Shared by every type: a time budget for one search and what a failure (error or timeout)
 * means for the call. fail-open: the call goes on without context; fail-closed: the call fails
 * with a 502 naming the retriever. Fail-closed is the default so that a route configured for
 * grounding never silently answers ungrounded.
 */
const policy = {
  timeout_ms: z.number().int().positive().max(120_000).default(2_000),
  on_error: onError.default('fail-closed'),
};

/** The JS fallback (no pgvector extension) scans at most this many vectors per search. */
const maxScan = z.number().int().positive().max(1_000_000).default(20_000);
const dimensions = z.number().int().positive().max(16_000);

const ftsSchema = z.strictObject({
  type: z.literal('postgres-fts'),
  collection,
  language: language.default('english'),
  ...policy,
});

const pgvectorSchema = z.strictObject({
  type: z.literal('pgvector'),
  collection,
  embeddings: targetRef,
  dimensions: dimensions.optional(),
  max_scan: maxScan,
  ...policy,
});

const hybridSchema = z.strictObject({
  type: z.literal('hybrid'),
  collection,
  embeddings: targetRef,
  dimensions: dimensions.optional(),
  language: language.default('english'),
  /** Reciprocal rank fusion constant: score = Σ 1 / (k + rank). */
  k: z.number().int().positive().max(10_000).default(60),
  max_scan: maxScan,
  ...policy,
});

const httpSchema = z.strictObject({
  type: z.literal('http'),
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL'),
  headers: z.record(z.string(), z.string()).optional(),
  timeout_ms: z.number().int().positive().max(120_000).default(1_500),
  on_error: onError.default('fail-closed'),
  /** Largest response body accepted. */
  max_response_bytes: z
    .number()
    .int()
    .positive()
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024),
});

export const retrieverConfigSchema = z.discriminatedUnion('type', [ftsSchema, pgvectorSchema, hybridSchema, httpSchema]);

export type RetrieverConfig = z.output<typeof retrieverConfigSchema>;
export type RetrieverType = RetrieverConfig['type'];
export type RetrieverConfigOf<T extends RetrieverType> = Extract<RetrieverConfig, { type: T }>;
export type RetrieverConfigs = Readonly<Record<string, RetrieverConfig>>;

/** How a collection's rows are indexed: one text-search language and at most one embeddings model. */
export interface CollectionSettings {
  language: string;
  embeddings: { target: string; dimensions: number | undefined } | null;
}

function formatIssue(prefix: string, issue: z.core.$ZodIssue): string {
  const where = [prefix, ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') return `${where}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_union' && issue.path.length === 0) {
    return `${where}.type: must be one of postgres-fts, pgvector, hybrid, http`;
  }
  return `${where}: ${issue.message}`;
}

/** Parses `config.retrievers`; the first problem (and the rest, `;`-joined) names its key path. */
export function parseRetrievers(raw: Readonly<Record<string, Readonly<Record<string, unknown>>>>): RetrieverConfigs {
  const out: Record<string, RetrieverConfig> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(raw)) {
    const result = retrieverConfigSchema.safeParse(value);
    if (result.success) out[name] = result.data;
    else problems.push(...result.error.issues.map((issue) => formatIssue(`retrievers.${name}`, issue)));
  }
  if (problems.length > 0) throw new ConfigError(`invalid config: ${problems.join('; ')}`);
  collectionSettings(out);
  return Object.freeze(out);
}

/**
 * One language and one embeddings model per collection: the stored tsvector and embedding
 * columns can hold only one of each, so retrievers that disagree fail the boot.
 */
export function collectionSettings(retrievers: RetrieverConfigs): Map<string, CollectionSettings> {
  const settings = new Map<string, CollectionSettings>();
  const owner = new Map<string, { language?: string; embeddings?: string }>();
  for (const [name, r] of Object.entries(retrievers)) {
    if (r.type === 'http') continue;
    const current = settings.get(r.collection) ?? { language: 'english', embeddings: null };
    const who = owner.get(r.collection) ?? {};
    if (r.type !== 'pgvector') {
      if (who.language !== undefined && current.language !== r.language) {
        throw new ConfigError(
          `retrievers.${name}.language: collection "${r.collection}" is indexed as "${current.language}" by retriever "${who.language}"`,
        );
      }
      current.language = r.language;
      who.language = name;
    }
    if (r.type !== 'postgres-fts') {
      const mine = { target: r.embeddings, dimensions: r.dimensions };
      const theirs = current.embeddings;
      if (theirs && (theirs.target !== mine.target || theirs.dimensions !== mine.dimensions)) {
        throw new ConfigError(
          `retrievers.${name}.embeddings: collection "${r.collection}" is embedded with ${embeddingModelKey(theirs)} by retriever "${who.embeddings}"`,
        );
      }
      current.embeddings = mine;
      who.embeddings = name;
    }
    settings.set(r.collection, current);
    owner.set(r.collection, who);
  }
  return settings;
}

/** What `documents.embedding_model` holds: the target, and the dimensions when configured. */
export function embeddingModelKey(e: { target: string; dimensions: number | undefined }): string {
  return e.dimensions === undefined ? e.target : `${e.target}:${e.dimensions}`;
}

/** A route's `rag:` block, resolved against the retrievers and the hook registry. */
export interface RagRouteConfig extends RouteRagConfig {
  route: string;
}

/**
 * Checks every route's `rag:` block: hook names must be registered for their phase. (The
 * retriever reference itself is already checked by config/load.ts.)
 */
export function checkRagRoutes(
  routes: Readonly<Record<string, { rag?: RouteRagConfig | undefined }>>,
  retrievers: RetrieverConfigs,
  hookPhase: (name: string) => 'before' | 'after' | undefined,
): RagRouteConfig[] {
  const out: RagRouteConfig[] = [];
  for (const [route, r] of Object.entries(routes)) {
    if (!r.rag) continue;
    if (!Object.hasOwn(retrievers, r.rag.retriever)) {
      throw new ConfigError(`routes.${route}.rag.retriever: unknown retriever "${r.rag.retriever}"`);
    }
    for (const phase of ['before', 'after'] as const) {
      r.rag[phase].forEach((hook, i) => {
        const actual = hookPhase(hook);
        if (actual === undefined) throw new ConfigError(`routes.${route}.rag.${phase}.${i}: unknown hook "${hook}"`);
        if (actual !== phase) throw new ConfigError(`routes.${route}.rag.${phase}.${i}: hook "${hook}" runs ${actual} the model call, not ${phase}`);
      });
    }
    out.push({ ...r.rag, route });
  }
  return out;
}
