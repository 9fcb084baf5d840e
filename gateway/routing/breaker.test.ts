import { describe, expect, it } from 'vitest';
import { CircuitBreakers, type BreakerChange } from './breaker.ts';

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

  it('reports each transition once: open, half-open when the trial goes out, open again or closed', () => {
    let now = 0;
    const changes: BreakerChange[] = [];
    const b = new CircuitBreakers(() => now, (c) => void changes.push(c));
    b.register('p/m', { failures: 2, cooldownMs: 100 });
    const seen = () => changes.splice(0).map((c) => `${c.from}>${c.to}`);
    b.record('p/m', true);
    b.record('p/m', false);
    expect(seen()).toEqual([]);
    b.record('p/m', false);
    expect(changes[0]).toEqual({ target: 'p/m', from: 'closed', to: 'open', consecutive_failures: 2 });
    expect(seen()).toEqual(['closed>open']);
    b.record('p/m', false); // a late failure while open only restarts the cool-down
    expect(b.allow('p/m')).toBe(false);
    expect(seen()).toEqual([]);
    now += 100;
    expect(b.allow('p/m')).toBe(true);
    expect(b.allow('p/m')).toBe(false);
    expect(seen()).toEqual(['open>half_open']);
    b.record('p/m', false);
    expect(seen()).toEqual(['half_open>open']);
    now += 100;
    b.allow('p/m');
    b.record('p/m', true);
    expect(seen()).toEqual(['open>half_open', 'half_open>closed']);
  });

  it('a listener that throws never breaks routing', () => {
    const b = new CircuitBreakers(() => 0, () => {
      throw new Error('boom');
    });
    b.register('p/m', { failures: 1, cooldownMs: 100 });
    expect(() => b.record('p/m', false)).not.toThrow();
    expect(b.state('p/m')).toBe('open');
  });
});
