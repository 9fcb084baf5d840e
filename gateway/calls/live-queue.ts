import type { CallRecord } from './record.ts';

/**
 * The writer's in-memory queue: finished records in arrival order, each with its estimated
 * size (record-size.ts), so the writer can bound it by bytes as well as by count. Parallel
 * arrays rather than a wrapper object per record: `push` stays two array pushes.
 */
export class LiveQueue {
  private records: CallRecord[] = [];
  private sizes: number[] = [];
  private total = 0;

  get length(): number {
    return this.records.length;
  }

  /** Estimated bytes of every record held. */
  get bytes(): number {
    return this.total;
  }

  push(record: CallRecord, bytes: number): void {
    this.records.push(record);
    this.sizes.push(bytes);
    this.total += bytes;
  }

  /**
   * Takes records from the front while `accept` wants more (it sees each record and its
   * size); returns them with their summed size. One splice per call, not one per record.
   */
  takeWhile(accept: (record: CallRecord, bytes: number) => boolean): { records: CallRecord[]; bytes: number } {
    let n = 0;
    let bytes = 0;
    while (n < this.records.length && accept(this.records[n]!, this.sizes[n]!)) {
      bytes += this.sizes[n]!;
      n++;
    }
    if (n === 0) return { records: [], bytes: 0 };
    this.sizes.splice(0, n);
    this.total -= bytes;
    return { records: this.records.splice(0, n), bytes };
  }

  /** Everything, emptying the queue (shutdown). */
  drain(): CallRecord[] {
    const all = this.records;
    this.records = [];
    this.sizes = [];
    this.total = 0;
    return all;
  }
}
