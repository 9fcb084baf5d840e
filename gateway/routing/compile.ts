import { ConfigError } from '../config/load.ts';
import type { RouteConfig } from '../config/routes-schema.ts';
import type { SluiceConfig } from '../config/schema.ts';
import type { BreakerPolicy } from './breaker.ts';
import type { Target } from './resolve-model.ts';
import { computeAllocation, type Allocation } from './weights.ts';

/** A resolved target with its `provider/model` key (breakers, in-flight counters, logs). */
export interface RoutedTarget extends Target {
  readonly key: string;
}

export interface CompiledVariant {
  readonly name: string;
  readonly balance: 'weighted' | 'least_in_flight';
  readonly targets: readonly RoutedTarget[];
  /** Balancing weight of each target (same order). */
  readonly weights: readonly number[];
  readonly totalWeight: number;
  readonly prompt: string | null;
  readonly params: Readonly<Record<string, unknown>>;
}

/** A route's config, resolved once at construction so route() does no parsing or look-ups. */
export interface CompiledRoute {
  readonly name: string;
  readonly stickyBy: RouteConfig['sticky_by'];
  /** The control variant for stats: `control:` or the first variant. */
  readonly control: string;
  readonly variants: readonly CompiledVariant[];
  readonly names: readonly string[];
  readonly configWeights: readonly number[];
  readonly fallbacks: readonly RoutedTarget[];
  readonly shadow: { readonly target: RoutedTarget; readonly prompt: string | null; readonly sample: number } | null;
  /** The route's `circuit_breaker:`; null = the defaults. */
  readonly breaker: BreakerPolicy | null;
  /** The config weights' allocation (used until a weights store says otherwise). */
  readonly allocation: Allocation;
}

export function compileRoutes(config: SluiceConfig, resolve: (model: string) => Target): Map<string, CompiledRoute> {
  const out = new Map<string, CompiledRoute>();
  const memo = new Map<string, RoutedTarget>();
  const target = (ref: string, path: string): RoutedTarget => {
    let t = memo.get(ref);
    if (!t) {
      let resolved: Target;
      try {
        resolved = resolve(ref);
      } catch (err) {
        // e.g. a provider whose `models:` list does not include the model.
        throw new ConfigError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
      t = Object.freeze({ provider: resolved.provider, model: resolved.model, key: `${resolved.provider.name}/${resolved.model}` });
      memo.set(ref, t);
    }
    return t;
  };
  for (const [name, r] of Object.entries(config.routes)) {
    const variants = r.variants.map((v, i): CompiledVariant => {
      const single = typeof v.target === 'string';
      const list = typeof v.target === 'string' ? [{ target: v.target, weight: 1 }] : v.target;
      const at = (j: number) => `routes.${name}.variants.${i}.target${single ? '' : `.${j}.target`}`;
      const weights = list.map((t) => t.weight);
      return Object.freeze({
        name: v.name,
        balance: v.balance,
        targets: Object.freeze(list.map((t, j) => target(t.target, at(j)))),
        weights: Object.freeze(weights),
        totalWeight: weights.reduce((a, b) => a + b, 0),
        prompt: v.prompt ?? null,
        params: Object.freeze({ ...v.params }),
      });
    });
    const names = r.variants.map((v) => v.name);
    const configWeights = r.variants.map((v) => v.weight);
    out.set(
      name,
      Object.freeze({
        name,
        stickyBy: r.sticky_by,
        control: r.control ?? names[0]!,
        variants: Object.freeze(variants),
        names: Object.freeze(names),
        configWeights: Object.freeze(configWeights),
        fallbacks: Object.freeze(r.fallbacks.map((t, j) => target(t, `routes.${name}.fallbacks.${j}`))),
        shadow: r.shadow ? Object.freeze({ target: target(r.shadow.target, `routes.${name}.shadow.target`), prompt: r.shadow.prompt ?? null, sample: r.shadow.sample }) : null,
        breaker: r.circuit_breaker ? { failures: r.circuit_breaker.failures, cooldownMs: r.circuit_breaker.cooldown_ms } : null,
        allocation: computeAllocation({ names, configWeights }),
      }),
    );
  }
  return out;
}
