import type { SluiceConfig } from '../config/schema.ts';

/** The label value of anything config does not name: label sets stay bounded (DESIGN §4.5). */
export const OTHER = 'other';

/**
 * Label values the config names, built once at start: a client picks the model it sends, so a
 * model becomes a label value only when config names it (a provider's `models:` list, a
 * `models:` alias target, or a route's targets, fallbacks, shadow and semantic-cache
 * embeddings); any other model is `other`. Providers and routes are config keys.
 */
export class LabelValues {
  readonly #models: ReadonlySet<string>;
  readonly #providers: ReadonlySet<string>;
  readonly #routes: ReadonlySet<string>;
  readonly #variants: ReadonlySet<string>;

  constructor(config: SluiceConfig, providerNames: Iterable<string> = []) {
    const models = new Set<string>();
    const addTarget = (ref: string) => {
      // `provider/model`, and the model id may itself hold slashes (openrouter/meta-llama/…).
      const slash = ref.indexOf('/');
      if (slash > 0) models.add(ref.slice(slash + 1));
    };
    for (const provider of Object.values(config.providers)) for (const m of provider.models ?? []) models.add(m);
    for (const target of Object.values(config.models)) addTarget(target);
    const variants = new Set<string>();
    for (const route of Object.values(config.routes)) {
      for (const v of route.variants) {
        variants.add(v.name);
        if (typeof v.target === 'string') addTarget(v.target);
        else for (const t of v.target) addTarget(t.target);
      }
      route.fallbacks.forEach(addTarget);
      if (route.shadow) addTarget(route.shadow.target);
      if (route.cache?.semantic) addTarget(route.cache.semantic.embeddings);
    }
    this.#models = models;
    this.#providers = new Set([...Object.keys(config.providers), ...providerNames]);
    this.#routes = new Set(Object.keys(config.routes));
    this.#variants = variants;
  }

  /** A call without a model (refused before resolution) has the empty value, as Prometheus reads "absent". */
  model(value: string | null): string {
    return pick(this.#models, value);
  }

  provider(value: string | null): string {
    return pick(this.#providers, value);
  }

  route(value: string | null): string {
    return pick(this.#routes, value);
  }

  variant(value: string | null): string {
    return pick(this.#variants, value);
  }
}

function pick(known: ReadonlySet<string>, value: string | null): string {
  if (value === null) return '';
  return known.has(value) ? value : OTHER;
}
