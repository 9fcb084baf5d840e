import { describe, expect, it } from 'vitest';
import { ConfigError } from './config/load.ts';
import { parseEnv } from './config/env.ts';

describe('SLUICE_HEAP', () => {
  it('is bounded unless set, and a value it does not know stops the start naming the variable', () => {
    expect(parseEnv({}).SLUICE_HEAP).toBe('bounded');
    expect(parseEnv({ SLUICE_HEAP: 'small' }).SLUICE_HEAP).toBe('small');
    expect(() => parseEnv({ SLUICE_HEAP: 'bogus' })).toThrow(ConfigError);
    expect(() => parseEnv({ SLUICE_HEAP: 'bogus' })).toThrow(/SLUICE_HEAP/);
  });
});
