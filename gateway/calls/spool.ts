import { appendFileSync, closeSync, createReadStream, fdatasyncSync, mkdirSync, openSync, renameSync } from 'node:fs';
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readRowLine, readsRowFormat, rowFileTag } from './row-fields.ts';

/**
 * The call log's overflow: append-only JSONL files of prepared rows (one row per line), used
 * when the in-memory queue is full or the database is unreachable at shutdown.
 *
 * A file is written as `calls-<ms>-<pid>-<seq>.r<format>.jsonl.open` (row-fields.ts
 * `ROW_FORMAT`; names without `.r<format>` are an earlier version's) and renamed to `.jsonl`
 * (sealed) when it reaches `maxFileBytes`, before a replay, or at close. Replay reads sealed
 * files, plus `.open` files left by a process that is gone, so several gateways sharing a
 * directory never read a file another live process is still appending to. A file in a format
 * this version does not read is left where it is and reported once (`onForeignFile`). Rows are idempotent on their
 * key, so a file replayed twice (a crash between insert and unlink) does no harm.
 */
export interface SpoolOptions {
  dir: string;
  maxFileBytes: number;
  now: () => number;
  /** A file written in a row format this version does not read (a later version's): left as it is. */
  onForeignFile?: (path: string) => void;
}

const NAME = /^calls-(\d+)-(\d+)-(\d+)(?:\.r(\d+))?\.jsonl(\.open)?$/;

/** Whether a process with this pid exists (EPERM: it does, as another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Spool {
  private handle: FileHandle | null = null;
  private activePath: string | null = null;
  private activeBytes = 0;
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private madeDir = false;
  private readonly reportedForeign = new Set<string>();

  constructor(private readonly opts: SpoolOptions) {}

  get dir(): string {
    return this.opts.dir;
  }

  /** Appends lines and fsyncs them; rejects if they could not be made durable. */
  append(lines: readonly string[]): Promise<void> {
    return this.serial(async () => {
      if (lines.length === 0) return;
      if (!this.handle) await this.openActive();
      const data = `${lines.join('\n')}\n`;
      try {
        await this.handle!.write(data);
        await this.handle!.datasync();
      } catch (err) {
        // A partial write would glue the next append onto a torn line: start a new file.
        await this.sealActive().catch(() => {});
        throw err;
      }
      this.activeBytes += Buffer.byteLength(data);
      if (this.activeBytes >= this.opts.maxFileBytes) await this.sealActive();
    });
  }

  /** For records that arrive after close(): one small sealed file, written synchronously. */
  appendSync(lines: readonly string[]): void {
    mkdirSync(this.opts.dir, { recursive: true });
    const open = join(this.opts.dir, `${this.nextName()}.open`);
    const fd = openSync(open, 'a');
    try {
      appendFileSync(fd, `${lines.join('\n')}\n`);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(open, open.slice(0, -'.open'.length));
  }

  /** Closes the file being appended to and makes it visible to replay. */
  seal(): Promise<void> {
    return this.serial(() => this.sealActive());
  }

  /** Files to replay, oldest first: sealed ones and those left open by a dead process. */
  async replayable(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.opts.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: { name: string; ms: number; seq: number }[] = [];
    for (const name of names) {
      const m = NAME.exec(name);
      if (!m) continue;
      const path = join(this.opts.dir, name);
      if (!readsRowFormat(m[4])) {
        if (!this.reportedForeign.has(path)) {
          this.reportedForeign.add(path);
          this.opts.onForeignFile?.(path);
        }
        continue;
      }
      if (m[5]) {
        const pid = Number(m[2]);
        if (path === this.activePath) continue;
        if (pid !== process.pid && processAlive(pid)) continue;
      }
      out.push({ name: path, ms: Number(m[1]), seq: Number(m[3]) });
    }
    out.sort((a, b) => a.ms - b.ms || a.seq - b.seq);
    return out.map((f) => f.name);
  }

  /**
   * Lines of a spool file in chunks of at most `chunk` lines and about `maxChars` characters
   * (a chunk of large rows is held in memory while it is written); a torn last line (crash
   * mid-append) is reported, not returned.
   */
  async *read(path: string, chunk: number, onBadLine: (line: string) => void, maxChars = Infinity): AsyncGenerator<string[]> {
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let batch: string[] = [];
    let chars = 0;
    for await (const line of lines) {
      if (line.length === 0) continue;
      const row = readRowLine(line);
      if (row === null) {
        onBadLine(line);
        continue;
      }
      batch.push(row);
      chars += line.length;
      if (batch.length >= chunk || chars >= maxChars) {
        yield batch;
        batch = [];
        chars = 0;
      }
    }
    if (batch.length > 0) yield batch;
  }

  async remove(path: string): Promise<void> {
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      // Another instance replayed and removed it first.
      if (err.code !== 'ENOENT') throw err;
    });
  }

  close(): Promise<void> {
    return this.seal();
  }

  private nextName(): string {
    return `calls-${this.opts.now()}-${process.pid}-${this.seq++}${rowFileTag}.jsonl`;
  }

  private async openActive(): Promise<void> {
    if (!this.madeDir) {
      await mkdir(this.opts.dir, { recursive: true });
      this.madeDir = true;
    }
    this.activePath = join(this.opts.dir, `${this.nextName()}.open`);
    this.handle = await open(this.activePath, 'a');
    this.activeBytes = 0;
    // Make the new file's directory entry durable too, not only its contents.
    const dir = await open(this.opts.dir, 'r').catch(() => null);
    await dir?.sync().catch(() => {});
    await dir?.close();
  }

  private async sealActive(): Promise<void> {
    const handle = this.handle;
    const path = this.activePath;
    if (!handle || !path) return;
    this.handle = null;
    this.activePath = null;
    await handle.close();
    await rename(path, path.slice(0, -'.open'.length));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }
}
