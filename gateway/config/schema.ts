import { z } from 'zod';
import { monitoringSchema, monitorSchema, notificationSchema } from './monitors-schema.ts';
import { cacheDefaultsSchema, routeSchema } from './routes-schema.ts';

/**
 * The shape of sluice.config.yaml (DESIGN §3). Every object is strict so an unknown key
 * fails the boot with its path instead of being silently ignored.
 */
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must match [A-Za-z0-9][A-Za-z0-9._-]*');

const timeouts = z
  .object({
    connect_ms: z.number().int().positive().default(5_000),
    first_byte_ms: z.number().int().positive().default(60_000),
    total_ms: z.number().int().positive().default(600_000),
  })
  .strict();

const retry = z
  .object({
    max_attempts: z.number().int().min(1).max(10).default(3),
    base_delay_ms: z.number().int().min(0).default(200),
    max_delay_ms: z.number().int().min(0).default(5_000),
  })
  .strict();

export const providerSchema = z
  .object({
    type: z.enum(['openai', 'openai-compatible', 'anthropic']),
    api_key: z.string().optional(),
    base_url: z.string().url().optional(),
    models: z.array(z.string().min(1)).optional(),
    /** Extra headers sent upstream (e.g. OpenAI-Organization). */
    headers: z.record(z.string(), z.string()).optional(),
    timeouts: timeouts.optional(),
    retry: retry.optional(),
    /** Anthropic requires max_tokens; used when the request gives none. */
    default_max_tokens: z.number().int().positive().optional(),
    /**
     * Anthropic only: send `json_schema` response formats as structured outputs
     * (`output_config.format`) instead of a forced tool. Only some models support it, and it
     * accepts a subset of JSON Schema, so it is opt-in per provider.
     */
    structured_outputs: z.boolean().optional(),
    connections: z.number().int().positive().max(1024).optional(),
  })
  .strict();

const priceOverride = z
  .object({
    input: z.number().nonnegative(),
    output: z.number().nonnegative().optional(),
    cached_input: z.number().nonnegative().optional(),
    cache_write: z.number().nonnegative().optional(),
    reasoning: z.number().nonnegative().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    providers: z.record(name, providerSchema).default({}),
    /** Bare model names mapped to `provider/model`. */
    models: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** Virtual model names with variants, shadow traffic and fallbacks. */
    routes: z.record(name, routeSchema).default({}),
    /** Watched continuously; a breach opens an incident and notifies (DESIGN §4.6). */
    monitors: z.record(name, monitorSchema).default({}),
    notifications: z.record(name, notificationSchema).default({}),
    monitoring: monitoringSchema.prefault({}),
    /** Budgets and rate limits of keys and teams (DESIGN §4.4). */
    governance: z
      .object({
        /**
         * While the shared store (Redis, else Postgres) cannot be reached: `open` lets calls
         * through, counted in /healthz and logged (at most every 10 s); `closed` refuses them (503).
         */
        on_store_error: z.enum(['open', 'closed']).default('open'),
        /** Output tokens a budget reserves for a request that sets no max_tokens. */
        default_max_tokens: z.number().int().positive().max(10_000_000).default(4096),
        /**
         * An instance takes a slice of a key's large limits at once and serves calls from it
         * (governance/leases.ts): no store trip per call, never past a limit.
         */
        leases: z
          .object({
            enabled: z.boolean().default(true),
            /** How long a lease serves calls before its unused part goes back. */
            ttl_ms: z.number().int().min(10).max(60_000).default(1_000),
            /** The largest share of any limit or budget one lease holds; keys whose limits cannot spare two calls at this share go call by call. */
            share: z.number().positive().max(0.5).default(0.01),
            max_requests: z.number().int().min(2).max(100_000).default(1_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Validated by the RAG module that owns the retriever types. */
    retrievers: z.record(name, z.record(z.string(), z.unknown())).default({}),
    cache: cacheDefaultsSchema.prefault({}),
    pricing: z
      .object({ overrides: z.record(z.string(), priceOverride).default({}) })
      .strict()
      .prefault({}),
    server: z
      .object({
        body_limit_bytes: z.number().int().positive().default(10 * 1024 * 1024),
        /**
         * Most choices (`n`) one chat request may ask for; above it is a 400. Providers without a
         * native `n` (Anthropic) make one upstream call per choice, so this bounds the fan-out.
         */
        max_n: z.number().int().min(1).max(128).default(16),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        enabled: z.boolean().default(true),
        payloads: z.boolean().default(true),
        payload_max_bytes: z.number().int().positive().default(256 * 1024),
        redact_fields: z.array(z.string()).default([]),
        redact_patterns: z.array(z.string()).default([]),
        queue_max: z.number().int().positive().default(50_000),
        /** Estimated bytes of call records held in memory before new ones spill to the spool. */
        queue_max_bytes: z.number().int().positive().default(64 * 1024 * 1024),
        batch_size: z.number().int().positive().default(500),
        flush_ms: z.number().int().positive().default(200),
        retention_days: z.number().int().positive().optional(),
        /**
         * The write-ahead log of answered calls (issue 21): a record is in a local file before
         * its answer's last byte goes out, so a killed process loses none. It survives the
         * process, not the machine: `fsync_ms` also syncs it to disk at most that often.
         */
        wal: z
          .object({ enabled: z.boolean().default(true), fsync_ms: z.number().int().positive().optional(), mmap: z.boolean().default(true) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type RawConfig = z.input<typeof configSchema>;
export type SluiceConfig = z.output<typeof configSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type ProviderType = ProviderConfig['type'];
