import type { LatencySummary } from './histogram.ts';

/**
 * What bench/run.ts asks bench/load.ts to do (one JSON line on its stdin per job) and what
 * comes back (JSON lines on its stdout).
 */
export interface LoadJob {
  id: string;
  /** http://127.0.0.1:<port>; loopback only. */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Closed loop: this many connections, each sending its next request when the last ends. */
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** SSE response: also time the first body byte and check the stream ends with [DONE]. */
  stream: boolean;
  /** When set, a `window` line is printed every windowMs of the measured period (soak). */
  windowMs?: number;
}

export interface WindowStats {
  requests: number;
  seconds: number;
  rps: number;
  /** Time until the whole body was read, ms. */
  latency: LatencySummary;
  /** Time until the first body byte, ms (every job records it; it matters for streams). */
  ttfb: LatencySummary;
}

export interface LoadResult extends WindowStats {
  type: 'result';
  id: string;
  /** Transport failures (connection refused/reset, timeouts), whole job incl. warm-up. */
  errors: number;
  /** Responses whose status was not 2xx, whole job incl. warm-up. */
  non2xx: number;
  /** Stream responses that did not end with `data: [DONE]`. */
  badBodies: number;
  statusCounts: Record<string, number>;
  /** Values of the x-sluice-cache response header in the measured period. */
  cacheHeader: Record<string, number>;
  firstError?: string;
}

export interface LoadWindow extends WindowStats {
  type: 'window';
  id: string;
  /** Seconds since the measured period began, at the end of this window. */
  at: number;
  errors: number;
  non2xx: number;
}

export type LoadMessage = { type: 'ready' } | LoadResult | LoadWindow | { type: 'fatal'; id?: string; message: string };
