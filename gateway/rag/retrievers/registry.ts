import { ConfigError } from '../../config/load.ts';
import type { Database } from '../../db/client.ts';
import type { Logger } from '../../logger.ts';
import type { RetrieverConfig, RetrieverConfigOf, RetrieverType } from '../config.ts';
import type { EmbedFn, Retriever } from '../types.ts';
import { HttpRetriever } from './http.ts';
import { HybridRetriever } from './hybrid.ts';
import { PgvectorRetriever } from './pgvector.ts';
import { PostgresFtsRetriever } from './postgres-fts.ts';

export interface RetrieverDeps {
  database: Database;
  /** Required by pgvector and hybrid retrievers. */
  embed?: EmbedFn | undefined;
  logger?: Logger | undefined;
}

export type RetrieverFactory<T extends RetrieverType> = (name: string, config: RetrieverConfigOf<T>, deps: RetrieverDeps) => Retriever;

function needEmbed(name: string, deps: RetrieverDeps): EmbedFn {
  if (!deps.embed) throw new ConfigError(`retrievers.${name}.embeddings: no embeddings function was provided to the RAG module`);
  return deps.embed;
}

const vector = (name: string, c: RetrieverConfigOf<'pgvector'> | RetrieverConfigOf<'hybrid'>, deps: RetrieverDeps) =>
  new PgvectorRetriever(
    deps.database,
    needEmbed(name, deps),
    { name, collection: c.collection, embeddings: c.embeddings, dimensions: c.dimensions, maxScan: c.max_scan },
    deps.logger,
  );

/** Retriever types by their config `type` (STYLE: extension points are typed registries). */
export const retrieverRegistry: { readonly [T in RetrieverType]: RetrieverFactory<T> } = {
  'postgres-fts': (name, c, deps) => new PostgresFtsRetriever(deps.database, { name, collection: c.collection, language: c.language }),
  pgvector: vector,
  hybrid: (name, c, deps) =>
    new HybridRetriever(name, new PostgresFtsRetriever(deps.database, { name, collection: c.collection, language: c.language }), vector(name, c, deps), c.k),
  http: (name, c) => new HttpRetriever({ name, url: c.url, headers: c.headers, maxResponseBytes: c.max_response_bytes }),
};

export function createRetriever(name: string, config: RetrieverConfig, deps: RetrieverDeps): Retriever {
  const factory = retrieverRegistry[config.type] as RetrieverFactory<typeof config.type>;
  return factory(name, config, deps);
}
