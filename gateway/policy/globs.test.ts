import { describe, expect, it } from 'vitest';
import { allowedBy, globMatches } from './globs.ts';

describe('allow-list globs', () => {
  it('* spans any characters, slashes too; the rest is literal', () => {
    expect(globMatches('openai/*', 'openai/gpt-4o-mini')).toBe(true);
    expect(globMatches('openai/*', 'anthropic/claude')).toBe(false);
    expect(globMatches('*', 'anything/at/all')).toBe(true);
    expect(globMatches('support-bot', 'support-bot')).toBe(true);
    expect(globMatches('support-bot', 'support-bot-2')).toBe(false);
    expect(globMatches('gpt-4o*', 'gpt-4o')).toBe(true);
    expect(globMatches('*-mini', 'openai/gpt-4o-mini')).toBe(true);
    expect(globMatches('a*b*c', 'axxbyyc')).toBe(true);
    expect(globMatches('a*b*c', 'axxbyy')).toBe(false);
    expect(globMatches('gpt.4o', 'gpt-4o')).toBe(false); // '.' is literal
  });

  it('null allows everything; an empty list nothing; any value of several may match', () => {
    expect(allowedBy(null, 'x')).toBe(true);
    expect(allowedBy([], 'x')).toBe(false);
    expect(allowedBy(['openai/*'], 'fast', 'openai/gpt-4o-mini')).toBe(true);
    expect(allowedBy(['openai/*'], 'fast', null)).toBe(false);
  });

  it('a hostile glob against a long name stays quick (no backtracking blow-up)', () => {
    const glob = '*a'.repeat(100);
    const value = 'a'.repeat(399) + 'b';
    expect(globMatches(glob, value)).toBe(false);
  });
});
