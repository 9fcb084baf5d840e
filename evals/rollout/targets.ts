import type { RouteConfig } from '../../gateway/config/routes-schema.ts';
import { GatewayError } from '../../gateway/errors/gateway-error.ts';
import type { RouteWeightsStore, Tx, WeightsView } from '../../gateway/routing/weights-store.ts';
import type { PromptStore } from '../../prompts/index.ts';
import type { Arms } from './arms.ts';

/**
 * What a rollout moves: a route's variant weights (gateway/routing/weights-store.ts) or a prompt
 * label's split (prompts/store.ts). Each change joins the rollout's transaction, so the state and
 * the traffic change commit together (and, on PGlite's one connection, never wait on each other).
 */
export interface RolloutTarget {
  kind: 'route' | 'prompt';
  /** Route name, or `name@label`. */
  target: string;
  candidate: string;
  control: string;
  arms: Arms;
  /** The traffic shares (percent) at a candidate share, as the rollout reports them. */
  weightsAt(percent: number): Record<string, number>;
  /** Sends `percent` of the traffic to the candidate. */
  apply(tx: Tx, percent: number, actor: string): Promise<void>;
  promote(tx: Tx, actor: string): Promise<void>;
  /** The candidate gets nothing; the rest is as before the rollout. */
  rollBack(tx: Tx, actor: string): Promise<void>;
  /** Exactly what was there before the rollout (abort). */
  restore(tx: Tx, actor: string): Promise<void>;
  /** Stored with the rollout: what restore and rollBack need. */
  previous: Record<string, unknown>;
}

export interface RouteTargetDeps {
  routes: Readonly<Record<string, RouteConfig>>;
  weights: RouteWeightsStore;
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export function routeControl(route: RouteConfig): string {
  return route.control ?? route.variants[0]!.name;
}

/** Checks a route rollout can start; reads the weights it starts from (and will restore) in `tx`. */
export async function routeTarget(deps: RouteTargetDeps, tx: Tx, name: string, variant: string): Promise<RolloutTarget> {
  const route = deps.routes[name];
  if (!route) throw new GatewayError('not_found', `No route named '${name.slice(0, 200)}'.`, { param: 'name' });
  const names = route.variants.map((v) => v.name);
  if (!names.includes(variant)) {
    throw new GatewayError('invalid_request', `Route '${name}' has no variant '${variant.slice(0, 100)}'; its variants are ${names.map((n) => `'${n}'`).join(', ')}.`, { param: 'variant' });
  }
  const control = routeControl(route);
  if (variant === control) {
    throw new GatewayError('invalid_request', `'${variant}' is the control of route '${name}': roll out another variant (the control is what it is compared with).`, { param: 'variant' });
  }
  const view = await deps.weights.view(name, tx);
  if (!((view.weights[control] ?? 0) > 0)) {
    throw new GatewayError('invalid_request', `The control '${control}' of route '${name}' has weight 0 now: a rollout compares the candidate with the control's traffic, so give it traffic first (PUT /api/routes/${name}/weights).`, { param: 'variant' });
  }
  return fromPrevious(deps, name, variant, control, view);
}

/** A running route rollout, rebuilt from its stored row. */
export function storedRouteTarget(deps: RouteTargetDeps, name: string, variant: string, control: string, previous: Record<string, unknown>): RolloutTarget {
  return fromPrevious(deps, name, variant, control, previous as unknown as WeightsView);
}

function fromPrevious(deps: RouteTargetDeps, name: string, variant: string, control: string, previous: WeightsView): RolloutTarget {
  const others = Object.entries(previous.weights).filter(([n]) => n !== variant);
  const rest = others.reduce((s, [, w]) => s + w, 0);
  if (!(rest > 0)) {
    throw new GatewayError('invalid_request', `Route '${name}' has no traffic outside variant '${variant}' to compare it with.`, { param: 'variant' });
  }
  const weightsAt = (percent: number): Record<string, number> => ({
    ...Object.fromEntries(others.map(([n, w]) => [n, round(((100 - percent) * w) / rest)])),
    [variant]: percent,
  });
  return {
    kind: 'route',
    target: name,
    candidate: variant,
    control,
    arms: { control: { route: name, variant: control }, candidate: { route: name, variant } },
    weightsAt,
    previous: previous as unknown as Record<string, unknown>,
    async apply(tx, percent, actor) {
      await deps.weights.setWeights(name, weightsAt(percent), actor, tx);
    },
    async promote(tx, actor) {
      await deps.weights.setWeights(name, weightsAt(100), actor, tx);
    },
    async rollBack(tx, actor) {
      await deps.weights.setWeights(name, { ...Object.fromEntries(others), [variant]: 0 }, actor, tx);
    },
    async restore(tx, actor) {
      if (previous.source === 'config') await deps.weights.resetWeights(name, actor, tx);
      else await deps.weights.setWeights(name, previous.weights, actor, tx);
    },
  };
}

/** Checks a prompt label rollout can start: the label exists and points at another version. */
export async function promptTarget(prompts: PromptStore, name: string, label: string, version: number): Promise<RolloutTarget> {
  if (label === 'latest') {
    throw new GatewayError('invalid_request', `The label 'latest' is automatic (the highest version) and cannot be rolled out; roll out a label such as 'production'.`, { param: 'label' });
  }
  const heads = await prompts.heads(name);
  const current = heads.labels.get(label);
  if (current === undefined) throw new GatewayError('not_found', `Prompt '${name}' has no label '${label}'.`, { param: 'label' });
  if (heads.latest === null || version > heads.latest) throw new GatewayError('not_found', `Prompt '${name}' has no version ${version}.`, { param: 'version' });
  if (version === current) throw new GatewayError('invalid_request', `Label '${label}' already points at version ${version}.`, { param: 'version' });
  return storedPromptTarget(prompts, `${name}@${label}`, version, current);
}

export function storedPromptTarget(prompts: PromptStore, target: string, version: number, control: number): RolloutTarget {
  const [name, label] = target.split('@') as [string, string];
  return {
    kind: 'prompt',
    target,
    candidate: String(version),
    control: String(control),
    arms: { control: { prompt: `${name}@${control}` }, candidate: { prompt: `${name}@${version}` } },
    weightsAt: (percent) => ({ [String(control)]: round(100 - percent), [String(version)]: percent }),
    previous: { label, version: control },
    apply: (tx, percent, actor) => prompts.setLabelSplit(name, label, version, percent, actor, tx).then(() => undefined),
    async promote(tx, actor) {
      await prompts.clearLabelSplit(name, label, actor, tx);
      await prompts.moveLabel(name, label, version, actor, tx);
    },
    rollBack: (tx, actor) => prompts.clearLabelSplit(name, label, actor, tx).then(() => undefined),
    restore: (tx, actor) => prompts.clearLabelSplit(name, label, actor, tx).then(() => undefined),
  };
}
