/**
 * bench/run.ts's handle on the load generator process (bench/load.ts --serve): one job at a
 * time over stdin, results back as JSON lines.
 */
import { spawnNode, stopChild, waitForLine, type Child } from './children.ts';
import type { LoadJob, LoadMessage, LoadResult, LoadWindow } from './protocol.ts';

export class LoadClient {
  private pending: { id: string; resolve(r: LoadResult): void; reject(e: Error): void; onWindow?: ((w: LoadWindow) => void) | undefined } | undefined;
  private seq = 0;

  private constructor(private readonly child: Child) {
    child.onLine('stdout', (line) => this.onLine(line));
    void child.exited.then((code) => this.pending?.reject(new Error(`load generator exited (${code})\n${child.tail()}`)));
  }

  static async start(): Promise<LoadClient> {
    const child = spawnNode({ name: 'load generator', script: 'bench/load.ts', args: ['--serve'] });
    await waitForLine(child, 'stdout', (l) => (l.includes('"ready"') ? true : undefined), 30_000);
    return new LoadClient(child);
  }

  run(job: Omit<LoadJob, 'id'>, onWindow?: (w: LoadWindow) => void): Promise<LoadResult> {
    if (this.pending) throw new Error('the load generator runs one job at a time');
    const id = `job-${++this.seq}`;
    return new Promise<LoadResult>((resolve, reject) => {
      this.pending = { id, resolve, reject, onWindow };
      this.child.proc.stdin!.write(`${JSON.stringify({ ...job, id })}\n`);
    }).finally(() => {
      this.pending = undefined;
    });
  }

  async close(): Promise<void> {
    this.child.proc.stdin!.end();
    await stopChild(this.child, 2_000);
  }

  private onLine(line: string): void {
    let msg: LoadMessage;
    try {
      msg = JSON.parse(line) as LoadMessage;
    } catch {
      return;
    }
    const p = this.pending;
    if (!p) return;
    if (msg.type === 'window' && msg.id === p.id) p.onWindow?.(msg);
    else if (msg.type === 'result' && msg.id === p.id) p.resolve(msg);
    else if (msg.type === 'fatal') p.reject(new Error(`load generator: ${msg.message}`));
  }
}
