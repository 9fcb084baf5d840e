import { describe, expect, it } from 'vitest';
import { threadExecArgv } from './pglite-host.ts';

describe('threadExecArgv: the PGlite thread registers tsx itself, once', () => {
  it('drops --import tsx in both spellings and keeps every other flag', () => {
    expect(threadExecArgv(['--import', 'tsx', '--cpu-prof', '--import=tsx/esm', '--max-old-space-size=512'])).toEqual(['--cpu-prof', '--max-old-space-size=512']);
  });

  it('keeps other --import preloads, and a module merely named like tsx', () => {
    expect(threadExecArgv(['--import', './probe.mjs', '--import', 'tsx-like', '--import=./x.mjs'])).toEqual(['--import', './probe.mjs', '--import', 'tsx-like', '--import=./x.mjs']);
  });
});
