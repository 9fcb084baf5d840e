import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../logger.ts';
import type { Providers } from '../providers/registry.ts';
import type { ModelInfo, Provider } from '../providers/types.ts';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

const TTL_MS = 10 * 60_000;

/** Routes are virtual models clients may call by name. */
const routeObject = (id: string): ModelObject => ({ id, object: 'model', created: 0, owned_by: 'sluice-route' });

/**
 * GET /v1/models: each provider's configured `models`, else the upstream's own list (cached),
 * exposed as `provider/model`. A provider that cannot be asked is left out, not fatal.
 */
export function createModelCatalog(providers: Providers, logger: Logger, now: () => number = Date.now, routes: readonly string[] = []) {
  const cache = new Map<string, { at: number; models: ModelInfo[] }>();

  async function modelsOf(provider: Provider): Promise<ModelInfo[]> {
    if (provider.config.models) return provider.config.models.map((id) => ({ id, created: 0, ownedBy: provider.name }));
    const hit = cache.get(provider.name);
    if (hit && now() - hit.at < TTL_MS) return hit.models;
    try {
      const models = await provider.listModels(AbortSignal.timeout(10_000));
      cache.set(provider.name, { at: now(), models });
      return models;
    } catch (err) {
      logger.warn('could not list models', { provider: provider.name, err: err instanceof Error ? err.message : String(err) });
      return hit?.models ?? [];
    }
  }

  const toObject = (provider: Provider, m: ModelInfo): ModelObject => ({
    id: `${provider.name}/${m.id}`,
    object: 'model',
    created: m.created,
    owned_by: m.ownedBy,
  });

  return {
    async list(): Promise<{ object: 'list'; data: ModelObject[] }> {
      const lists = await Promise.all([...providers.values()].map(async (p) => (await modelsOf(p)).map((m) => toObject(p, m))));
      return { object: 'list', data: [...routes.map(routeObject), ...lists.flat()] };
    },
    async get(id: string): Promise<ModelObject> {
      if (routes.includes(id)) return routeObject(id);
      const slash = id.indexOf('/');
      const provider = slash > 0 ? providers.get(id.slice(0, slash)) : undefined;
      if (provider) {
        const found = (await modelsOf(provider)).find((m) => m.id === id.slice(slash + 1));
        if (found) return toObject(provider, found);
      }
      throw new GatewayError('model_not_found', `The model '${id.slice(0, 200)}' does not exist`, { param: 'model' });
    },
  };
}

export type ModelCatalog = ReturnType<typeof createModelCatalog>;
