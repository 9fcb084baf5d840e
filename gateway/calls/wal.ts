import { closeSync, fdatasync, fsync, ftruncateSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import { toCallRow, type CallRowJson } from './call-row.ts';
import type { PayloadPolicy } from './payloads.ts';
import type { CallRecord, RowStart, StoredCallStatus } from './record.ts';
import { rowId } from './row-fields.ts';
import { segmentName, type WalKind } from './wal-files.ts';
import { canMapFiles } from './wal-mapping.ts';
import { closeQuietly, MAPPED_SEGMENT_BYTES, mappedSegmentSync, place, roundUp, touchAhead, type Segment } from './wal-segment.ts';
import { SpareSegment } from './wal-spare.ts';

export interface CallWalOptions {
  /** The spool directory: segments sit beside the spool files (wal-files.ts). */
  dir: string;
  /** Past this many bytes the active segment is closed and a new one opened. */
  maxSegmentBytes?: number | undefined;
  /**
   * fdatasync the active segment at most this often (`logging.wal.fsync_ms`). Without it an
   * entry is in the page cache once `append` returns: that survives the process being killed,
   * not the machine losing power.
   */
  fsyncMs?: number | undefined;
  /**
   * Append by storing into a shared mapping of each segment (`logging.wal.mmap`, default on)
   * when the optional addon is installed (wal-mapping.ts): no system call per entry. Off, or
   * without the addon: one `write` per entry. Both leave an entry in the page cache.
   */
  mapped?: boolean | undefined;
  now: () => number;
  logger: Pick<Logger, 'warn' | 'error'>;
}

/** How long a failure to make a segment stands before the next call tries again. */
const SEGMENT_RETRY_MS = 1000;
/** Streams remembered as answered ahead at most (each an id; a stream finishes moments later). */
const ANSWERED_AHEAD_MAX = 100_000;
/** The encoding buffer is kept up to this size; a larger row gets one of its own. */
const BUFFER_KEPT_MAX = 1024 * 1024;

/** What an `interrupted` row says: the stream had started when the gateway process died. */
const INTERRUPTED = 'the gateway process stopped before the stream ended';

export interface CallWalStats {
  segments: number;
  /** Calls with an entry in the log that the database (or the spool) does not have yet. */
  pending: number;
  /** Entries are stored into shared file mappings (no system call each), not written. */
  mapped: boolean;
  appended: number;
  failed: number;
}

/**
 * The call log's write-ahead log (issue 21): every answered call's row is appended here,
 * with one synchronous `write`, before the answer's last byte goes out, and the log forgets
 * it once the writer has it in the database or the spool (`release`). Those are the only
 * two ways a record is safe, so a process killed at any point leaves each answered call
 * either committed or in a segment, which the next start replays (wal-recover.ts).
 *
 * A call pins the oldest segment it has an entry in, and segments are deleted oldest first,
 * so a segment still on disk has every later entry of its calls on disk too: recovery never
 * mistakes a finished stream whose `F` was in a deleted segment for an interrupted one. When
 * nothing is pending the active segment is truncated instead, so an idle log is empty.
 */
export class CallWal {
  private readonly segments: Segment[] = [];
  /** Each pending call → the oldest segment holding an entry of it. */
  private readonly pins = new Map<string, Segment>();
  private readonly own = new Set<string>();
  private readonly maxSegmentBytes: number;
  /** The size of a mapped segment; 0 when entries are written with `write`. */
  private readonly mappedBytes: number;
  /** The mapped segment ready to take over at a rotation; null when entries are written with `write`. */
  private readonly spare: SpareSegment | null;
  private touching = false;
  /** No new segment is tried before this (epoch ms) after one could not be made. */
  private retryAt = 0;
  private seq = 0;
  private dirty = false;
  private syncing = false;
  private timer: NodeJS.Timeout | null = null;
  private warned = false;
  private closed = false;
  private readonly counters = { appended: 0, failed: 0 };
  private buf = Buffer.allocUnsafe(16 * 1024);
  /** Streams whose answered entry is in the log and whose finished record the writer has not had yet. */
  private readonly answeredAhead = new Set<string>();

  constructor(private readonly opts: CallWalOptions) {
    this.maxSegmentBytes = Math.max(4096, opts.maxSegmentBytes ?? 16 * 1024 * 1024);
    this.mappedBytes = opts.mapped !== false && canMapFiles() ? Math.min(this.maxSegmentBytes, MAPPED_SEGMENT_BYTES) : 0;
    this.spare = this.mappedBytes > 0 ? new SpareSegment(this.mappedBytes, () => this.newPath(), (seg) => this.drop(seg)) : null;
    // Ready before the first call, which would otherwise preallocate its segment on its answer path.
    this.spare?.prepare();
    if (opts.fsyncMs !== undefined && opts.fsyncMs > 0) {
      this.timer = setInterval(() => this.sync(), opts.fsyncMs);
      this.timer.unref();
    }
  }

  /** Paths of every segment this process opened, deleted ones too (recovery leaves them alone). */
  get ownPaths(): ReadonlySet<string> {
    return this.own;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /**
   * On the request path: one line, stored into the mapped segment or written with one
   * `write`. Never throws: a failed append (disk full) is counted and logged once per failure
   * streak, and the call is answered all the same. True when the entry is in the log.
   */
  append(kind: WalKind, row: CallRowJson): boolean {
    if (this.closed) return false;
    const id = rowId(row);
    try {
      const seg = this.mappedBytes > 0 ? this.store(kind, row) : this.writeLine(kind, row);
      this.dirty = true;
      this.counters.appended++;
      this.warned = false;
      if (!this.pins.has(id)) {
        this.pins.set(id, seg);
        seg.refs++;
      }
      if (seg.map === null && seg.bytes >= this.maxSegmentBytes) this.rotate();
      return true;
    } catch (err) {
      this.counters.failed++;
      // A torn line would glue the next entry onto it: later entries go to a new segment.
      this.rotate();
      if (!this.warned) {
        this.warned = true;
        this.opts.logger.error('call log: cannot write the write-ahead log; answered calls are only in memory until written', {
          dir: this.opts.dir,
          err: String(err),
        });
      }
      return false;
    }
  }

  /** One `write` of the line, encoded into a reused buffer with the kind letter and newline around it. */
  private writeLine(kind: WalKind, row: CallRowJson): Segment {
    const seg = this.active(0);
    // No line string is built and no second pass counts its bytes (~3.5 µs vs ~5.3 µs for a 1.5 kB row).
    const buf = this.buffer(row.length * 3 + 2);
    buf[0] = kind === 'F' ? 70 : 79;
    const len = buf.write(row, 1, 'utf8') + 2;
    buf[len - 1] = 10;
    const n = writeSync(seg.fd, buf, 0, len);
    seg.bytes += n;
    if (n !== len) throw new Error(`short write (${n} of ${len} bytes)`);
    return seg;
  }

  /** The line stored into the mapped segment; a new segment when it does not fit the current one. */
  private store(kind: WalKind, row: CallRowJson): Segment {
    if (!this.touching) {
      this.touching = true;
      setImmediate(this.prefault);
    }
    const seg = this.active(0);
    if (place(seg, kind, row)) return seg;
    const need = Buffer.byteLength(row) + 3;
    this.rotate();
    const next = this.active(need);
    if (!place(next, kind, row)) throw new Error(`an entry of ${need} bytes does not fit a segment of ${next.map!.length}`);
    return next;
  }

  /** A stream started: its record so far, as the `interrupted` row recovery writes if no `F` follows. */
  opened(record: Readonly<CallRecord>, policy: PayloadPolicy, start?: RowStart | null): void {
    this.appendRecord('O', { ...record, errorMessage: INTERRUPTED }, policy, 'interrupted', start);
  }

  /**
   * A stream's last byte is about to go out: its record as answered. Once it is in the log,
   * that entry stands for the call until the writer has it (`takeAnswered`).
   */
  answered(record: Readonly<CallRecord>, policy: PayloadPolicy, start?: RowStart | null): void {
    if (!this.appendRecord('F', record, policy, record.status, start)) return;
    // Bounded whatever happens to the finishes: past the bound an entry is merely written twice.
    if (this.answeredAhead.size >= ANSWERED_AHEAD_MAX) this.answeredAhead.clear();
    this.answeredAhead.add(record.id);
  }

  /**
   * True (once) when this call's record as answered is in the log already (a stream): its
   * finished record needs no entry of its own, and its row can wait for the batch.
   */
  takeAnswered(id: string): boolean {
    return this.answeredAhead.delete(id);
  }

  /** The writer has these rows in the database or the spool: their entries may go. */
  release(rows: readonly CallRowJson[]): void {
    for (const row of rows) this.releaseId(rowId(row));
    this.collect();
  }

  /** One call the writer is done with (committed, spooled, or dropped and counted). */
  releaseId(id: string): void {
    const seg = this.pins.get(id);
    if (!seg) return;
    this.pins.delete(id);
    seg.refs--;
  }

  /** Deletes fully released segments oldest first; truncates the active one once all are. */
  collect(): void {
    const segs = this.segments;
    while (segs.length > 0 && segs[0]!.refs === 0 && (segs.length > 1 || segs[0]!.fd < 0)) this.retire(segs.shift()!);
    const only = segs[0];
    if (segs.length === 1 && only && only.refs === 0 && only.bytes > 0 && only.fd >= 0 && !this.closed) {
      if (only.map) {
        only.map[0] = 0;
        only.bytes = 0;
        only.touched = 0;
        return;
      }
      try {
        ftruncateSync(only.fd, 0);
        only.bytes = 0;
      } catch (err) {
        this.opts.logger.warn('call log: cannot truncate the write-ahead log', { path: only.path, err: String(err) });
      }
    }
  }

  stats(): CallWalStats {
    return { segments: this.segments.length, pending: this.pins.size, mapped: this.mappedBytes > 0, ...this.counters };
  }

  /**
   * Stops appending. With nothing pending every segment is removed; otherwise they stay for
   * the next start to replay (the spool could not take the rest).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const all = this.pins.size === 0;
    this.spare?.close();
    for (const seg of this.segments.splice(0)) {
      if (all) this.drop(seg);
      else this.closeFd(seg);
    }
  }

  private appendRecord(kind: WalKind, record: Readonly<CallRecord>, policy: PayloadPolicy, status: StoredCallStatus, start?: RowStart | null): boolean {
    if (this.closed) return false;
    try {
      return this.append(kind, toCallRow(record, policy, this.opts.now(), status, start));
    } catch (err) {
      this.opts.logger.error('call log: cannot serialise a stream for the write-ahead log', { callId: record.id, err: String(err) });
      return false;
    }
  }

  /**
   * A buffer of at least `bytes` (a UTF-16 unit is at most 3 bytes of UTF-8): the kept one, or
   * for a row larger than the kept one may grow to, one of its own.
   */
  private buffer(bytes: number): Buffer {
    if (bytes <= this.buf.length) return this.buf;
    if (bytes > BUFFER_KEPT_MAX) return Buffer.allocUnsafe(bytes);
    this.buf = Buffer.allocUnsafe(Math.min(BUFFER_KEPT_MAX, Math.max(bytes, this.buf.length * 2)));
    return this.buf;
  }

  /**
   * The segment being appended to, opened on first use and after a rotation. A mapped one is
   * the spare when it holds `need` bytes, else one made now (preallocated for real, on the
   * request path: only when the spare was not ready); then the next spare is prepared.
   */
  private active(need: number): Segment {
    const last = this.segments.at(-1);
    if (last && last.fd >= 0) return last;
    // A segment that could not be made (a full disk: preallocating one writes 4 MB) is not
    // tried again for every call: until then appends fail at once and are counted.
    if (this.opts.now() < this.retryAt) throw new Error('no write-ahead log segment (the last attempt failed; retried every second)');
    try {
      return this.open(need);
    } catch (err) {
      this.retryAt = this.opts.now() + SEGMENT_RETRY_MS;
      throw err;
    }
  }

  private open(need: number): Segment {
    mkdirSync(this.opts.dir, { recursive: true });
    const path = this.newPath();
    const spare = this.spare?.take(need);
    let seg: Segment;
    if (this.mappedBytes === 0) {
      seg = { path, fd: openSync(path, 'a'), bytes: 0, refs: 0, map: null, touched: 0 };
    } else if (spare) {
      seg = spare;
      // Renamed into place, so recovery's order by name is the order of its entries.
      renameSync(seg.path, path);
      seg.path = path;
      if (seg.fd < 0) seg.fd = openSync(path, 'r+');
    } else {
      seg = mappedSegmentSync(path, Math.max(this.mappedBytes, roundUp(need)));
    }
    this.segments.push(seg);
    if (this.timer) this.syncDir();
    this.spare?.prepare();
    return seg;
  }

  /** A new segment file's path, recorded as this process's own before the file exists. */
  private newPath(): string {
    const path = join(this.opts.dir, segmentName(this.opts.now(), this.seq++));
    this.own.add(path);
    return path;
  }

  /** The active mapped segment's next pages touched off the answer path (wal-segment.ts `touchAhead`). */
  private readonly prefault = (): void => {
    this.touching = false;
    const seg = this.segments.at(-1);
    if (seg && seg.fd >= 0) touchAhead(seg);
  };

  /** A released segment: a mapped one of the usual size becomes the spare (reset), else it goes. */
  private retire(seg: Segment): void {
    if (!this.spare?.keep(seg)) this.drop(seg);
  }

  /** Resolves once no spare is being prepared (after `close`: its file is gone then too). */
  async settled(): Promise<void> {
    await this.spare?.settled();
  }

  /** Closes the active segment (the next append opens a new one); it goes once its calls are released. */
  private rotate(): void {
    const last = this.segments.at(-1);
    if (!last || last.fd < 0) return;
    const fd = last.fd;
    last.fd = -1;
    // With an fsync interval a closed segment is made durable too, in the background.
    if (this.timer) fdatasync(fd, () => closeQuietly(fd));
    else closeQuietly(fd);
    this.collect();
  }

  private drop(seg: Segment): void {
    this.closeFd(seg);
    // Unmapped when collected; the file is gone from the directory now.
    seg.map = null;
    try {
      unlinkSync(seg.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.opts.logger.warn('call log: cannot remove a write-ahead log segment', { path: seg.path, err: String(err) });
      }
    }
    // The path stays in `own`: a listing taken before the unlink must not see it as an orphan.
  }

  private closeFd(seg: Segment): void {
    if (seg.fd < 0) return;
    closeQuietly(seg.fd);
    seg.fd = -1;
  }

  /** The fsync interval's tick: the active segment's data to disk, off the event loop. */
  private sync(): void {
    const seg = this.segments.at(-1);
    if (!this.dirty || this.syncing || !seg || seg.fd < 0) return;
    this.dirty = false;
    this.syncing = true;
    fdatasync(seg.fd, (err) => {
      this.syncing = false;
      if (err && !this.closed) this.opts.logger.warn('call log: write-ahead log fsync failed', { err: String(err) });
    });
  }

  /** A new segment's directory entry, made durable too (only with an fsync interval). */
  private syncDir(): void {
    try {
      const fd = openSync(this.opts.dir, 'r');
      fsync(fd, () => closeSync(fd));
    } catch {
      // Some filesystems refuse to open a directory; the file's own data is synced regardless.
    }
  }
}
