import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { segmentName, segmentText } from './wal-files.ts';
import { canMapFiles } from './wal-mapping.ts';
import { CallWal } from './wal.ts';

/** A row as call-row.ts writes it: `["<uuid>",…]`. */
const row = (n: number, extra = ''): string => `["00000000-0000-7000-8000-${String(n).padStart(12, '0')}","ok"${extra}]`;

// Mapped segments need the optional addon; where `npm install` could not build it the log
// writes, and that is the mode left to test.
const modes = canMapFiles() ? [{ mapped: true }, { mapped: false }] : [{ mapped: false }];

describe.each(modes)('CallWal (mapped: $mapped)', ({ mapped }) => {
  let dir: string;
  const wals: CallWal[] = [];
  const wal = (opts: { maxSegmentBytes?: number } = {}) => {
    const w = new CallWal({ dir, now: Date.now, logger: silentLogger, mapped, ...opts });
    wals.push(w);
    return w;
  };
  const names = () => readdirSync(dir).filter((f) => f.startsWith('wal-')).sort();
  /** Segments holding entries (a mapped log keeps a reset spare, and an empty segment, around). */
  const files = () => names().filter((f) => segmentText(readFileSync(join(dir, f))) !== '');
  /** What recovery would read, every segment in order. */
  const text = () => names().map((f) => segmentText(readFileSync(join(dir, f)))).join('');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-wal-'));
  });
  afterEach(async () => {
    for (const w of wals.splice(0)) {
      w.close();
      await w.settled();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends one line per entry, synchronously, and truncates once every call is released', () => {
    const w = wal();
    w.append('O', row(1));
    w.append('F', row(2));
    w.append('F', row(1));
    // On disk (in the page cache) as soon as append returns: nothing is buffered in the process.
    expect(text()).toBe(`O${row(1)}\nF${row(2)}\nF${row(1)}\n`);
    expect(w.stats()).toMatchObject({ segments: 1, pending: 2, appended: 3, failed: 0 });
    w.release([row(1)]);
    expect(text()).not.toBe('');
    w.release([row(2)]);
    expect(text()).toBe('');
    expect(w.stats().pending).toBe(0);
    w.append('F', row(3));
    expect(text()).toBe(`F${row(3)}\n`);
    expect(w.stats().mapped).toBe(mapped);
  });

  it('rotates past maxSegmentBytes and deletes segments oldest first, once all their calls are released', () => {
    const pad = `,"${'a'.repeat(3000)}"`;
    const w = wal({ maxSegmentBytes: 4096 });
    w.append('O', row(1, pad)); // segment 1: call 1 opened
    w.append('F', row(2, pad)); // segment 1 is full: closed
    w.append('F', row(3, pad)); // segment 2
    w.append('F', row(1, pad)); // call 1 finished in segment 2 (still pinned to segment 1)
    // Written: two entries to a segment; mapped: one (4096 bytes hold one 3 kB entry).
    expect(files().length).toBeGreaterThanOrEqual(2);
    // Segment 2's calls are in, but segment 1 (call 1's opening) is not: both stay, so
    // recovery would see call 1's F beside its O.
    w.release([row(2), row(3)]);
    expect(text()).toBe(`O${row(1, pad)}\nF${row(2, pad)}\nF${row(3, pad)}\nF${row(1, pad)}\n`);
    w.release([row(1, pad)]);
    expect(files()).toEqual([]);
    expect(text()).toBe('');
    w.append('F', row(4, pad));
    expect(text()).toBe(`F${row(4, pad)}\n`);
    expect(w.stats().segments).toBe(1);
  });

  it('takes an entry larger than a segment whole, in a segment of its own', () => {
    const big = `,"${'b'.repeat(10_000)}"`;
    const w = wal({ maxSegmentBytes: 4096 });
    w.append('F', row(1));
    w.append('F', row(2, big));
    w.append('F', row(3));
    expect(text()).toBe(`F${row(1)}\nF${row(2, big)}\nF${row(3)}\n`);
    expect(w.stats()).toMatchObject({ appended: 3, failed: 0, pending: 3 });
    w.release([row(1), row(2), row(3)]);
    expect(text()).toBe('');
  });

  it('shows only what was appended since a reset, whatever an earlier use left after it', () => {
    const w = wal();
    const pad = `,"${'c'.repeat(500)}"`;
    for (let i = 1; i <= 5; i++) w.append('F', row(i, pad));
    w.release(Array.from({ length: 5 }, (_, i) => row(i + 1)));
    expect(text()).toBe('');
    w.append('O', row(9));
    // A mapped segment still holds the old entries' bytes past the new one: never read.
    expect(text()).toBe(`O${row(9)}\n`);
  });

  it('close() removes every segment when nothing is pending, and keeps them otherwise', async () => {
    const a = wal();
    a.append('F', row(1));
    a.release([row(1)]);
    a.close();
    await a.settled(); // a spare being prepared in the background is removed once it is ready
    expect(names()).toEqual([]);

    const b = wal();
    b.append('F', row(2));
    b.close();
    expect(text()).toBe(`F${row(2)}\n`);
    // Appends after close are ignored (the writer spools late records itself).
    b.append('F', row(3));
    expect(text()).toBe(`F${row(2)}\n`);
  });

  it('keeps serving when the log cannot be written (counts the failure, never throws)', () => {
    writeFileSync(join(dir, 'blocked'), '');
    const w = new CallWal({ dir: join(dir, 'blocked', 'wal'), now: Date.now, logger: silentLogger, mapped });
    wals.push(w);
    expect(() => w.append('F', row(1))).not.toThrow();
    expect(w.stats()).toMatchObject({ appended: 0, failed: 1, pending: 0 });
  });

  it('after a segment could not be made, fails appends at once for a second, then tries again', () => {
    let now = 1_000_000;
    writeFileSync(join(dir, 'blocked'), '');
    const w = new CallWal({ dir: join(dir, 'blocked', 'wal'), now: () => now, logger: silentLogger, mapped });
    wals.push(w);
    w.append('F', row(1));
    rmSync(join(dir, 'blocked')); // the disk has room again
    now += 500;
    expect(w.append('F', row(2))).toBe(false); // not tried: each try on a full disk costs a preallocation
    now += 600;
    expect(w.append('F', row(3))).toBe(true);
    expect(w.stats()).toMatchObject({ appended: 1, failed: 2, pending: 1 });
  });

  it('with an fsync interval, syncs in the background and keeps appending', async () => {
    const warnings: string[] = [];
    const w = new CallWal({ dir, now: Date.now, fsyncMs: 5, maxSegmentBytes: 4096, mapped, logger: { warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) } });
    wals.push(w);
    const pad = `,"${'a'.repeat(1500)}"`;
    for (let i = 0; i < 6; i++) {
      w.append('F', row(i, pad));
      await new Promise((r) => setTimeout(r, 8));
    }
    expect(w.stats()).toMatchObject({ appended: 6, failed: 0 });
    w.release(Array.from({ length: 6 }, (_, i) => row(i)));
    await new Promise((r) => setTimeout(r, 20));
    expect(warnings).toEqual([]);
    expect(text()).toBe('');
  });

  it('names its segments with its pid and lists them as its own', () => {
    const w = wal();
    w.append('F', row(1));
    expect(files().map((f) => join(dir, f)).every((p) => w.ownPaths.has(p))).toBe(true);
    expect(files()).toHaveLength(1);
    expect(files()[0]).toMatch(new RegExp(`^wal-\\d+-${process.pid}-\\d+\\.r2\\.log$`));
    expect(segmentName(5, 7, 42)).toBe('wal-5-42-7.r2.log');
  });
});
