/** The RAG module's public surface (issue 8), for the pipeline, the app, the CLI and evals. */
export { docsIngestCommand, DOCS_INGEST_USAGE, parseDocsIngestArgs, type DocsIngestArgs } from './cli.ts';
export {
  collectionSettings,
  parseRetrievers,
  retrieverConfigSchema,
  type RetrieverConfig,
  type RetrieverConfigs,
  type RetrieverType,
} from './config.ts';
export { DocumentStore, type DocumentInput, type StoredDocument, type UpsertResult } from './documents-store.ts';
export type { AfterHook, AfterState, BeforeHook, ChatBody, Completion, HookDefinition, HookRegistry, RagState } from './hooks.ts';
export { hookRegistry } from './hooks/index.ts';
export { ingestPath, IngestError, type IngestOptions, type IngestProgress, type IngestSummary } from './ingest.ts';
export type { RagAfterResult, RagBeforeInput, RagPipeline, RagRecord, RagRun } from './pipeline.ts';
export { createRag, RagService, type RagOptions } from './service.ts';
export type { EmbedFn, EmbedOptions, RetrievedDoc, Retriever, SearchOptions } from './types.ts';
