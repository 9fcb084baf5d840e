import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';
import { ConfigError } from './load.ts';

const failure = (vars: Record<string, string>): ConfigError => {
  try {
    parseEnv(vars);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('parseEnv accepted it');
};

describe('parseEnv', () => {
  it('fills the defaults the README lists, and keeps the raw variables for config interpolation', () => {
    const vars = { OPENAI_API_KEY: 'sk-x' };
    const env = parseEnv(vars);
    expect(env).toMatchObject({ PORT: 8400, HOST: '127.0.0.1', SLUICE_DATA_DIR: './.sluice' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.SLUICE_ADMIN_KEY).toBeUndefined();
    expect(env.vars).toBe(vars);
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('reads SLUICE_METRICS_PUBLIC as a flag, off by default', () => {
    expect(parseEnv({}).SLUICE_METRICS_PUBLIC).toBe(false);
    expect(parseEnv({ SLUICE_METRICS_PUBLIC: '1' }).SLUICE_METRICS_PUBLIC).toBe(true);
    expect(parseEnv({ SLUICE_METRICS_PUBLIC: '0' }).SLUICE_METRICS_PUBLIC).toBe(false);
    expect(failure({ SLUICE_METRICS_PUBLIC: 'yes' }).message).toContain('SLUICE_METRICS_PUBLIC');
  });

  it('reads SLUICE_METRICS as a flag, on by default', () => {
    expect(parseEnv({}).SLUICE_METRICS).toBe(true);
    expect(parseEnv({ SLUICE_METRICS: '0' }).SLUICE_METRICS).toBe(false);
    expect(parseEnv({ SLUICE_METRICS: 'false' }).SLUICE_METRICS).toBe(false);
    expect(failure({ SLUICE_METRICS: 'off' }).message).toContain('SLUICE_METRICS');
  });

  it('reads LOG_LEVEL, info by default, and names it when it is not a level', () => {
    expect(parseEnv({}).LOG_LEVEL).toBe('info');
    expect(parseEnv({ LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
    expect(parseEnv({ LOG_LEVEL: 'debug' }).LOG_LEVEL).toBe('debug');
    expect(failure({ LOG_LEVEL: 'loud' }).message).toMatch(/LOG_LEVEL: must be one of trace, debug, info/);
  });

  it('reads an empty variable as unset, as a shell `VAR=` means', () => {
    const env = parseEnv({ PORT: '', HOST: '', DATABASE_URL: '', SLUICE_DATA_DIR: '', SLUICE_ADMIN_KEY: '', REDIS_URL: '' });
    expect(env).toMatchObject({ PORT: 8400, HOST: '127.0.0.1', SLUICE_DATA_DIR: './.sluice' });
    expect([env.DATABASE_URL, env.SLUICE_ADMIN_KEY, env.REDIS_URL]).toEqual([undefined, undefined, undefined]);
  });

  it('parses what is set', () => {
    const env = parseEnv({
      PORT: '0',
      HOST: '::',
      DATABASE_URL: 'postgresql://u@db:5432/sluice',
      SLUICE_DATA_DIR: '/var/lib/sluice',
      SLUICE_CONFIG: 'sluice.config.yaml',
      REDIS_URL: 'rediss://cache:6380',
      SLUICE_EVAL_SCHEDULES: 'schedules.yaml',
    });
    expect(env).toMatchObject({ PORT: 0, HOST: '::', DATABASE_URL: 'postgresql://u@db:5432/sluice', SLUICE_DATA_DIR: '/var/lib/sluice', REDIS_URL: 'rediss://cache:6380' });
    expect(parseEnv({ PORT: '65535', REDIS_URL: '/run/redis.sock' })).toMatchObject({ PORT: 65_535, REDIS_URL: '/run/redis.sock' });
  });

  it('refuses a PORT that is not a port, naming the variable and the value', () => {
    for (const port of ['abc', '65536', '-1', '80 ', '8e3', '0x50', '1'.repeat(200)]) {
      const err = failure({ PORT: port });
      expect(err.message).toMatch(/^invalid environment: PORT: .* is not a port: give an integer from 0 to 65535$/);
      expect(err.message.length).toBeLessThan(200);
    }
    expect(failure({ PORT: 'abc' }).message).toContain('"abc"');
  });

  it('refuses URLs of the wrong kind without echoing them (a database URL carries its password)', () => {
    const err = failure({ DATABASE_URL: 'mysql://root:hunter2@db/sluice', REDIS_URL: 'http://cache' });
    expect(err.message).toBe(
      'invalid environment: DATABASE_URL: must be a postgres:// (or postgresql://) URL; REDIS_URL: must be a redis:// or rediss:// URL (or a socket path)',
    );
    expect(err.message).not.toContain('hunter2');
  });
});
