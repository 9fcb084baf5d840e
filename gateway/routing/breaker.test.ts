import { describe, expect, it } from 'vitest';
import { CircuitBreakers } from './breaker.ts';

describe('CircuitBreakers', () => {
  const setup = () => {
    let now = 1_000;
    const b = new CircuitBreakers(() => now);
    b.register('p/m', { failures: 3, cooldownMs: 10_000 });
    return { b, advance: (ms: number) => (now += ms) };
  };

  it('opens after N consecutive failures; a success in between resets the count', () => {
    const { b } = setup();
    b.record('p/m', false);
    b.record('p/m', false);
    b.record('p/m', true);
    b.record('p/m', false);
    b.record('p/m', false);
    expect(b.state('p/m')).toBe('closed');
    expect(b.allow('p/m')).toBe(true);
    b.record('p/m', false);
    expect(b.state('p/m')).toBe('open');
    expect(b.allow('p/m')).toBe(false);
  });

  it('half-opens after the cool-down with a single trial; success closes it', () => {
    const { b, advance } = setup();
    for (let i = 0; i < 3; i++) b.record('p/m', false);
    advance(9_999);
    expect(b.allow('p/m')).toBe(false);
    advance(1);
    expect(b.state('p/m')).toBe('half_open');
    expect(b.allow('p/m')).toBe(true);
    expect(b.allow('p/m')).toBe(false); // the trial is out
    b.record('p/m', true);
    expect(b.state('p/m')).toBe('closed');
    expect(b.allow('p/m')).toBe(true);
    expect(b.snapshot()).toEqual([{ target: 'p/m', state: 'closed', consecutive_failures: 0, retry_in_ms: 0 }]);
  });

  it('a failed trial opens it for another cool-down', () => {
    const { b, advance } = setup();
    for (let i = 0; i < 3; i++) b.record('p/m', false);
    advance(10_000);
    expect(b.allow('p/m')).toBe(true);
    b.record('p/m', false);
    expect(b.state('p/m')).toBe('open');
    advance(5_000);
    expect(b.snapshot()[0]).toMatchObject({ state: 'open', retry_in_ms: 5_000, consecutive_failures: 4 });
    advance(5_000);
    expect(b.allow('p/m')).toBe(true);
  });

  it('a trial that never reports back expires after a cool-down', () => {
    const { b, advance } = setup();
    for (let i = 0; i < 3; i++) b.record('p/m', false);
    advance(10_000);
    expect(b.allow('p/m')).toBe(true);
    advance(9_000);
    expect(b.allow('p/m')).toBe(false);
    advance(1_000);
    expect(b.allow('p/m')).toBe(true);
  });

  it('keeps the strictest policy for a target shared by routes; unknown targets are always allowed', () => {
    const { b } = setup();
    b.register('p/m', { failures: 2, cooldownMs: 5_000 });
    b.record('p/m', false);
    b.record('p/m', false);
    expect(b.state('p/m')).toBe('open');
    expect(b.snapshot()[0]!.retry_in_ms).toBe(10_000);
    expect(b.allow('other/x')).toBe(true);
    b.record('other/x', false);
    expect(b.state('other/x')).toBe('closed');
  });
});
