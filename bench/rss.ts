/**
 * Resident memory and CPU time of another process, from /proc/<pid>/status (VmRSS) and
 * /proc/<pid>/stat. Linux only; elsewhere every reading is null and the report says so.
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

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every mainstream Linux build.
const CLOCK_TICKS_PER_S = 100;

/**
 * CPU time (user + system) a process has used so far, in ms (10 ms resolution). Unlike
 * throughput, CPU per request barely moves when other work competes for the machine.
 */
export function readCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after its closing paren are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_S : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every intervalMs while running; keeps the maximum and every reading since start(). */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peak: number | null = null;
  private startedAt = 0;
  /** Every reading since start(): seconds after start(), MB. */
  readonly samples: Array<{ atS: number; mb: number }> = [];

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.peak = null;
    this.samples.length = 0;
    this.startedAt = performance.now();
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
    if (mb === null) return;
    if (this.peak === null || mb > this.peak) this.peak = mb;
    this.samples.push({ atS: (performance.now() - this.startedAt) / 1000, mb });
  }
}
