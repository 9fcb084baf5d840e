import { eq, inArray, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { ResponseOutputItem } from 'openai/resources/responses/responses';
import type { KeyScope } from '../../auth/schema.ts';
import { compilePayloadPolicy, type PayloadPolicy } from '../../calls/payloads.ts';
import { rowsOf, type Database } from '../../db/client.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { ResponsesInputItem } from './responses-schema.ts';
import { responses, type ResponseRow } from './schema.ts';
import { prepareTurn } from './stored-turn.ts';
import type { ResponseObject } from './to-response.ts';

/** One turn of a Responses conversation, as stored (redacted and capped: see stored-turn.ts). */
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
  /** The key that created it; null for an env admin key (SLUICE_ADMIN_KEY). */
  apiKeyId: string | null;
  /** Some part was cut to the size cap: it can be read but not continued. */
  truncated: boolean;
  /** UTF-8 bytes of its stored JSON. */
  storedBytes: number;
}

/** A turn as it happened, before redaction and caps. */
export type NewResponse = Omit<StoredResponse, 'truncated' | 'storedBytes'>;

/** Who asks: an admin-scope key sees every response, any other key only those it created. */
export interface ResponseReader {
  id: string | null;
  scope: KeyScope;
}

export interface ResponsesStoreOptions {
  /** Redaction and the per-column size cap: the call log's (`logging.*`), so both keep the same. */
  policy?: PayloadPolicy;
  /** Bytes of recent turns kept in memory, so a continuation on this instance needs no read. Default 32 MiB. */
  cacheBytes?: number;
  /** Most stored bytes one continuation may load (the whole chain). Default 32 MiB. */
  maxChainBytes?: number;
  /**
   * Age past which a response is treated as gone, whether or not retention.ts has deleted its
   * row yet (or this instance still caches it). Default: no limit.
   */
  maxAgeMs?: number;
  /** Wall clock, epoch ms (for maxAgeMs). */
  now?: () => number;
}

export const DEFAULT_MAX_CHAIN = 100;
const DEFAULT_POLICY_OPTIONS = { enabled: true, maxBytes: 256 * 1024, redactFields: [], redactPatterns: [] };
/** Real ids are `resp_` + 32 hex digits; a longer one cannot exist, so it is not looked up. */
const MAX_ID_LENGTH = 128;

export function canRead(reader: ResponseReader, turn: { apiKeyId: string | null }): boolean {
  return reader.scope === 'admin' || (reader.id !== null && reader.id === turn.apiKeyId);
}

interface Link {
  id: string;
  createdAt: Date;
  previousResponseId: string | null;
  apiKeyId: string | null;
  truncated: boolean;
  storedBytes: number;
}

/**
 * The `responses` table. `save` stores what the call log would keep of the turn (redacted,
 * each part capped) and puts that same stored form in a bounded in-memory cache before it
 * writes, so a client continuing at once (`previous_response_id`) on this instance is served
 * from memory even while the insert is in flight, and sees exactly what another instance
 * would read from Postgres. Rows are immutable, so cached entries never go stale (retention
 * may delete a row a little before the cache forgets it).
 *
 * Every read names its reader: a response another (non-admin) key created is "not found",
 * so a key cannot even learn that an id exists.
 */
export class ResponsesStore {
  readonly #database: Pick<Database, 'db'>;
  readonly #policy: PayloadPolicy;
  readonly #maxChainBytes: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #cache: LRUCache<string, StoredResponse>;

  constructor(database: Pick<Database, 'db'>, opts: ResponsesStoreOptions = {}) {
    this.#database = database;
    this.#policy = opts.policy ?? compilePayloadPolicy(DEFAULT_POLICY_OPTIONS);
    this.#maxChainBytes = opts.maxChainBytes ?? 32 * 1024 * 1024;
    this.#maxAgeMs = opts.maxAgeMs ?? Number.POSITIVE_INFINITY;
    this.#now = opts.now ?? Date.now;
    this.#cache = new LRUCache({ maxSize: opts.cacheBytes ?? 32 * 1024 * 1024, sizeCalculation: (t) => Math.max(1, t.storedBytes) });
  }

  /** Redacts, caps, caches and inserts one turn; returns it as stored. Idempotent: saving an id twice keeps the first. */
  async save(turn: NewResponse): Promise<StoredResponse> {
    const prepared = prepareTurn(turn, this.#policy);
    const stored: StoredResponse = {
      ...turn,
      request: prepared.request.value as Record<string, unknown>,
      inputItems: prepared.inputItems.value as ResponsesInputItem[],
      outputItems: prepared.outputItems.value as ResponseOutputItem[],
      response: prepared.response.value as ResponseObject,
      truncated: prepared.truncated,
      storedBytes: prepared.bytes,
    };
    if (!this.#cache.has(stored.id)) this.#cache.set(stored.id, stored);
    const jsonb = (json: string) => sql`${json}::jsonb`;
    await this.#database.db
      .insert(responses)
      .values({
        id: stored.id,
        createdAt: stored.createdAt,
        previousResponseId: stored.previousResponseId,
        model: stored.model,
        request: jsonb(prepared.request.json),
        inputItems: jsonb(prepared.inputItems.json),
        outputItems: jsonb(prepared.outputItems.json),
        response: jsonb(prepared.response.json),
        callId: stored.callId,
        apiKeyId: stored.apiKeyId,
        truncated: stored.truncated,
        storedBytes: stored.storedBytes,
      })
      .onConflictDoNothing({ target: responses.id });
    return stored;
  }

  /** The response, or null when there is none this reader may see. */
  async get(id: string, reader: ResponseReader): Promise<StoredResponse | null> {
    if (id.length > MAX_ID_LENGTH) return null;
    let stored = this.#cache.get(id);
    if (!stored) {
      const [row] = await this.#database.db.select().from(responses).where(eq(responses.id, id));
      stored = row ? this.#remember(row) : undefined;
    }
    return stored && this.#readable(reader, stored) ? stored : null;
  }

  /** Created by the reader (or the reader is admin) and not past its age. */
  #readable(reader: ResponseReader, turn: { apiKeyId: string | null; createdAt: Date }): boolean {
    return canRead(reader, turn) && this.#now() - turn.createdAt.getTime() <= this.#maxAgeMs;
  }

  /**
   * The conversation ending at `id`, oldest first, following `previous_response_id` links.
   * A response missing anywhere in the chain, or one this reader may not see, is a 404 naming
   * `previous_response_id`; a cut (truncated) turn, a chain longer than `maxDepth`, or one
   * over the byte budget is a 400 saying so. Links are checked before any turn's body is read.
   */
  async chain(id: string, reader: ResponseReader, maxDepth = DEFAULT_MAX_CHAIN): Promise<StoredResponse[]> {
    const newestFirst: StoredResponse[] = [];
    let bytes = 0;
    const check = (link: Link): void => {
      if (!this.#readable(reader, link)) throw notFound(link.id, id);
      if (link.truncated) {
        throw new GatewayError(
          'invalid_request',
          `previous_response_id: response '${link.id}' was larger than the gateway stores (logging.payload_max_bytes, ${this.#policy.maxBytes} bytes per part) and was kept cut, so it cannot be continued; send the conversation in input instead`,
          { param: 'previous_response_id' },
        );
      }
      bytes += link.storedBytes;
      if (bytes > this.#maxChainBytes) {
        throw new GatewayError('invalid_request', `previous_response_id: the conversation is larger than ${this.#maxChainBytes} bytes; send it in input instead`, {
          param: 'previous_response_id',
        });
      }
    };
    let next: string | null = id.length > MAX_ID_LENGTH ? null : id;
    if (next === null) throw notFound(id, id);
    while (next !== null) {
      if (newestFirst.length >= maxDepth) {
        throw new GatewayError('invalid_request', `previous_response_id: the conversation is longer than ${maxDepth} responses`, {
          param: 'previous_response_id',
        });
      }
      const cached = this.#cache.get(next);
      if (cached) {
        check(cached);
        newestFirst.push(cached);
        next = cached.previousResponseId;
        continue;
      }
      const links = await this.#links(next, maxDepth - newestFirst.length);
      if (links.length === 0) throw notFound(next, id);
      for (const link of links) check(link);
      newestFirst.push(...(await this.#load(links, id)));
      next = links.at(-1)!.previousResponseId;
    }
    return newestFirst.reverse();
  }

  /** Up to `limit` links from `id` backwards, newest first: metadata only, no bodies. */
  async #links(id: string, limit: number): Promise<Link[]> {
    type LinkRow = { id: string; created_at: string | Date; previous_response_id: string | null; api_key_id: string | null; truncated: boolean; stored_bytes: number };
    const rows = rowsOf<LinkRow>(
      await this.#database.db.execute(sql`
        with recursive chain (id, created_at, previous_response_id, api_key_id, truncated, stored_bytes, depth) as (
          select id, created_at, previous_response_id, api_key_id, truncated, stored_bytes, 1 from ${responses} where id = ${id}
          union all
          select r.id, r.created_at, r.previous_response_id, r.api_key_id, r.truncated, r.stored_bytes, c.depth + 1
          from ${responses} r join chain c on r.id = c.previous_response_id
          where c.depth < ${limit}
        )
        select id, created_at, previous_response_id, api_key_id, truncated, stored_bytes from chain order by depth`),
    );
    return rows.map((r) => ({
      id: r.id,
      createdAt: new Date(r.created_at),
      previousResponseId: r.previous_response_id,
      apiKeyId: r.api_key_id,
      truncated: r.truncated,
      storedBytes: Number(r.stored_bytes),
    }));
  }

  /** The rows of checked links, in link order; one deleted meanwhile (retention) breaks the chain. */
  async #load(links: readonly Link[], asked: string): Promise<StoredResponse[]> {
    const rows = await this.#database.db.select().from(responses).where(inArray(responses.id, links.map((l) => l.id)));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return links.map((l) => {
      const row = byId.get(l.id);
      if (!row) throw notFound(l.id, asked);
      return this.#remember(row);
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
      apiKeyId: row.apiKeyId,
      truncated: row.truncated,
      storedBytes: row.storedBytes,
    };
    this.#cache.set(stored.id, stored);
    return stored;
  }
}

/** The same answer whether the response does not exist or belongs to another key. */
function notFound(missing: string, asked: string): GatewayError {
  const where = missing === asked ? '' : ` (an earlier response in the conversation of '${asked.slice(0, 100)}')`;
  return new GatewayError('not_found', `previous_response_id: response '${missing.slice(0, 100)}'${where} was not found`, { param: 'previous_response_id' });
}
