import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../logger.ts';
import { rowObject } from './row-fields.ts';
import { segmentName } from './wal-files.ts';
import { mergeEntries, recoverWal } from './wal-recover.ts';

const id = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;
const row = (n: number, status = 'ok') => `["${id(n)}","${status}"]`;

/** A pid no process can have (Linux pids stay below 2^22). */
const DEAD_PID = 4_194_304;

describe('mergeEntries', () => {
  it('keeps one row per call: its last F, else its O (already `interrupted`)', () => {
    const seg1 = `O${row(1, 'interrupted')}\nF${row(2)}\nO${row(3, 'interrupted')}\n`;
    const seg2 = `F${row(1)}\nF${row(2, 'gateway_error')}\nO${row(1, 'interrupted')}\n`;
    const { rows, interrupted, torn } = mergeEntries([seg1, seg2]);
    expect(rows.sort()).toEqual([row(1), row(2, 'gateway_error'), row(3, 'interrupted')].sort());
    expect(interrupted).toBe(1);
    expect(torn).toBe(0);
  });

  it('skips a torn last line (an OS crash mid-write) and anything that is not an entry', () => {
    const { rows, torn } = mergeEntries([`F${row(1)}\nF["${id(2)}","sta`, `X${row(3)}\n\n`]);
    expect(rows).toEqual([row(1)]);
    expect(torn).toBe(2);
  });

  it("converts an earlier version's object rows, and merges them with this version's by call id", () => {
    const legacy = (n: number, status: string) => `{"id":"${id(n)}","request_id":"r${n}","status":"${status}"}`;
    const { rows, interrupted } = mergeEntries([`O${legacy(1, 'interrupted')}
O${legacy(2, 'interrupted')}
`, `F${row(1)}
`]);
    expect(interrupted).toBe(1);
    expect(rows.map(rowObject)).toEqual([
      expect.objectContaining({ id: id(1) }),
      expect.objectContaining({ id: id(2), request_id: 'r2', status: 'interrupted', route: null }),
    ]);
  });
});

describe('recoverWal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-walrec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const spool = () => {
    const appended: string[][] = [];
    let sealed = 0;
    return {
      appended,
      sealed: () => sealed,
      append: async (lines: readonly string[]) => void appended.push([...lines]),
      seal: async () => void sealed++,
    };
  };

  it("moves a dead process's segments to the spool (sealed) and deletes them", async () => {
    writeFileSync(join(dir, segmentName(1000, 0, DEAD_PID)), `O${row(1, 'interrupted')}\nF${row(2)}\n`);
    writeFileSync(join(dir, segmentName(1000, 1, DEAD_PID)), `F${row(1)}\nO${row(4, 'interrupted')}\n`);
    const s = spool();
    const r = await recoverWal({ dir, own: new Set(), spool: s, logger: silentLogger });
    expect(r).toEqual({ calls: 3, interrupted: 1, torn: 0, segments: 2 });
    expect(s.appended.flat().sort()).toEqual([row(1), row(2), row(4, 'interrupted')].sort());
    expect(s.sealed()).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("leaves a live process's segments and its own alone; recovers an earlier run with its pid", async () => {
    const live = segmentName(1000, 0, process.ppid);
    const own = join(dir, segmentName(2000, 0));
    const earlier = segmentName(500, 0);
    writeFileSync(join(dir, live), `F${row(1)}\n`);
    writeFileSync(own, `F${row(2)}\n`);
    writeFileSync(join(dir, earlier), `F${row(3)}\n`);
    writeFileSync(join(dir, 'calls-1-2-3.jsonl'), `${row(9)}\n`);
    const s = spool();
    const r = await recoverWal({ dir, own: new Set([own]), spool: s, logger: silentLogger });
    expect(r?.calls).toBe(1);
    expect(s.appended).toEqual([[row(3)]]);
    expect(readdirSync(dir).sort()).toEqual(['calls-1-2-3.jsonl', live, segmentName(2000, 0)].sort());
  });

  it("leaves a dead process's segments in a row format it does not read, and says so; reads an earlier version's untagged ones", async () => {
    const later = `wal-1000-${DEAD_PID}-0.r9.log`;
    const untagged = `wal-1000-${DEAD_PID}-1.log`;
    writeFileSync(join(dir, later), `F${row(1)}\n`);
    writeFileSync(join(dir, untagged), `F${row(2)}\n`);
    const s = spool();
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const r = await recoverWal({ dir, own: new Set(), spool: s, logger });
    expect(r).toMatchObject({ calls: 1, segments: 1 });
    expect(s.appended).toEqual([[row(2)]]);
    expect(readdirSync(dir)).toEqual([later]);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('row format this version does not read'), { segments: [join(dir, later)] });
  });

  it('does nothing without a directory or segments', async () => {
    const s = spool();
    expect(await recoverWal({ dir: join(dir, 'none'), own: new Set(), spool: s, logger: silentLogger })).toMatchObject({ calls: 0 });
    expect(s.sealed()).toBe(0);
  });
});
