import { close, closeSync, open, openSync, unlinkSync, write, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { CallRowJson } from './call-row.ts';
import type { WalKind } from './wal-files.ts';
import { mapShared } from './wal-mapping.ts';

/**
 * One write-ahead log segment (wal.ts) and how its entries are put in it: written with
 * `write`, or stored into a shared mapping of a preallocated file (`place`).
 */
export interface Segment {
  path: string;
  /** Open while the segment is the one appended to (and a mapped spare's); -1 once closed. */
  fd: number;
  /** Bytes of entries (the write offset of a mapped segment). */
  bytes: number;
  /** Calls whose oldest entry is in this segment and that are not yet committed. */
  refs: number;
  /**
   * A mapped segment: the whole preallocated file. Its entries end at the first NUL byte
   * (wal-files.ts `segmentText`), so resetting one is a single store of a NUL at offset 0.
   */
  map: Buffer | null;
  /** Pages up to here were stored into since the segment was (re)set: `prefault`. */
  touched: number;
}

/** A mapped segment's size (capped by maxSegmentBytes): a spare is kept ready, so this is disk held idle. */
export const MAPPED_SEGMENT_BYTES = 4 * 1024 * 1024;
export const PAGE = 4096;
/**
 * How far past the last entry a mapped segment's pages are touched in advance, off the answer
 * path: a page's first store costs a fault (the kernel maps it and marks it dirty), 5-20 µs
 * here; touched ahead, an entry's stores are plain memory writes.
 */
export const TOUCH_AHEAD = 64 * 1024;
const writeAsync = promisify(write);
const openAsync = promisify(open);
let zeros: Buffer | null = null;


/**
 * Stores `<kind><row>\n` at the write offset, then a NUL after it, and the kind byte last:
 * until that one store the entry ends the segment's text where it starts (a NUL), so a
 * process killed mid-copy leaves no torn line and no stale bytes of an earlier use. False when
 * it might not fit (a UTF-16 unit is at most 3 bytes of UTF-8; the exact count only then).
 */
export function place(seg: Segment, kind: WalKind, row: CallRowJson): boolean {
  const map = seg.map!;
  const at = seg.bytes;
  const room = map.length - at - 3;
  if (row.length * 3 > room && Buffer.byteLength(row) > room) return false;
  const len = map.write(row, at + 1, 'utf8');
  map[at + 1 + len] = 10;
  map[at + 2 + len] = 0;
  map[at] = kind === 'F' ? 70 : 79;
  seg.bytes = at + 2 + len;
  return true;
}

/**
 * Touches a mapped segment's next pages (a NUL at the start of each, past the last entry's
 * terminator: never read), so the next entries' stores fault nowhere.
 */
export function touchAhead(seg: Segment): void {
  const map = seg.map;
  if (!map) return;
  const end = Math.min(map.length, seg.bytes + TOUCH_AHEAD);
  let page = Math.max(seg.touched, seg.bytes + PAGE - (seg.bytes % PAGE));
  for (; page < end; page += PAGE) map[page] = 0;
  seg.touched = Math.max(seg.touched, page);
}

export const roundUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;

function zeroChunk(): Buffer {
  zeros ??= Buffer.alloc(1024 * 1024);
  return zeros;
}

/**
 * A new segment file of `size` zero bytes written for real (so the filesystem has backed every
 * page: a full disk fails here, not as SIGBUS on a store later), mapped.
 */
export function mappedSegmentSync(path: string, size: number): Segment {
  const fd = openSync(path, 'w+');
  try {
    const z = zeroChunk();
    for (let at = 0; at < size; ) at += writeSync(fd, z, 0, Math.min(z.length, size - at), at);
    return { path, fd, bytes: 0, refs: 0, map: mapShared(fd, size), touched: 0 };
  } catch (err) {
    closeQuietly(fd);
    try {
      unlinkSync(path);
    } catch {
      // Nothing to remove.
    }
    throw err;
  }
}

export async function mappedSegment(path: string, size: number): Promise<Segment> {
  await mkdir(dirname(path), { recursive: true });
  const fd = await openAsync(path, 'w+');
  try {
    const z = zeroChunk();
    for (let at = 0; at < size; ) at += (await writeAsync(fd, z, 0, Math.min(z.length, size - at), at)).bytesWritten;
    return { path, fd, bytes: 0, refs: 0, map: mapShared(fd, size), touched: 0 };
  } catch (err) {
    close(fd, () => {});
    throw err;
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing is lost.
  }
}
