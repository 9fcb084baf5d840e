import { existsSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canMapFiles } from './wal-mapping.ts';
import { closeQuietly, mappedSegmentSync, type Segment } from './wal-segment.ts';
import { SpareSegment } from './wal-spare.ts';

const SIZE = 64 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'sluice-spare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function spareIn(sub: string): { spare: SpareSegment; paths: string[]; dropped: string[] } {
  const paths: string[] = [];
  const dropped: string[] = [];
  let n = 0;
  const spare = new SpareSegment(
    SIZE,
    () => {
      const p = join(dir, sub, `seg-${n++}.log`);
      paths.push(p);
      return p;
    },
    (seg: Segment) => {
      dropped.push(seg.path);
      closeQuietly(seg.fd);
      seg.map = null;
      unlinkSync(seg.path);
    },
  );
  return { spare, paths, dropped };
}

describe.skipIf(!canMapFiles())('SpareSegment (the write-ahead log spare)', () => {
  it('prepares one in the background, hands it over once when it is large enough, then prepares the next', async () => {
    const { spare, paths } = spareIn('a');
    spare.prepare();
    spare.prepare(); // one at a time
    await spare.settled();
    expect(paths).toHaveLength(1);
    expect(statSync(paths[0]!).size).toBe(SIZE);
    expect(spare.take(SIZE + 1)).toBeNull();
    const seg = spare.take(SIZE)!;
    expect(seg.path).toBe(paths[0]);
    expect(seg.map!.length).toBe(SIZE);
    expect(spare.take(1)).toBeNull();
    spare.prepare();
    await spare.settled();
    expect(paths).toHaveLength(2);
    closeQuietly(seg.fd);
    spare.close();
  });

  it('keeps a released segment of the usual size, reset, and refuses a second one or another size', () => {
    const { spare } = spareIn('b');
    const used = mappedSegmentSync(join(dir, 'b-used.log'), SIZE);
    used.map![0] = 0x41;
    used.bytes = 100;
    used.touched = 4096;
    expect(spare.keep(used)).toBe(true);
    expect([used.map![0], used.bytes, used.touched]).toEqual([0, 0, 0]);
    const other = mappedSegmentSync(join(dir, 'b-other.log'), SIZE);
    expect(spare.keep(other)).toBe(false);
    expect(spare.take(SIZE)).toBe(used);
    const bigger = mappedSegmentSync(join(dir, 'b-bigger.log'), SIZE * 2);
    expect(spare.keep(bigger)).toBe(false);
    for (const s of [used, other, bigger]) closeQuietly(s.fd);
  });

  it('close removes the ready spare, and one still being prepared once it is made; nothing is kept after', async () => {
    const { spare, paths, dropped } = spareIn('c');
    spare.prepare();
    await spare.settled();
    spare.close();
    expect(dropped).toEqual([paths[0]]);
    expect(existsSync(paths[0]!)).toBe(false);

    const late = spareIn('d');
    late.spare.prepare();
    late.spare.close();
    await late.spare.settled();
    expect(late.dropped).toEqual([late.paths[0]]);
    expect(existsSync(late.paths[0]!)).toBe(false);
    const released = mappedSegmentSync(join(dir, 'd-released.log'), SIZE);
    expect(late.spare.keep(released)).toBe(false);
    closeQuietly(released.fd);
  });
});
