import { z } from 'zod';
import { HEAP_MODES } from '../heap-mode.ts';
import { LOG_LEVELS } from '../logger.ts';
import { ConfigError } from './load.ts';

/** The process environment as it comes: every variable, as text. */
export type RawEnv = Readonly<Record<string, string | undefined>>;

/** `VAR=` in a shell or a compose file means "not set", as the `||` defaults before this did. */
const unset = (value: unknown) => (value === '' ? undefined : value);
const optionalText = z.preprocess(unset, z.string().optional());
const textOr = (fallback: string) => z.preprocess(unset, z.string().default(fallback));

/** Values of URL variables are never echoed: a database URL carries its password. */
const urlWith = (pattern: RegExp, wanted: string) => z.preprocess(unset, z.string().regex(pattern, { error: `must be ${wanted}` }).optional());

/** A 1/0 (or true/false) switch with its default. */
const flag = (fallback: '0' | '1') =>
  z.preprocess(unset, z.enum(['0', '1', 'true', 'false'], { error: 'must be 1 or 0' }).default(fallback)).transform((v) => v === '1' || v === 'true');
const port = z.preprocess(
  unset,
  z
    .string()
    .regex(/^\d{1,5}$/, { error: (issue) => `${JSON.stringify(String(issue.input).slice(0, 40))} is not a port: give an integer from 0 to 65535` })
    .transform(Number)
    .refine((n) => n <= 65_535, { error: (issue) => `${String(issue.input)} is not a port: give an integer from 0 to 65535` })
    .default(8400),
);

/**
 * Every variable the server and the CLI read (README, Configuration). Provider credentials
 * (OPENAI_API_KEY, ANTHROPIC_BASE_URL…) and `${VAR}` references in sluice.config.yaml are
 * not listed: config/load.ts reads them from `vars` as the config asks for them, and checks
 * them as config, naming the config key.
 */
const envSchema = z.object({
  PORT: port,
  HOST: textOr('127.0.0.1'),
  /** Postgres server; unset = embedded PGlite under SLUICE_DATA_DIR. */
  DATABASE_URL: urlWith(/^postgres(ql)?:\/\//, 'a postgres:// (or postgresql://) URL'),
  /** PGlite data (`pgdata/`), the call-log spool and the owner file. */
  SLUICE_DATA_DIR: textOr('./.sluice'),
  SLUICE_CONFIG: optionalText,
  SLUICE_ADMIN_KEY: optionalText,
  /** The shared cache tier in Redis (else Postgres). ioredis also takes a socket path. */
  REDIS_URL: urlWith(/^(rediss?:\/\/|\/)/, 'a redis:// or rediss:// URL (or a socket path)'),
  /** The key `sluice eval run --gateway URL` sends when --key is not given. */
  SLUICE_API_KEY: optionalText,
  /** The schedules file `sluice worker` reads when --schedules is not given. */
  SLUICE_EVAL_SCHEDULES: optionalText,
  /** Names the author of `sluice prompts push` (`cli:$USER`). */
  USER: optionalText,
  /** DESIGN §4.5: how much the JSON logger writes. */
  LOG_LEVEL: z.preprocess(unset, z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info')),
  /** `1`: GET /metrics answers without a key (a scraper on a private network); else it needs an admin key. */
  SLUICE_METRICS_PUBLIC: flag('0'),
  /** `0`: no Prometheus metrics at all (nothing observed per call, no /metrics route). */
  SLUICE_METRICS: flag('1'),
  /** How far the server lets V8's heap grow between full collections (gateway/heap-mode.ts). */
  SLUICE_HEAP: z.preprocess(unset, z.enum(HEAP_MODES, { error: `must be one of ${HEAP_MODES.join(', ')}` }).default('bounded')),
});

/** The environment, parsed once at an entry point; `vars` is the raw environment it came from. */
export type SluiceEnv = Readonly<z.output<typeof envSchema> & { vars: RawEnv }>;

/**
 * Parses and checks the environment. A bad value is a ConfigError naming the variable, so the
 * server exits 78 (EX_CONFIG) and the CLI 2, as for a bad config file.
 */
export function parseEnv(vars: RawEnv): SluiceEnv {
  const result = envSchema.safeParse(vars);
  if (!result.success) {
    throw new ConfigError(`invalid environment: ${result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  return Object.freeze({ ...result.data, vars });
}
