/**
 * Keeps this process's large C allocations (Buffers, ArrayBuffers: what the Postgres driver
 * builds each batch's messages in) on memory that stays mapped.
 *
 * glibc's malloc serves a request of 128 kB or more with a fresh mmap and unmaps it on free, and
 * returns freed heap above 256 kB to the system. The call log's driver builds every batch's
 * message in three such buffers (its encode buffer, a concat, a copy for the socket), so each
 * batch's pages were new to the process and each page a fault: on this VM ~11 µs each, 1.4 per
 * logged call. glibc raises both thresholds, for the life of the process, when a mapped chunk
 * is freed (up to its 32 MB cap): one 16 MB buffer, dropped at once and freed at the next
 * collection, moves them to 16 MB (mmap) and 32 MB (trim), and the batches' buffers are then
 * reused. Measured (bench/README.md, "page faults"): 1.85 → 0.2–0.5 faults and 37 → 20 µs of
 * this process's CPU per row written. The cost: freed heap up to 32 MB may stay mapped instead
 * of going back, in practice the few MB of batches in flight (Postgres mode under load: 165 →
 * 167 MB peak). On another C library it is one 16 MB allocation and nothing more. The server
 * calls it on Postgres only: embedded, it kept 10–25 MB more under load and saved no faults.
 */
export const WARMUP_BYTES = 16 * 1024 * 1024;

export function warmAllocator(bytes = WARMUP_BYTES): void {
  // Outside V8's heap: Node's ArrayBuffer allocator takes it from malloc. One byte written so
  // no allocator can skip the request; the pages it never touches are never faulted in.
  Buffer.allocUnsafeSlow(bytes)[0] = 1;
}
