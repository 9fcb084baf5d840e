import { bucketOf, histogramOfGroup } from './rollup-histogram.ts';

/**
 * How each rollup measure (schema.ts `rollupMeasures`) is computed from call rows, merged into an
 * existing rollup row, and summed when read. One list serves the writer's upsert, the
 * migration's backfill and the readers' raw edges, so they cannot drift apart. Expressions
 * name the `calls` columns unqualified: they run over `calls` itself or over the rows an
 * insert returned, wrapped by `bucketed` (which adds `lb`, an ok call's latency bucket index).
 * Producers aggregate in two steps (`fromCalls`): `agg` per group and `lb`, then `read` over
 * those partial rows per group, so the histogram's power of ten is computed per bucket, not per
 * call.
 */
export interface Measure {
  col: string;
  /** Aggregate over call rows that share `lb`. */
  agg: string;
  /** New value on conflict, from the stored row (`t`) and the incoming one (`e`). */
  merge: (t: string, e: string) => string;
  /** Aggregate over rollup rows (the column referenced as `col`). */
  read: (col: string) => string;
  /** The column's type: what a producer casts its result to, so a union with stored rows needs no coercion per stored row. */
  type: string;
}

const OK = `status = 'ok'`;
const add = (col: string) => (t: string, e: string) => `${t}.${col} + ${e}.${col}`;
const sum = (col: string) => `sum(${col})`;

function counted(col: string, agg: string, type = 'int4'): Measure {
  return { col, agg, merge: add(col), read: sum, type };
}

export const MEASURES: readonly Measure[] = [
  counted('calls', 'count(*)'),
  counted('ok', `count(*) filter (where ${OK})`),
  counted('failed', `count(*) filter (where status in ('upstream_error', 'gateway_error'))`),
  counted('cache_hits', `count(*) filter (where cache_status = 'hit')`),
  counted('cache_misses', `count(*) filter (where cache_status = 'miss')`),
  counted('priced', 'count(cost_micros)'),
  counted('cost_micros', 'coalesce(sum(cost_micros), 0)', 'numeric'),
  counted('cost_saved_micros', 'coalesce(sum(cost_saved_micros), 0)', 'numeric'),
  counted('input_tokens', 'coalesce(sum(input_tokens), 0)', 'int8'),
  counted('output_tokens', 'coalesce(sum(output_tokens), 0)', 'int8'),
  counted('cached_tokens', 'coalesce(sum(cached_tokens), 0)', 'int8'),
  counted('cache_write_tokens', 'coalesce(sum(cache_write_tokens), 0)', 'int8'),
  counted('reasoning_tokens', 'coalesce(sum(reasoning_tokens), 0)', 'int8'),
  counted('ok_latency_sum', `coalesce(sum(latency_ms::float8) filter (where ${OK}), 0)`, 'float8'),
  counted('ok_latency_sumsq', `coalesce(sum(latency_ms::float8 * latency_ms::float8) filter (where ${OK}), 0)`, 'float8'),
  {
    col: 'ok_latency_min',
    agg: `min(latency_ms) filter (where ${OK})`,
    merge: (t, e) => `least(${t}.ok_latency_min, ${e}.ok_latency_min)`,
    read: (c) => `min(${c})`,
    type: 'real',
  },
  {
    col: 'ok_latency_max',
    agg: `max(latency_ms) filter (where ${OK})`,
    merge: (t, e) => `greatest(${t}.ok_latency_max, ${e}.ok_latency_max)`,
    read: (c) => `max(${c})`,
    type: 'real',
  },
  {
    col: 'ok_latency_hist',
    agg: histogramOfGroup('lb'),
    merge: add('ok_latency_hist'),
    read: sum,
    type: 'numeric',
  },
  counted('ok_priced', `count(cost_micros) filter (where ${OK})`),
  counted('ok_cost_sum', `coalesce(sum(cost_micros::float8) filter (where ${OK}), 0)`, 'float8'),
  counted('ok_cost_sumsq', `coalesce(sum(cost_micros::float8 * cost_micros::float8) filter (where ${OK}), 0)`, 'float8'),
];

export type MeasureName = (typeof MEASURES)[number]['col'];

/** The `calls` columns the measures and keys read: what the writer's insert must return. */
export const ROLLUP_SOURCE_COLUMNS = `started_at, route, variant, shadow, provider, model, api_key_id, status, cache_status,
  latency_ms, cost_micros, cost_saved_micros, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens`;

/** The hourly table's key, as stored and as computed from a call row. */
export const HOUR_KEYS = ['bucket', 'route', 'variant', 'shadow', 'provider', 'model', 'api_key_id'] as const;
export const HOUR_BUCKET = `date_trunc('hour', started_at, 'UTC')`;
export const MINUTE_BUCKET = `date_trunc('minute', started_at, 'UTC')`;

/** Call rows of `source` (a relation name, or `calls where …`) with their latency bucket `lb`, as `alias`. */
export function bucketed(source: string, alias = 's'): string {
  return `(select ${ROLLUP_SOURCE_COLUMNS}, ${bucketOf('latency_ms', OK)} as lb from ${source}) ${alias}`;
}

/**
 * `select <keys>, <measures> … group by <keys>` over call rows (`rows`: a FROM item with `lb`,
 * e.g. from `bucketed`), in the two steps the measures need. `keys` are SQL expressions over
 * the call columns, named k0, k1, … in the result.
 */
export function fromCalls(keys: readonly string[], rows: string, names?: readonly string[], tail = ''): string {
  const [before, after] = fromCallsAround(keys, names);
  return `${before}${rows}${after} ${tail}`;
}

/** `fromCalls` as the text before and after its FROM item, for a caller whose rows carry parameters. */
export function fromCallsAround(keys: readonly string[], names?: readonly string[]): [string, string] {
  const ks = keys.map((k, i) => `${k} as k${i}`);
  const kn = keys.map((_, i) => `k${i}`);
  const by = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(', ');
  return [
    `select ${[...kn, measureReads(names, '', true)].join(', ')}
  from (select ${[...ks, 'lb', measureAggs(names)].join(', ')} from `,
    ` group by ${by(keys.length + 1)}) p
  ${kn.length ? `group by ${by(kn.length)}` : ''}`,
  ];
}

/** The measures named, in the order named (a union's branches must agree by position). */
const pick = (names?: readonly string[]): readonly Measure[] =>
  names
    ? names.map((n) => {
        const m = MEASURES.find((x) => x.col === n);
        if (!m) throw new Error(`unknown rollup measure '${n}'`);
        return m;
      })
    : MEASURES;

/** `agg as col, …` over call rows. */
export function measureAggs(names?: readonly string[]): string {
  return pick(names).map((m) => `${m.agg} as ${m.col}`).join(',\n  ');
}

/** `read(prefix.col) as col, …` over rollup rows (or rows shaped like them); `typed` casts each to its column's type. */
export function measureReads(names?: readonly string[], prefix = '', typed = false): string {
  return pick(names)
    .map((m) => `${typed ? `(${m.read(`${prefix}${m.col}`)})::${m.type}` : m.read(`${prefix}${m.col}`)} as ${m.col}`)
    .join(',\n  ');
}

const cols = MEASURES.map((m) => m.col).join(', ');
const updates = (table: string) => MEASURES.map((m) => `${m.col} = ${m.merge(table, 'excluded')}`).join(',\n    ');

/**
 * The two upserts that add the call rows of relation `source` to the rollups. Rows are fed in
 * key order so concurrent batches lock shared rollup rows in the same order (no deadlock
 * between two writers).
 */
export function rollupUpserts(source: string): { hourly: string; minute: string } {
  const keys = [HOUR_BUCKET, ...HOUR_KEYS.slice(1)];
  return {
    hourly: `insert into call_rollups (${HOUR_KEYS.join(', ')}, ${cols})
  ${fromCalls(keys, bucketed(source), undefined, `order by ${keys.map((_, i) => i + 1).join(', ')}`)}
  on conflict on constraint call_rollups_key do update set
    ${updates('call_rollups')}`,
    minute: `insert into call_rollups_minute (bucket, ${cols})
  ${fromCalls([MINUTE_BUCKET], bucketed(source), undefined, 'order by 1')}
  on conflict (bucket) do update set
    ${updates('call_rollups_minute')}`,
  };
}
