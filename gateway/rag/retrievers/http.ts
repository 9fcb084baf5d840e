import { Agent } from 'undici';
import { z } from 'zod';
import type { RetrievedDoc, Retriever, SearchOptions } from '../types.ts';

export interface HttpRetrieverOptions {
  name: string;
  /** From config only, never from a request. */
  url: string;
  headers?: Readonly<Record<string, string>> | undefined;
  maxResponseBytes: number;
}

const hit = z.object({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  text: z.string(),
  score: z.number().refine(Number.isFinite, 'must be a finite number'),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
const hits = z.array(hit);

/** Why an HTTP retriever failed; the message names the retriever and is safe to show. */
export class RetrieverHttpError extends Error {
  override readonly name = 'RetrieverHttpError';
}

/**
 * A search service reached over HTTP: POST `{query, top_k, filters}` → `[{id, text, score,
 * metadata}]`, validated. Time limits and the fail-open/closed policy are applied around every
 * retriever (see guard.ts); this honours the abort signal it is given, including while reading
 * the body, and caps the body's size. Results are re-sorted by score and cut at top_k, whatever
 * the service returns.
 */
export class HttpRetriever implements Retriever {
  readonly type = 'http';
  readonly name: string;
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 32 });

  constructor(private readonly opts: HttpRetrieverOptions) {
    this.name = opts.name;
  }

  async search(query: string, { topK, filters, signal }: SearchOptions): Promise<RetrievedDoc[]> {
    const url = new URL(this.opts.url);
    const res = await this.agent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: 'POST',
      headers: { ...this.opts.headers, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, top_k: topK, filters: filters ?? null }),
      signal,
    });
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump().catch(() => {});
      throw new RetrieverHttpError(`HTTP ${res.statusCode}`);
    }
    const text = await readCapped(res.body, this.opts.maxResponseBytes);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RetrieverHttpError('the response is not JSON');
    }
    // `[{id, text, score, metadata}]`, or the same list under `documents`.
    const list = Array.isArray(json) ? json : json !== null && typeof json === 'object' && 'documents' in json ? json.documents : json;
    const parsed = hits.safeParse(list);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RetrieverHttpError(`unexpected response shape${issue ? ` at ${issue.path.join('.') || '(root)'}: ${issue.message}` : ''}`);
    }
    return parsed.data
      .map((d) => ({ id: d.id, collection: this.name, text: d.text, score: d.score, metadata: d.metadata ?? {} }))
      .sort((a, b) => b.score - a.score)
      .slice(0, topK);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readCapped(body: AsyncIterable<Buffer>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new RetrieverHttpError(`the response is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
