import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import type { CallRowJson } from './call-row.ts';
import { ROLLUP_SOURCE_COLUMNS, rollupUpserts } from './rollup-sql.ts';
import { FIELD_INDEX, ROW_FIELDS } from './row-fields.ts';

/**
 * One statement writes a whole batch to both tables: the rows (positional JSON arrays,
 * row-fields.ts) travel as one JSON array (in parts, `batchParts`), `jsonb_array_elements`
 * turns it into a relation whose columns are read by position, and two data-modifying CTEs
 * insert calls and payloads. One round trip, atomic without BEGIN/COMMIT, a constant query
 * text (prepared once per connection), and the same on PGlite and postgres.js. ON CONFLICT DO
 * NOTHING on the (started_at, id) keys makes a replayed record a no-op.
 * Measured on 2 cores, 500-row batches with payloads: multi-row VALUES with bound parameters
 * in a transaction ~4.7k rows/s; `json_to_recordset` ~15k; `jsonb_to_recordset` ~21k (the
 * payload columns are then taken from the parsed document instead of being parsed again);
 * positional rows instead of keyed objects, 400-row batches: 45 instead of 52.5 µs of the
 * backend's CPU per row.
 *
 * The same statement keeps the rollups (call_rollups, call_rollups_minute): the calls insert
 * returns exactly the rows it inserted (a replayed row conflicts and returns nothing), and two
 * more CTEs add their aggregates. So a replay never counts twice, and a batch that fails adds
 * nothing anywhere.
 */
const quoted = (name: string) => `"${name}"`;
const COLUMNS = ROW_FIELDS.slice(0, FIELD_INDEX.has_payload)
  .map(([name]) => quoted(name))
  .join(', ');

/**
 * A field read from the row `v` by position. A JSON null is SQL NULL for every type (`->>`
 * gives NULL; a jsonb field's `'null'` is turned into NULL), and so is a position past the
 * row's end (a row without bodies).
 */
function field(type: string, i: number): string {
  if (type === 'jsonb') return `nullif(v->${i}, 'null')`;
  if (type === 'text[]') return `case when jsonb_typeof(v->${i}) = 'array' then array(select jsonb_array_elements_text(v->${i})) end`;
  if (type === 'text') return `v->>${i}`;
  return `(v->>${i})::${type}`;
}
const FIELDS = ROW_FIELDS.map(([name, type], i) => `${field(type, i)} as ${quoted(name)}`).join(',\n  ');

const HEAD = sql.raw(`with r as materialized (select\n  ${FIELDS}\nfrom jsonb_array_elements(('[' || concat_ws(',', `);
const ROLLUP = rollupUpserts('c');
const TAIL_TEXT = `) || ']')::jsonb) as e(v)
), c as (
  insert into calls (${COLUMNS})
  select ${COLUMNS} from r
  on conflict do nothing
  returning ${ROLLUP_SOURCE_COLUMNS}
), h as (
  ${ROLLUP.hourly}
), m as (
  ${ROLLUP.minute}
), p as (
  insert into call_payloads (call_id, started_at, request, response, rag, face_request, truncated)
  select id, started_at, request, response, rag, face_request, coalesce(truncated, false) from r where has_payload
  on conflict do nothing
)
select `;
const TAIL = sql.raw(`${TAIL_TEXT}1`);

/**
 * On a Postgres server the statement also warms its backend's allocator, once per session.
 * glibc's malloc serves a request of 128 kB or more with its own mmap and unmaps it on free,
 * and returns freed heap above twice that to the system; a batch's working memory (the
 * parameter, its jsonb, the CTE's tuplestore, the hash tables: ~3 MB for 400 rows) was
 * therefore handed back at the end of every statement and faulted in again by the next, page
 * by page. One 16 MB allocation freed raises both thresholds for the backend's life (glibc
 * moves them up to the largest mmapped chunk freed, 32 MB at most), so the memory stays with
 * the backend and is reused. Measured on 2 cores, 400-row batches from a fresh backend: 2.07
 * → 0.35–0.42 page faults per row (what is left is the first touch of shared buffers); under the
 * bench's 50-connection load the backend took 5–7 faults per row, at ~11 µs each on this
 * virtual machine. Elsewhere (musl, another OS) it is one 16 MB allocation per session and
 * nothing more. Not on PGlite: its WASM heap never shrinks, so there is nothing to keep, and
 * 16 MB once grown would stay.
 */
// The size goes through set_config (volatile) so the planner cannot fold repeat() into a
// constant, which it would build at every planning.
const WARM = `case when current_setting('sluice.allocator_warmed', true) is null
  then length(repeat(' ', 16777215 + length(set_config('sluice.allocator_warmed', '1', false)))) end`;
const TAIL_WARMING = sql.raw(`${TAIL_TEXT}${WARM}`);

/**
 * The batch travels as up to `BATCH_PARTS` text parameters, each a run of whole rows joined by
 * commas, which the statement joins (`concat_ws` skips the unused NULLs) and brackets into one
 * JSON array. A part stays under V8's large-object size (128 kB), so it is allocated in the
 * young generation, whose pages are resident and reused. One string of the whole batch
 * (~600 kB for 400 rows) was a large object: fresh pages from the system for every batch
 * (~4 µs per row in faults on this VM, more in copies), and old-generation allocation that
 * brings the next full collection closer. Wrapping it in brackets made a rope that the driver
 * then flattened into a second such copy (another ~4 µs per row).
 */
export const BATCH_PARTS = 16;
/** A part closes before it passes this many characters (a larger row is a part of its own). */
export const PART_CHARS = 96 * 1024;

/** The rows packed into at most `BATCH_PARTS` comma-joined runs, in order; the last takes any overflow. */
export function batchParts(rows: readonly CallRowJson[]): string[] {
  const parts: string[] = [];
  let from = 0;
  let chars = 0;
  for (let i = 0; i < rows.length; i++) {
    const len = rows[i]!.length + 1;
    if (i > from && chars + len > PART_CHARS && parts.length < BATCH_PARTS - 1) {
      parts.push(join(rows, from, i));
      from = i;
      chars = 0;
    }
    chars += len;
  }
  if (from < rows.length) parts.push(join(rows, from, rows.length));
  return parts;
}

function join(rows: readonly CallRowJson[], from: number, to: number): string {
  return to - from === 1 ? rows[from]! : rows.slice(from, to).join(',');
}

const PARAMS = (parts: readonly string[]) =>
  sql.join(
    Array.from({ length: BATCH_PARTS }, (_, i) => sql`${parts[i] ?? null}::text`),
    sql.raw(', '),
  );

/** Writes the rows (calls and payloads) in one statement; all or nothing. */
export async function insertCallRows(database: Pick<Database, 'db' | 'kind'>, rows: readonly CallRowJson[]): Promise<void> {
  if (rows.length === 0) return;
  await database.db.execute(sql`${HEAD}${PARAMS(batchParts(rows))}${database.kind === 'postgres' ? TAIL_WARMING : TAIL}`);
}

/**
 * Inserts the rows; when Postgres refuses the batch for what some row holds, retries them one
 * by one and hands each refused row to `refused`, removing it from `rows` (so after a
 * transient failure midway, `rows` is exactly what is left to retry). Rejects on a transient
 * failure.
 */
export async function insertIsolatingBadRows(
  database: Pick<Database, 'db' | 'kind'>,
  rows: CallRowJson[],
  refused: (row: CallRowJson, err: unknown) => void,
): Promise<void> {
  try {
    await insertCallRows(database, rows);
    return;
  } catch (err) {
    if (!isRowError(err)) throw err;
  }
  for (let i = 0; i < rows.length; ) {
    try {
      await insertCallRows(database, [rows[i]!]);
      i++;
    } catch (err) {
      if (!isRowError(err)) throw err;
      refused(rows[i]!, err);
      rows.splice(i, 1);
    }
  }
}

/** The SQLSTATE of a driver error (drizzle wraps it as `cause`), if the server sent one. */
export function sqlState(err: unknown): string | undefined {
  for (let e = err, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * True when the batch failed because of what some row holds (bad data, a constraint, an
 * index entry too large), so retrying the same batch can never succeed; anything else
 * (connection lost, server shutting down, timeouts) is worth retrying as is.
 */
export function isRowError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23') || state.startsWith('54'));
}

/** A short message for logs and stats: the driver's, never drizzle's (which embeds the parameters). */
export function describeDbError(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const message = e instanceof Error ? e.message : String(e);
  const state = sqlState(err);
  return (state ? `${state}: ${message}` : message).slice(0, 500);
}
