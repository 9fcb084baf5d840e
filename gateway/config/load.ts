import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type SluiceConfig } from './schema.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** `${VAR}` and `${VAR:-default}` in every string of the parsed YAML; `$${` escapes. */
export function interpolateEnv(value: unknown, env: Env, path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (whole, escaped, key: string, fallback?: string) => {
      if (escaped) return whole.slice(1);
      const v = env[key];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${path.join('.') || '(root)'}: environment variable ${key} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...path, k]);
    return out;
  }
  return value;
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length ? issue.path.join('.') : '(root)';
      if (issue.code === 'unrecognized_keys') return `${where}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** References between sections must resolve; a dangling one fails the boot naming its key. */
function checkReferences(config: SluiceConfig): void {
  for (const [name, provider] of Object.entries(config.providers)) {
    if (provider.type === 'openai-compatible' && !provider.base_url) {
      throw new ConfigError(`providers.${name}.base_url: required for type openai-compatible`);
    }
  }
  for (const [alias, target] of Object.entries(config.models)) {
    const provider = target.split('/')[0] ?? '';
    if (!target.includes('/') || !Object.hasOwn(config.providers, provider)) {
      throw new ConfigError(`models.${alias}: "${target}" must be provider/model with a configured provider`);
    }
  }
  const hasProvider = (ref: string) => Object.hasOwn(config.providers, ref.split('/')[0] ?? '');
  for (const [routeName, route] of Object.entries(config.routes)) {
    if (Object.hasOwn(config.providers, routeName)) {
      throw new ConfigError(`routes.${routeName}: a route may not have the name of a provider`);
    }
    route.variants.forEach((v, i) => {
      const targets = typeof v.target === 'string' ? [v.target] : v.target.map((t) => t.target);
      targets.forEach((t, j) => {
        if (!hasProvider(t)) {
          const at = typeof v.target === 'string' ? 'target' : `target.${j}.target`;
          throw new ConfigError(`routes.${routeName}.variants.${i}.${at}: unknown provider "${t.split('/')[0]}"`);
        }
      });
    });
    route.fallbacks.forEach((t, i) => {
      if (!hasProvider(t)) throw new ConfigError(`routes.${routeName}.fallbacks.${i}: unknown provider "${t.split('/')[0]}"`);
    });
    if (route.shadow && !hasProvider(route.shadow.target)) {
      throw new ConfigError(`routes.${routeName}.shadow.target: unknown provider "${route.shadow.target.split('/')[0]}"`);
    }
    if (route.cache?.semantic && !hasProvider(route.cache.semantic.embeddings)) {
      throw new ConfigError(`routes.${routeName}.cache.semantic.embeddings: unknown provider "${route.cache.semantic.embeddings.split('/')[0]}"`);
    }
    if (route.rag && !Object.hasOwn(config.retrievers, route.rag.retriever)) {
      throw new ConfigError(`routes.${routeName}.rag.retriever: unknown retriever "${route.rag.retriever}"`);
    }
  }
  for (const key of Object.keys(config.pricing.overrides)) {
    if (key.includes('/') && !Object.hasOwn(config.providers, key.split('/')[0] ?? '')) {
      throw new ConfigError(`pricing.overrides.${key}: unknown provider "${key.split('/')[0]}"`);
    }
  }
}

export function parseConfig(raw: unknown, env: Env): SluiceConfig {
  const interpolated = interpolateEnv(raw ?? {}, env);
  const result = configSchema.safeParse(interpolated);
  if (!result.success) throw new ConfigError(`invalid config: ${formatIssues(result.error)}`);
  checkReferences(result.data);
  return deepFreeze(result.data);
}

/** With no config file, providers come from the usual env vars. */
export function configFromEnv(env: Env): SluiceConfig {
  const providers: Record<string, unknown> = {};
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL) {
    providers.openai = {
      type: env.OPENAI_BASE_URL ? 'openai-compatible' : 'openai',
      ...(env.OPENAI_API_KEY ? { api_key: env.OPENAI_API_KEY } : {}),
      ...(env.OPENAI_BASE_URL ? { base_url: env.OPENAI_BASE_URL } : {}),
    };
  }
  if (env.ANTHROPIC_API_KEY || env.ANTHROPIC_BASE_URL) {
    providers.anthropic = {
      type: 'anthropic',
      ...(env.ANTHROPIC_API_KEY ? { api_key: env.ANTHROPIC_API_KEY } : {}),
      ...(env.ANTHROPIC_BASE_URL ? { base_url: env.ANTHROPIC_BASE_URL } : {}),
    };
  }
  return parseConfig({ providers }, env);
}

export function loadConfig(env: Env): SluiceConfig {
  const path = env.SLUICE_CONFIG;
  if (!path) return configFromEnv(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`SLUICE_CONFIG: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = parseYamlWithPlaceholders(text);
  } catch (err) {
    throw new ConfigError(`SLUICE_CONFIG: ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(raw, env);
}

const ENV_REF = /\$\$?\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}/g;
const PLACEHOLDER = /__sluice_env_(\d+)__/g;

/**
 * `api_key: ${OPENAI_API_KEY}` inside a flow map (`{ type: openai, api_key: ${…} }`, the form
 * DESIGN §3 shows) is not valid YAML as written: `{` opens a nested map. So each reference is
 * swapped for a plain token before parsing and put back afterwards, for parseConfig to expand.
 */
function parseYamlWithPlaceholders(text: string): unknown {
  const refs: string[] = [];
  const safe = text.replace(ENV_REF, (ref) => `__sluice_env_${refs.push(ref) - 1}__`);
  const restore = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replace(PLACEHOLDER, (_, i: string) => refs[Number(i)] ?? '');
    if (Array.isArray(value)) return value.map(restore);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [restore(k) as string, restore(v)]));
    }
    return value;
  };
  return restore(parseYaml(safe));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
