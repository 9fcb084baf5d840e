import type { SluiceConfig } from '../config/schema.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Providers } from '../providers/registry.ts';
import type { Provider } from '../providers/types.ts';
import { createStringMemo, stringBytes } from '../cache/string-memo.ts';

export interface Target {
  provider: Provider;
  /** The model id the upstream knows. */
  model: string;
}

/** Default bound of the resolution memo: ~4,000 names of 40 characters. */
export const MODEL_MEMO_BYTES = 1024 * 1024;

export interface ModelResolver {
  (model: string): Target;
  /** Bytes the memo holds now (at most its maxBytes). */
  readonly memoBytes: number;
}

/** Bare model names an unchanged SDK sends, recognised by family when the config maps nothing. */
const FAMILY_HINTS: ReadonlyArray<[RegExp, 'openai' | 'anthropic']> = [
  [/^(gpt-|o\d|chatgpt-|text-embedding-|davinci|babbage|omni-)/, 'openai'],
  [/^claude-/, 'anthropic'],
];

/**
 * Resolves a request's `model` to a provider and upstream model id, in this order:
 * `provider/model`; a configured alias (`models:`); a provider that lists the model; the
 * only provider of the model's family (gpt-… → openai, claude-… → anthropic); the only
 * provider there is. Memoised, and since names come from clients the memo is bounded by bytes
 * (string-memo.ts): the names a deployment really serves stay, a flood of made-up ones cycles.
 */
export function createModelResolver(config: SluiceConfig, providers: Providers, memoBytes = MODEL_MEMO_BYTES): ModelResolver {
  // An entry holds the key and a Target (shared provider; its model counted as if a copy).
  const memo = createStringMemo<Target>({ maxBytes: memoBytes, valueBytes: (t) => 48 + stringBytes(t.model) });

  function resolveUncached(model: string): Target | undefined {
    const slash = model.indexOf('/');
    if (slash > 0) {
      const provider = providers.get(model.slice(0, slash));
      if (provider) {
        const upstreamModel = model.slice(slash + 1);
        if (!upstreamModel) return undefined;
        const listed = provider.config.models;
        if (listed && !listed.includes(upstreamModel)) return undefined;
        return { provider, model: upstreamModel };
      }
    }
    // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
    const alias = Object.hasOwn(config.models, model) ? config.models[model] : undefined;
    if (alias) return resolveUncached(alias);
    const all = [...providers.values()];
    const listing = all.filter((p) => p.config.models?.includes(model));
    if (listing.length > 0) return { provider: listing[0]!, model };
    const family = FAMILY_HINTS.find(([re]) => re.test(model))?.[1];
    if (family) {
      const unlisted = all.filter((p) => !p.config.models);
      // A gpt-… name goes to the real OpenAI before any OpenAI-compatible server (Ollama, vLLM…).
      const official = unlisted.filter((p) => p.type === family);
      const ofFamily = official.length > 0 || family === 'anthropic' ? official : unlisted.filter((p) => p.type === 'openai-compatible');
      if (ofFamily.length === 1) return { provider: ofFamily[0]!, model };
    }
    const open = all.filter((p) => !p.config.models);
    if (open.length === 1 && all.length === 1) return { provider: open[0]!, model };
    return undefined;
  }

  const resolve = (model: string): Target => {
    const hit = memo.get(model);
    if (hit) return hit;
    const target = resolveUncached(model);
    if (!target) {
      throw new GatewayError('model_not_found', `The model \`${model.slice(0, 200)}\` does not exist or is not served by this gateway`, {
        param: 'model',
      });
    }
    memo.set(model, target);
    return target;
  };
  return Object.defineProperty(resolve, 'memoBytes', { get: () => memo.calculatedSize }) as ModelResolver;
}
