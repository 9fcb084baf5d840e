import type { SluiceEnv } from '../config/env.ts';
import { loadConfig } from '../config/load.ts';
import { providerEmbedder } from '../pipeline/embed.ts';
import { closeProviders, createProviders } from '../providers/registry.ts';
import { createRag, docsIngestCommand, DOCS_INGEST_USAGE, parseDocsIngestArgs, type DocumentInput, type UpsertResult } from '../rag/index.ts';
import { createModelResolver } from '../routing/resolve-model.ts';
import { dataAccess, throughServerNote } from './data-access.ts';
import type { CliIo } from './io.ts';
import type { ServerClient } from './server-client.ts';

/**
 * Upserts through `POST /api/documents`: the server's own RagService store, so collections its
 * pgvector/hybrid retrievers read are embedded by its providers, exactly as a direct ingest
 * embeds them. Chunking stays in the CLI (ingest.ts), so ids and chunks are the same too.
 */
function serverDocumentStore(server: ServerClient): { upsert(docs: readonly DocumentInput[], signal?: AbortSignal): Promise<UpsertResult> } {
  return {
    async upsert(docs, signal) {
      const res = await server.request<{ upserted: number; embedded: number }>('POST', '/api/documents', { documents: docs }, signal);
      return { upserted: res.upserted, embedded: res.embedded };
    },
  };
}

/** `sluice docs ingest …`; `argv` follows `docs`. Returns the exit code. */
export async function docsCommand(argv: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  if (argv[0] !== 'ingest') {
    io.err(`${DOCS_INGEST_USAGE}\n`);
    return 2;
  }
  const args = argv.slice(1);
  const output = { stdout: io.stdout, stderr: io.stderr };
  // Usage errors are answered before looking at the data directory.
  const problem = parseDocsIngestArgs(args);
  if (typeof problem === 'string') {
    io.err(`sluice docs ingest: ${problem}\n${DOCS_INGEST_USAGE}\n`);
    return 2;
  }
  const access = await dataAccess(env, 'docs ingest');
  if (access.kind === 'server') {
    io.err(throughServerNote(access.server));
    return docsIngestCommand(args, { ...output, store: serverDocumentStore(access.server) });
  }
  return access.withDatabase(async (database) => {
    // The configured retrievers decide how a collection is indexed (embeddings for pgvector/hybrid).
    const config = loadConfig(env.vars);
    const providers = createProviders(config, { now: Date.now });
    try {
      const rag = createRag({
        database,
        config: { retrievers: config.retrievers, routes: config.routes },
        embed: providerEmbedder(createModelResolver(config, providers)),
      });
      await rag.start();
      return await docsIngestCommand(args, { ...output, store: rag.store });
    } finally {
      await closeProviders(providers);
    }
  });
}
