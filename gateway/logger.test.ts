import { describe, expect, it } from 'vitest';
import { censorSecrets, createJsonLogger, type LogLevel } from './logger.ts';

const capture = (level?: LogLevel) => {
  const lines: string[] = [];
  const logger = createJsonLogger({ level, destination: (line) => void lines.push(line) });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
};

describe('createJsonLogger', () => {
  it('writes one JSON object per line: ISO time, level by name, msg, then the fields', () => {
    const { logger, lines, parsed } = capture();
    logger.info('call', { call_id: 'c1', latency_ms: 12.5 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.trimEnd()).not.toContain('\n');
    const [line] = parsed();
    expect(line).toMatchObject({ level: 'info', msg: 'call', call_id: 'c1', latency_ms: 12.5 });
    expect(new Date(String(line!.time)).toISOString()).toBe(line!.time);
  });

  it('drops lines below LOG_LEVEL (info by default) and writes nothing when silent', () => {
    const byDefault = capture();
    byDefault.logger.info('a');
    byDefault.logger.warn('b');
    byDefault.logger.error('c');
    expect(byDefault.parsed().map((l) => l.level)).toEqual(['info', 'warn', 'error']);

    const warnOnly = capture('warn');
    warnOnly.logger.info('a');
    warnOnly.logger.warn('b');
    warnOnly.logger.error('c');
    expect(warnOnly.parsed().map((l) => l.msg)).toEqual(['b', 'c']);

    const silent = capture('silent');
    silent.logger.error('c');
    expect(silent.lines).toEqual([]);
  });

  it('still takes just a line callback, as callers did before pino', () => {
    const lines: string[] = [];
    createJsonLogger((l) => void lines.push(l)).warn('w', { n: 1 });
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: 'w', n: 1 });
  });

  it('censors credential-named fields whoever logs them', () => {
    const { logger, lines } = capture();
    logger.error('oops', { authorization: 'Bearer sk-live-1', api_key: 'sk-live-2', upstream: { headers: { 'x-api-key': 'sk-live-3' }, apiKey: 'sk-live-4' } });
    const text = lines.join('');
    for (const secret of ['sk-live-1', 'sk-live-2', 'sk-live-3', 'sk-live-4']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it('censors without touching the caller\'s object, and copies nothing when there is nothing to censor', () => {
    const clean = { call_id: 'c1', upstream: { status: 200 } };
    expect(censorSecrets(clean)).toBe(clean);
    const dirty = { key: 'sk-1', upstream: { headers: { a: 1 }, status: 500 } };
    const out = censorSecrets(dirty);
    expect(out).toEqual({ key: '[redacted]', upstream: { headers: '[redacted]', status: 500 } });
    expect(dirty).toEqual({ key: 'sk-1', upstream: { headers: { a: 1 }, status: 500 } });
  });
});
