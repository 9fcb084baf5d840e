/** One retrieved passage. `score` is the retriever's own scale (see each retriever). */
export interface RetrievedDoc {
  id: string;
  collection: string;
  text: string;
  score: number;
  metadata: Record<string, unknown>;
}

export interface SearchOptions {
  topK: number;
  /** Metadata the documents must contain (`metadata @> filters` for the Postgres retrievers). */
  filters?: Record<string, unknown> | undefined;
  signal: AbortSignal;
}

/** What every retriever type implements (DESIGN §3 `retrievers:`). Results are best first. */
export interface Retriever {
  readonly name: string;
  readonly type: string;
  search(query: string, opts: SearchOptions): Promise<RetrievedDoc[]>;
}

/**
 * Embeddings for texts, in order, from a configured `provider/model` target. The composition
 * root supplies it (through the gateway's embeddings providers); tests pass a deterministic fake.
 */
export type EmbedFn = (texts: string[], opts: EmbedOptions) => Promise<number[][]>;

export interface EmbedOptions {
  target: string;
  dimensions?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** An OpenAI chat message as far as RAG cares: a role and string or content-part content. */
export interface ChatMessageLike {
  role: string;
  content?: unknown;
  [key: string]: unknown;
}
