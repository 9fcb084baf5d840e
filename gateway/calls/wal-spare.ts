import { unlinkSync } from 'node:fs';
import { mappedSegment, type Segment } from './wal-segment.ts';

/**
 * The one mapped segment the write-ahead log (wal.ts) keeps ready to take over at a rotation,
 * so no call preallocates 4 MB on its answer path: a released segment of the usual size,
 * reset with one store, or a new one preallocated in the thread pool.
 */
export class SpareSegment {
  private seg: Segment | null = null;
  /** The spare being preallocated in the background, if one is. */
  private preparing: Promise<void> | null = null;
  private closed = false;

  /**
   * `bytes`: the usual mapped segment size. `nextPath` names (and records) a new segment file;
   * `drop` closes, unmaps and removes one.
   */
  constructor(
    private readonly bytes: number,
    private readonly nextPath: () => string,
    private readonly drop: (seg: Segment) => void,
  ) {}

  /** The spare when it holds `need` bytes, now the caller's; else null (the caller makes one). */
  take(need: number): Segment | null {
    const seg = this.seg;
    if (!seg || seg.map!.length < need) return null;
    this.seg = null;
    return seg;
  }

  /** Keeps a released mapped segment of the usual size as the spare, reset; false when not wanted (the caller drops it). */
  keep(seg: Segment): boolean {
    if (!seg.map || this.seg || this.closed || seg.map.length !== this.bytes) return false;
    // One store: an entry's text ends at the first NUL, so the old entries are gone for readers.
    seg.map[0] = 0;
    seg.bytes = 0;
    seg.touched = 0;
    this.seg = seg;
    return true;
  }

  /** Preallocates the next spare off the event loop (its zeros are written by the thread pool), unless one is ready or on its way. */
  prepare(): void {
    if (this.seg || this.preparing || this.closed) return;
    const path = this.nextPath();
    this.preparing = mappedSegment(path, this.bytes)
      .then((seg) => {
        if (this.seg || this.closed) this.drop(seg);
        else this.seg = seg;
      })
      .catch(() => {
        // The next rotation makes one on the spot, and counts a failure there if it cannot.
        try {
          unlinkSync(path);
        } catch {
          // Never created.
        }
      })
      .finally(() => {
        this.preparing = null;
      });
  }

  /** No spare from now on; the ready one is removed, one still being prepared once it is made. */
  close(): void {
    this.closed = true;
    if (this.seg) this.drop(this.seg);
    this.seg = null;
  }

  /** Resolves once no spare is being prepared (after `close`: its file is gone then too). */
  async settled(): Promise<void> {
    while (this.preparing) await this.preparing;
  }
}
