import type { ProviderType, SluiceConfig } from '../config/schema.ts';
import { createAnthropicProvider } from './anthropic/provider.ts';
import { createOpenAIProvider } from './openai/provider.ts';
import type { Provider, ProviderDeps, ProviderFactory } from './types.ts';

/** The typed registry of provider adapters: one factory per provider `type`. */
export const providerFactories: Readonly<Record<ProviderType, ProviderFactory>> = {
  openai: createOpenAIProvider,
  'openai-compatible': createOpenAIProvider,
  anthropic: createAnthropicProvider,
};

export type Providers = ReadonlyMap<string, Provider>;

export function createProviders(config: SluiceConfig, deps: ProviderDeps): Providers {
  const providers = new Map<string, Provider>();
  for (const [name, providerConfig] of Object.entries(config.providers)) {
    providers.set(name, providerFactories[providerConfig.type](name, providerConfig, deps));
  }
  return providers;
}

export async function closeProviders(providers: Providers): Promise<void> {
  await Promise.all([...providers.values()].map((p) => p.close()));
}
