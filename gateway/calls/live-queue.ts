import type { CallRowJson } from './call-row.ts';
import type { CallRecord } from './record.ts';

/**
 * A finished call the writer holds: its record, or, once the write-ahead log built it on the
 * request path, only its row (the record and its bodies can then be collected).
 */
export type HeldCall = CallRecord | CallRowJson;

/**
 * The writer's in-memory queue: finished calls in arrival order, each with its size (a row's
 * length, or a record's estimate, record-size.ts), so the writer can bound it by bytes as well
 * as by count. Parallel arrays rather than a wrapper object per record: `push` stays two array
 * pushes.
 */
export class LiveQueue {
  private records: HeldCall[] = [];
  private sizes: number[] = [];
  private total = 0;

  get length(): number {
    return this.records.length;
  }

  /** Estimated bytes of every record held. */
  get bytes(): number {
    return this.total;
  }

  push(record: HeldCall, bytes: number): void {
    this.records.push(record);
    this.sizes.push(bytes);
    this.total += bytes;
  }

  /**
   * Takes records from the front while `accept` wants more (it sees each record and its
   * size); returns them with their summed size. One splice per call, not one per record.
   */
  takeWhile(accept: (record: HeldCall, bytes: number) => boolean): { records: HeldCall[]; bytes: number } {
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
  drain(): HeldCall[] {
    const all = this.records;
    this.records = [];
    this.sizes = [];
    this.total = 0;
    return all;
  }
}
