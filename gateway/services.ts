import { PromptResolver, PromptStore } from '../prompts/index.ts';
import { KeyStore } from './auth/key-store.ts';
import type { SluiceConfig } from './config/schema.ts';
import { createPricer, type PriceOverride, type Pricer } from './cost/pricing.ts';
import type { Database } from './db/client.ts';
import type { Logger } from './logger.ts';
import { closeProviders, createProviders, type Providers } from './providers/registry.ts';

/** The long-lived stores and clients the app is built from, started and stopped together. */
export interface Services {
  keys: KeyStore;
  prompts: { store: PromptStore; resolver: PromptResolver };
  providers: Providers;
  pricer: Pricer;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  adminKey?: string | undefined;
  /** Replaces the providers built from config (tests). */
  providers?: Providers | undefined;
  logger: Logger;
}

function pricingOverrides(config: SluiceConfig): Record<string, PriceOverride> {
  const out: Record<string, PriceOverride> = {};
  for (const [model, p] of Object.entries(config.pricing.overrides)) {
    out[model] = {
      input: p.input,
      ...(p.output === undefined ? {} : { output: p.output }),
      ...(p.cached_input === undefined ? {} : { cachedInput: p.cached_input }),
      ...(p.cache_write === undefined ? {} : { cacheWrite: p.cache_write }),
      ...(p.reasoning === undefined ? {} : { reasoning: p.reasoning }),
    };
  }
  return out;
}

export async function startServices(config: SluiceConfig, database: Database, opts: ServiceOptions): Promise<Services> {
  const keys = new KeyStore(database, { adminKey: opts.adminKey });
  await keys.start();
  const store = new PromptStore(database);
  const resolver = new PromptResolver({
    store,
    onError: (err) => opts.logger.warn('prompt refresh failed', { err: err instanceof Error ? err.message : String(err) }),
  });
  await resolver.start();
  const providers = opts.providers ?? createProviders(config, { now: Date.now });
  return {
    keys,
    prompts: { store, resolver },
    providers,
    pricer: createPricer({ overrides: pricingOverrides(config) }),
    async stop() {
      resolver.stop();
      await keys.stop();
      await closeProviders(providers);
    },
  };
}
