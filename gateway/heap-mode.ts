import { setFlagsFromString } from 'node:v8';

export const HEAP_MODES = ['bounded', 'small', 'default'] as const;
export type HeapMode = (typeof HEAP_MODES)[number];

/**
 * How far V8 lets the heap grow, for a server process (not tests or in-process evals: flags are
 * process-wide, and apply to its PGlite thread too). Chosen by `SLUICE_HEAP` (config/env.ts):
 *
 * - `bounded` (unset): the old generation may grow 50% past what survived the last full
 *   collection before the next one. V8's default (up to 4×, by its own speed estimate) let a
 *   gateway under 50-connection load hold 50–100 MB of dead call records and responses between
 *   collections (peak RSS 265–287 MB); bounded, 185 MB, with a full collection about every
 *   1,300 calls instead of every 4,000–6,000 and no measurable CPU per call
 *   (bench/memory.ts, bench/heap-mode-cpu.ts, bench/call-log.ts; issue 20).
 * - `small`: `--optimize-for-size`, V8's memory-over-speed mode, for small machines: ~50 MB
 *   less again, but 3.5–4.5× the scavenges (each a pause) and +15–35% CPU per call.
 * - `default`: V8's own heuristics.
 *
 * Both flags are read by V8 at each collection, so setting them at run time takes effect.
 */
export function applyHeapMode(mode: HeapMode): void {
  if (mode === 'small') setFlagsFromString('--optimize-for-size');
  else if (mode === 'bounded') setFlagsFromString('--heap-growing-percent=50');
}
