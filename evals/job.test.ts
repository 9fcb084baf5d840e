import { describe, expect, it } from 'vitest';
import { parseJob } from './job.ts';

const base = { name: 'j', dataset: { items: [{ output: 'x' }] }, scorers: ['groundedness'] };

describe('job parsing', () => {
  it('applies defaults and resolves scorer options (the job judge fills judge scorers)', () => {
    const { job, scorers } = parseJob({ ...base, judge: 'openai/gpt-4o-mini', scorers: ['groundedness', { name: 'faithfulness' }, { name: 'contains', as: 'has_ref', value: 'ref' }] });
    expect(job).toMatchObject({ mode: 'offline', concurrency: 4, seed: 42, temperature: 0, targets: [] });
    expect(scorers.map((s) => s.key)).toEqual(['groundedness', 'faithfulness', 'has_ref']);
    expect(scorers[1]!.options).toEqual({ judge: 'openai/gpt-4o-mini' });
  });

  it('names the path of what is wrong', () => {
    expect(() => parseJob({ ...base, scorers: ['faithfulness'] })).toThrow(/scorers\.0\.judge/);
    expect(() => parseJob({ ...base, scorers: [{ name: 'latency', budget: 3 }] })).toThrow(/scorers\.0: unknown key\(s\) "budget"/);
    expect(() => parseJob({ ...base, scorers: ['exact', 'exact'] })).toThrow(/'exact' appears twice/);
    expect(() => parseJob({ ...base, targets: [{ name: 'a', model: 'x/y' }], baseline: 'b' })).toThrow(/baseline: 'b' is not a target/);
    expect(() => parseJob({ ...base, gate: { scorer: 'exact' } })).toThrow(/gate\.scorer/);
    expect(() => parseJob({ ...base, targets: [{ name: 'a', model: 'x/y', prompt: 'bad' }] })).toThrow(/targets\.0\.prompt/);
    expect(() => parseJob({ ...base, colour: 'red' })).toThrow(/unknown key\(s\) "colour"/);
    expect(() => parseJob({ ...base, mode: 'online' })).toThrow(/from_logs/);
    expect(() => parseJob({ ...base, dataset: { from_logs: { sample: 1.5 } } })).toThrow(/dataset/);
  });
});
