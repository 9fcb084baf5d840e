import type { CallRecord } from './record.ts';

/**
 * What a queued record costs in memory, estimated cheaply on the request path (the writer's
 * byte bound, issue 14 item 7). The bodies are the bulk and are still live objects here: the
 * writer serialises them once, later, when it prepares the row. So instead of serialising
 * twice, this walks them and adds up string lengths (O(1) each) and a few bytes per other
 * node: roughly the JSON text size, which is what the bulk — strings — costs V8 too.
 *
 * The walk is bounded by construction: at most `nodeBudget` objects, array elements and keys
 * are visited per body; once spent, the rest of an array or object is extrapolated from the
 * average of what was visited. Long homogeneous arrays (embeddings, token ids, messages) are
 * estimated well; a body of very mixed shape past the budget only roughly.
 */
export const NODE_BUDGET = 20_000;

/** The row without its bodies: ids, times, numbers, short strings, the JSON keys around them. */
const RECORD_BASE = 1200;
const PER_ATTEMPT = 120;
const NUMBER = 8;

interface Budget {
  nodes: number;
}

/** Estimated bytes of one JSON-like value (see above); `budget.nodes` is spent as it walks. */
export function estimateJsonBytes(value: unknown, budget: Budget = { nodes: NODE_BUDGET }): number {
  return size(value, budget, 0);
}

function size(v: unknown, b: Budget, depth: number): number {
  switch (typeof v) {
    case 'string':
      return v.length + 2;
    case 'number':
    case 'bigint':
      return NUMBER;
    case 'boolean':
      return 5;
    case 'object':
      break;
    default:
      return 4;
  }
  if (v === null) return 4;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (b.nodes <= 0 || depth > 64) return 16;
  b.nodes--;
  if (Array.isArray(v)) {
    let total = 2;
    let i = 0;
    for (; i < v.length && b.nodes > 0; i++) {
      b.nodes--;
      total += size(v[i], b, depth + 1) + 1;
    }
    if (i < v.length) total += i > 0 ? Math.ceil(((total - 2) / i) * (v.length - i)) : (v.length - i) * (NUMBER + 1);
    return total;
  }
  if (v instanceof Date) return 26;
  let total = 2;
  let seen = 0;
  const src = v as Record<string, unknown>;
  for (const k in src) {
    if (b.nodes <= 0) break;
    if (!Object.hasOwn(src, k)) continue;
    b.nodes--;
    seen++;
    total += k.length + 4 + size(src[k], b, depth + 1);
  }
  if (b.nodes <= 0 && seen > 0) {
    // Budget spent inside this object: the remaining keys are as large as the average one.
    const rest = Object.keys(src).length - seen;
    if (rest > 0) total += Math.ceil(((total - 2) / seen) * rest);
  }
  return total;
}

/**
 * Estimated in-memory bytes of a finished record, bodies included. Each body gets a budget of
 * its own, so a wide request body cannot hide a large response behind a spent budget.
 */
export function estimateRecordBytes(r: CallRecord, nodeBudget: number = NODE_BUDGET): number {
  let n = RECORD_BASE + r.attempts.length * PER_ATTEMPT;
  n += (r.user?.length ?? 0) + (r.errorMessage?.length ?? 0) + (r.model?.length ?? 0) + (r.requestId?.length ?? 0);
  const small: Budget = { nodes: nodeBudget };
  if (r.metadata) n += size(r.metadata, small, 0);
  if (r.retrievedDocIds) n += size(r.retrievedDocIds, small, 0);
  for (const body of [r.requestBody, r.responseBody, r.rag, r.faceRequest]) {
    if (body !== null && body !== undefined) n += size(body, { nodes: nodeBudget }, 0);
  }
  return n;
}
