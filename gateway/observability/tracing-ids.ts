import { randomFillSync } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

/**
 * Trace and span ids. A call's ids are chosen while it runs (its traceparent goes upstream
 * then, and the call record keeps the trace id), but its SDK spans are made later, off the
 * response path (tracing-otel.ts); the SDK's IdGenerator interface is how those spans get the
 * ids already sent: PresetIds hands the tracer the ids set just before each startSpan.
 */

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** `bytes` random bytes as lowercase hex, never all zeros (an invalid W3C id). */
function randomHex(bytes: number): string {
  // One getrandom call per 4 KiB (~170 calls' ids) rather than one per id.
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += bytes;
  for (let i = start; i < offset; i++) if (pool[i] !== 0) return pool.toString('hex', start, offset);
  pool[offset - 1] = 1;
  return pool.toString('hex', start, offset);
}

/** A W3C trace id: 32 hex digits. */
export const newTraceId = (): string => randomHex(16);
/** A W3C span id: 16 hex digits. */
export const newSpanId = (): string => randomHex(8);

/** Gives the tracer the ids of the span it is about to make (set by the caller first). */
export class PresetIds implements IdGenerator {
  traceId = '';
  spanId = '';
  generateTraceId(): string {
    return this.traceId;
  }
  generateSpanId(): string {
    return this.spanId;
  }
}
