import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * A process that builds and drops three buffers per "batch", as the driver does, with the
 * collections that free them; what counts is its page faults per batch after warming up. The
 * buffers are 2 MB, not a batch's ~600 kB: glibc may already have raised its thresholds past
 * 600 kB by itself while the process started (a module read, a transform), not past 2 MB.
 */
const SCRIPT = `
import { readFileSync } from 'node:fs';
const { warmAllocator } = await import(process.argv[1]);
const faults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
if (process.argv[2] === 'warm') warmAllocator();
globalThis.gc();
const batch = () => { for (let k = 0; k < 3; k++) Buffer.allocUnsafe(2 * 1024 * 1024).fill(k); };
for (let i = 0; i < 20; i++) { batch(); globalThis.gc(); }
const before = faults();
for (let i = 0; i < 50; i++) { batch(); globalThis.gc(); }
process.stdout.write(String((faults() - before) / 50));
`;

function faultsPerBatch(mode: 'warm' | 'cold'): number {
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', SCRIPT, new URL('./allocator-warmup.ts', import.meta.url).href, mode], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '--import tsx' },
  });
  return Number(out);
}

// Linux with glibc: what the warm-up is for (another C library keeps its own ways).
const glibc = existsSync('/proc/self/stat') && (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;

describe.skipIf(!glibc)('warmAllocator', () => {
  it('keeps large buffers on pages already mapped: a batch of them no longer faults its memory in afresh', () => {
    const cold = faultsPerBatch('cold');
    const warm = faultsPerBatch('warm');
    // Cold: each buffer is a fresh mapping of 512 pages; 950–1,130 faults a batch seen. Warm: 0–5.
    expect(cold).toBeGreaterThan(500);
    expect(warm).toBeLessThan(cold / 10);
  }, 60_000);
});
