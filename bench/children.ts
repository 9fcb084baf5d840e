/**
 * The benchmark's child processes: spawned with `node --import tsx`, watched for a readiness
 * line, and all stopped at the end — also on an error, SIGINT or SIGTERM — so a failed run
 * never leaves a server holding a port.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The last lines the child wrote to stderr (for error reports). */
  tail(): string;
  /** Subscribes to the child's output lines; returns the unsubscribe function. */
  onLine(stream: 'stdout' | 'stderr', fn: (line: string) => void): () => void;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
}

export interface SpawnOptions {
  name: string;
  script: string;
  args?: string[];
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Called with every stderr line (the gateway logs JSON lines there). */
  onStderr?: (line: string) => void;
  /**
   * CPUs to run on, as `taskset -c` takes them ("1", "0,2-3"); default: wherever the scheduler
   * puts it. taskset execs node, so the pid is node's.
   */
  cpus?: string | undefined;
}

const live = new Set<Child>();

export function spawnNode(opts: SpawnOptions): Child {
  const loader = opts.script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const argv = [...(opts.nodeArgs ?? []), ...loader, opts.script, ...(opts.args ?? [])];
  const file = opts.cpus === undefined ? process.execPath : 'taskset';
  const args = opts.cpus === undefined ? argv : ['-c', opts.cpus, process.execPath, ...argv];
  const proc = spawn(file, args, {
    cwd: REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${opts.name}`);
  const lines: string[] = [];
  // One reader per stream, always flowing: a child writing to a full pipe would block.
  const subscribers = { stdout: new Set<(line: string) => void>(), stderr: new Set<(line: string) => void>() };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    for (const fn of subscribers.stdout) fn(line);
  });
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    lines.push(line);
    if (lines.length > 40) lines.shift();
    opts.onStderr?.(line);
    for (const fn of subscribers.stderr) fn(line);
  });
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const child: Child = {
    name: opts.name,
    proc,
    pid: proc.pid,
    tail: () => lines.join('\n'),
    onLine(stream, fn) {
      subscribers[stream].add(fn);
      return () => subscribers[stream].delete(fn);
    },
    exited,
  };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

/** The children still running (to pin the ones a section did not start itself). */
export function liveChildren(): Child[] {
  return [...live];
}

/**
 * Moves a running process, every thread of it, onto `cpus` (taskset -a -p -c). Threads it
 * starts later inherit it. Returns the CPU list it had before (to restore), or null where
 * taskset is missing or refused.
 */
export function pinProcess(pid: number, cpus: string): string | null {
  try {
    const before = /: (\S+)\s*$/.exec(execFileSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8' }))?.[1] ?? null;
    execFileSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: 'ignore' });
    return before;
  } catch {
    return null;
  }
}

/** Resolves with the first output line that `accept` returns a value for. */
export function waitForLine<T>(child: Child, stream: 'stdout' | 'stderr', accept: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      fn();
    };
    const timer = setTimeout(() => done(() => reject(new Error(`${child.name} not ready after ${timeoutMs} ms\n${child.tail()}`))), timeoutMs);
    const unsubscribe = child.onLine(stream, (line) => {
      const value = accept(line);
      if (value !== undefined) done(() => resolve(value));
    });
    void child.exited.then((code) => done(() => reject(new Error(`${child.name} exited (${code}) before it was ready\n${child.tail()}`))));
  });
}

export function readyPort(line: string): number | undefined {
  try {
    const msg = JSON.parse(line) as { ready?: boolean; port?: number };
    return msg.ready === true && typeof msg.port === 'number' ? msg.port : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
export async function stopChild(child: Child, graceMs = 5_000): Promise<number | string> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return child.exited;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  const code = await child.exited;
  clearTimeout(timer);
  return code;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c)));
}

let hooked = false;
/** Set once SIGINT/SIGTERM arrived: failures after that are the shutdown, not the benchmark. */
export let interrupted = false;
/** Kills every child on SIGINT/SIGTERM and, as a last resort, when this process exits. */
export function installCleanup(onSignal: () => Promise<void>): void {
  if (hooked) return;
  hooked = true;
  const handle = (signal: NodeJS.Signals): void => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the benchmark's processes…\n`);
    void onSignal()
      .catch(() => {})
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handle);
  process.once('SIGTERM', handle);
  process.once('exit', () => {
    for (const c of live) c.proc.kill('SIGKILL');
  });
}
