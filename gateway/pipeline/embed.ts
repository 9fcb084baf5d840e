import { GatewayError } from '../errors/gateway-error.ts';
import type { EmbedFn } from '../rag/index.ts';
import type { Target } from '../routing/resolve-model.ts';

/**
 * Embeddings through the gateway's own providers, for retrieval and the semantic cache:
 * `target` is `provider/model` as in config.
 */
export function providerEmbedder(resolveModel: (model: string) => Target): EmbedFn {
  return async (texts, opts) => {
    const target = resolveModel(opts.target);
    const result = await target.provider.embeddings(
      { model: target.model, input: texts, encoding_format: 'float', ...(opts.dimensions ? { dimensions: opts.dimensions } : {}) },
      target.model,
      { signal: opts.signal ?? AbortSignal.timeout(30_000), attempts: [] },
    );
    const data = result.body.data as Array<{ index?: number; embedding?: unknown }> | undefined;
    if (!Array.isArray(data) || data.length !== texts.length || !data.every((d) => Array.isArray(d.embedding))) {
      throw new GatewayError('upstream_bad_response', `embeddings from ${opts.target} do not match the ${texts.length} input(s)`);
    }
    return [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => d.embedding as number[]);
  };
}
