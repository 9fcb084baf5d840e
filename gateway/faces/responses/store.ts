import { eq, inArray, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { ResponseOutputItem } from 'openai/resources/responses/responses';
import { rowsOf, type Database } from '../../db/client.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { ResponsesInputItem } from './responses-schema.ts';
import { responses, type ResponseRow } from './schema.ts';
import type { ResponseObject } from './to-response.ts';

/** One turn of a Responses conversation, as stored. */
export interface StoredResponse {
  id: string;
  createdAt: Date;
  previousResponseId: string | null;
  model: string;
  /** The request body as the client sent it. */
  request: Record<string, unknown>;
  /** This turn's input items, normalised (see `normalizeInput`). */
  inputItems: ResponsesInputItem[];
  outputItems: ResponseOutputItem[];
  response: ResponseObject;
  /** The call log id of the call that produced it. */
  callId: string;
}

export interface ResponsesStoreOptions {
  /** Recent responses kept in memory, so a continuation on this instance needs no read. Default 1000. */
  cacheSize?: number;
}

export const DEFAULT_MAX_CHAIN = 100;

/**
 * The `responses` table. `save` puts the response in a bounded in-memory cache before it
 * writes, so a client continuing at once (`previous_response_id`) on this instance is served
 * from memory even while the insert is in flight; other instances read Postgres. Rows are
 * immutable, so cached entries never go stale.
 */
export class ResponsesStore {
  readonly #database: Pick<Database, 'db'>;
  readonly #cache: LRUCache<string, StoredResponse>;

  constructor(database: Pick<Database, 'db'>, opts: ResponsesStoreOptions = {}) {
    this.#database = database;
    this.#cache = new LRUCache({ max: opts.cacheSize ?? 1000 });
  }

  /** Idempotent: saving the same id twice keeps the first. */
  async save(stored: StoredResponse): Promise<void> {
    this.#cache.set(stored.id, stored);
    await this.#database.db
      .insert(responses)
      .values({
        id: stored.id,
        createdAt: stored.createdAt,
        previousResponseId: stored.previousResponseId,
        model: stored.model,
        request: stored.request,
        inputItems: stored.inputItems,
        outputItems: stored.outputItems,
        response: stored.response as unknown as Record<string, unknown>,
        callId: stored.callId,
      })
      .onConflictDoNothing({ target: responses.id });
  }

  async get(id: string): Promise<StoredResponse | null> {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const [row] = await this.#database.db.select().from(responses).where(eq(responses.id, id));
    return row ? this.#remember(row) : null;
  }

  /**
   * The conversation ending at `id`, oldest first, following `previous_response_id` links.
   * A missing response anywhere in the chain is a 404 naming `previous_response_id`; a chain
   * longer than `maxDepth` is a 400 (it would not fit a context window anyway).
   */
  async chain(id: string, maxDepth = DEFAULT_MAX_CHAIN): Promise<StoredResponse[]> {
    const newestFirst: StoredResponse[] = [];
    let next: string | null = id;
    while (next !== null) {
      if (newestFirst.length >= maxDepth) {
        throw new GatewayError('invalid_request', `previous_response_id: the conversation is longer than ${maxDepth} responses`, {
          param: 'previous_response_id',
        });
      }
      const cached = this.#cache.get(next);
      if (cached) {
        newestFirst.push(cached);
        next = cached.previousResponseId;
        continue;
      }
      const fetched = await this.#fetchChain(next, maxDepth - newestFirst.length);
      if (fetched.length === 0) {
        const where = next === id ? '' : ` (an earlier response in the conversation of '${id}')`;
        throw new GatewayError('not_found', `previous_response_id: response '${next}'${where} was not found`, { param: 'previous_response_id' });
      }
      newestFirst.push(...fetched);
      next = fetched.at(-1)!.previousResponseId;
    }
    return newestFirst.reverse();
  }

  /** Up to `limit` links from `id` backwards, newest first, in two queries. */
  async #fetchChain(id: string, limit: number): Promise<StoredResponse[]> {
    const links = rowsOf<{ id: string }>(
      await this.#database.db.execute(sql`
        with recursive chain (id, previous_response_id, depth) as (
          select id, previous_response_id, 1 from ${responses} where id = ${id}
          union all
          select r.id, r.previous_response_id, c.depth + 1
          from ${responses} r join chain c on r.id = c.previous_response_id
          where c.depth < ${limit}
        )
        select id from chain order by depth`),
    ).map((r) => r.id);
    if (links.length === 0) return [];
    const rows = await this.#database.db.select().from(responses).where(inArray(responses.id, links));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return links.flatMap((l) => {
      const row = byId.get(l);
      return row ? [this.#remember(row)] : [];
    });
  }

  #remember(row: ResponseRow): StoredResponse {
    const stored: StoredResponse = {
      id: row.id,
      createdAt: row.createdAt,
      previousResponseId: row.previousResponseId,
      model: row.model,
      request: row.request,
      inputItems: row.inputItems as ResponsesInputItem[],
      outputItems: row.outputItems as ResponseOutputItem[],
      response: row.response as unknown as ResponseObject,
      callId: row.callId,
    };
    this.#cache.set(stored.id, stored);
    return stored;
  }
}

