import type { SluiceConfig } from '../config/schema.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Providers } from '../providers/registry.ts';
import { assignmentValue, pickVariant } from './assign.ts';
import { CircuitBreakers, DEFAULT_BREAKER, type BreakerChange, type BreakerSnapshot } from './breaker.ts';
import { compileRoutes, type CompiledRoute, type CompiledVariant, type RoutedTarget } from './compile.ts';
import { createModelResolver, type Target } from './resolve-model.ts';
import type { Allocation, WeightsSource } from './weights.ts';

export interface RouteInput {
  /** Header `x-sluice-subject`. */
  subject?: string | undefined;
  /** The body's `user`; a subject only when the route is `sticky_by: user`. */
  user?: string | undefined;
  /** [0,1) draws for non-sticky assignment, target balancing and shadow sampling. */
  random: () => number;
}

export interface ShadowDecision {
  target: RoutedTarget;
  /** `name@label|name@n` to apply instead of the primary's prompt, or null. */
  prompt: string | null;
}

export interface RouteDecision {
  route: string;
  variant: string;
  /** The subject's draw in [0,1) (logged as `calls.assignment`). */
  assignment: number;
  /** False when the draw was random (no subject), so the next call may land elsewhere. */
  sticky: boolean;
  /** Try in order: the chosen target, the variant's other targets, then the route's fallbacks. */
  targets: RoutedTarget[];
  /**
   * The variant's pick for this call, even when its breaker is open and `targets` skips it: any
   * other target that serves the call is a fallback (`calls.fallback_used`).
   */
  chosen: RoutedTarget;
  /** The variant's prompt reference (`name@label|name@n`), or null. */
  prompt: string | null;
  /** Request defaults; the request's own fields win. */
  params: Readonly<Record<string, unknown>>;
  /** Set when this call was sampled for shadow traffic. */
  shadow: ShadowDecision | null;
}

export interface RouterOptions {
  config: SluiceConfig;
  providers: Providers;
  /** Runtime weights (canary); without it, or for a route it does not know, the config weights. */
  weights?: WeightsSource | undefined;
  /** Milliseconds for breaker cool-downs (monotonic is fine). */
  now?: () => number;
  /** Hears each breaker transition (the server logs them). */
  onBreakerChange?: ((change: BreakerChange) => void) | undefined;
}

export const targetKey = (t: Target): string => (t as Partial<RoutedTarget>).key ?? `${t.provider.name}/${t.model}`;

/**
 * Decides, per call and without I/O, which variant and targets serve a route: a sticky hash of
 * the subject picks the variant (assign.ts, layout.ts), the variant's balance picks among its
 * targets, breakers drop targets that keep failing, and a draw samples shadow traffic.
 */
export class Router {
  readonly #routes: ReadonlyMap<string, CompiledRoute>;
  readonly #weights: WeightsSource | undefined;
  readonly #breakers: CircuitBreakers;
  readonly #inFlight = new Map<string, number>();

  constructor(opts: RouterOptions) {
    this.#routes = compileRoutes(opts.config, createModelResolver(opts.config, opts.providers));
    this.#weights = opts.weights;
    this.#breakers = new CircuitBreakers(opts.now ?? (() => performance.now()), opts.onBreakerChange);
    for (const r of this.#routes.values()) {
      const policy = r.breaker ?? DEFAULT_BREAKER;
      for (const v of r.variants) for (const t of v.targets) this.#breakers.register(t.key, policy);
      for (const t of r.fallbacks) this.#breakers.register(t.key, policy);
      if (r.shadow) this.#breakers.register(r.shadow.target.key, policy);
    }
  }

  isRoute(model: string): boolean {
    return this.#routes.has(model);
  }

  routeNames(): string[] {
    return [...this.#routes.keys()];
  }

  /** The compiled config of a route (for the admin API), or undefined. */
  get(name: string): CompiledRoute | undefined {
    return this.#routes.get(name);
  }

  /** Weights and layout in force for a route right now. */
  allocation(name: string): Allocation | undefined {
    const r = this.#routes.get(name);
    return r && (this.#weights?.allocation(name) ?? r.allocation);
  }

  route(name: string, input: RouteInput): RouteDecision {
    const r = this.#routes.get(name);
    if (!r) throw new GatewayError('model_not_found', `No route named \`${name.slice(0, 200)}\``, { param: 'model' });
    const subject = subjectFor(r, input);
    const assignment = subject === undefined ? input.random() : assignmentValue(name, subject);
    const alloc = this.#weights?.allocation(name) ?? r.allocation;
    const variant = r.variants[pickVariant(alloc.layout, assignment)]!;
    let shadow: ShadowDecision | null = null;
    if (r.shadow && r.shadow.sample > 0 && input.random() < r.shadow.sample && this.#breakers.allow(r.shadow.target.key)) {
      shadow = { target: r.shadow.target, prompt: r.shadow.prompt };
    }
    const chosen = this.#pick(variant, input.random);
    return {
      route: name,
      variant: variant.name,
      assignment,
      sticky: subject !== undefined,
      targets: this.#targets(r, variant, chosen),
      chosen,
      prompt: variant.prompt,
      params: variant.params,
      shadow,
    };
  }

  /** Call before sending to a target; pair with end() (least-in-flight balancing). */
  begin(target: Target): void {
    const key = targetKey(target);
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
  }

  end(target: Target): void {
    const key = targetKey(target);
    const n = (this.#inFlight.get(key) ?? 0) - 1;
    if (n > 0) this.#inFlight.set(key, n);
    else this.#inFlight.delete(key);
  }

  inFlight(target: Target): number {
    return this.#inFlight.get(targetKey(target)) ?? 0;
  }

  /** The outcome of one target's try (after its retries): feeds its circuit breaker. */
  recordOutcome(target: Target, ok: boolean): void {
    this.#breakers.record(targetKey(target), ok);
  }

  breakers(): BreakerSnapshot[] {
    return this.#breakers.snapshot();
  }

  #targets(r: CompiledRoute, v: CompiledVariant, primary: RoutedTarget): RoutedTarget[] {
    const out: RoutedTarget[] = [];
    const add = (t: RoutedTarget) => {
      for (const o of out) if (o.key === t.key) return;
      if (this.#breakers.allow(t.key)) out.push(t);
    };
    add(primary);
    for (const t of v.targets) add(t);
    for (const t of r.fallbacks) add(t);
    // Everything is open: trying the primary beats failing without a try.
    if (out.length === 0) out.push(primary);
    return out;
  }

  /** The variant's target for this call: by weight or least in flight, among those not open. */
  #pick(v: CompiledVariant, random: () => number): RoutedTarget {
    const ts = v.targets;
    if (ts.length === 1) return ts[0]!;
    if (v.balance === 'least_in_flight') {
      // Ties (an idle pool) start from a random target so they spread.
      const start = Math.min(ts.length - 1, Math.floor(random() * ts.length));
      let best: RoutedTarget | undefined;
      let bestLoad = Infinity;
      for (let k = 0; k < ts.length; k++) {
        const i = (start + k) % ts.length;
        const t = ts[i]!;
        const load = this.#inFlight.get(t.key) ?? 0;
        if (load < bestLoad && v.weights[i]! > 0 && this.#breakers.state(t.key) !== 'open') {
          best = t;
          bestLoad = load;
        }
      }
      return best ?? ts[0]!;
    }
    let total = 0;
    for (let i = 0; i < ts.length; i++) if (this.#breakers.state(ts[i]!.key) !== 'open') total += v.weights[i]!;
    const skipOpen = total > 0;
    if (!skipOpen) total = v.totalWeight;
    let x = random() * total;
    let last = ts[0]!;
    for (let i = 0; i < ts.length; i++) {
      if (v.weights[i]! <= 0 || (skipOpen && this.#breakers.state(ts[i]!.key) === 'open')) continue;
      last = ts[i]!;
      x -= v.weights[i]!;
      if (x < 0) return last;
    }
    return last; // rounding at the top end
  }
}

function subjectFor(r: CompiledRoute, input: RouteInput): string | undefined {
  switch (r.stickyBy) {
    case 'user':
      return input.subject || input.user || undefined;
    case 'subject':
      return input.subject || undefined;
    case 'none':
      return undefined;
  }
}
