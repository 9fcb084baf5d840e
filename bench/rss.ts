/**
 * Resident memory of another process, from /proc/<pid>/status (VmRSS). Linux only; elsewhere
 * every reading is null and the report says so.
 */
import { readFileSync } from 'node:fs';

export function readRssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every intervalMs while running; keeps the maximum. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peak: number | null = null;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.peak = null;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Stops sampling; returns the largest reading since start(). */
  stop(): number | null {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return this.peak;
  }

  private sample(): void {
    const mb = readRssMb(this.pid);
    if (mb !== null && (this.peak === null || mb > this.peak)) this.peak = mb;
  }
}

export function median(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}
