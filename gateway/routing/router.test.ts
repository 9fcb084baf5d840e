import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config/load.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { closeProviders, createProviders, type Providers } from '../providers/registry.ts';
import { Router } from './router.ts';
import { shadowRequest } from './shadow.ts';
import { computeAllocation, type Allocation, type WeightsSource } from './weights.ts';

const opened: Providers[] = [];
afterAll(async () => {
  await Promise.all(opened.map(closeProviders));
});

const RAW = {
  providers: {
    openai: { type: 'openai', api_key: 'sk-test' },
    anthropic: { type: 'anthropic', api_key: 'sk-ant-test' },
    local: { type: 'openai-compatible', base_url: 'http://127.0.0.1:11434/v1' },
  },
  routes: {
    'support-bot': {
      variants: [
        { name: 'control', target: 'openai/gpt-4o-mini', prompt: 'support@production', weight: 90, params: { temperature: 0.2 } },
        { name: 'candidate', target: 'anthropic/claude-haiku-4-5', prompt: 'support@candidate', weight: 10 },
      ],
      shadow: { target: 'local/llama3', sample: 0.25 },
      fallbacks: ['openai/gpt-4o-mini', 'local/llama3'],
      circuit_breaker: { failures: 2, cooldown_ms: 1_000 },
    },
    three: {
      variants: [
        { name: 'a', target: 'openai/a', weight: 40 },
        { name: 'b', target: 'openai/b', weight: 20 },
        { name: 'c', target: 'openai/c', weight: 40 },
      ],
      sticky_by: 'subject',
    },
    pool: {
      variants: [
        {
          name: 'only',
          target: [
            { target: 'openai/x', weight: 3 },
            { target: 'local/y', weight: 1 },
          ],
        },
      ],
      fallbacks: ['anthropic/z'],
      sticky_by: 'none',
      circuit_breaker: { failures: 1, cooldown_ms: 5_000 },
    },
    lif: {
      variants: [{ name: 'only', balance: 'least_in_flight', target: [{ target: 'openai/l1' }, { target: 'local/l2' }, { target: 'anthropic/l3' }] }],
    },
  },
};

function build(opts: { weights?: WeightsSource; now?: () => number } = {}) {
  const config = parseConfig(RAW, {});
  const providers = createProviders(config, { now: Date.now });
  opened.push(providers);
  return new Router({ config, providers, ...opts });
}

/** A deterministic stream of draws. */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const keys = (r: { targets: { key: string }[] }) => r.targets.map((t) => t.key);

describe('Router', () => {
  it('fails at construction naming the key of a target its provider does not serve', () => {
    const config = parseConfig(
      {
        providers: { openai: { type: 'openai', api_key: 'sk-test', models: ['gpt-4o-mini'] } },
        routes: { r: { variants: [{ name: 'a', target: 'openai/gpt-4o-mini' }], fallbacks: ['openai/gpt-5-nope'] } },
      },
      {},
    );
    const providers = createProviders(config, { now: Date.now });
    opened.push(providers);
    expect(() => new Router({ config, providers })).toThrow(ConfigError);
    expect(() => new Router({ config, providers })).toThrow(/^routes\.r\.fallbacks\.0: .*gpt-5-nope/);
  });

  it('knows its routes', () => {
    const router = build();
    expect(router.isRoute('support-bot')).toBe(true);
    expect(router.isRoute('openai/gpt-4o-mini')).toBe(false);
    expect(router.isRoute('__proto__')).toBe(false);
    expect(() => router.route('nope', { random: Math.random })).toThrow(GatewayError);
  });

  it('returns the variant, its prompt and params, and primary-then-fallback targets without duplicates', () => {
    const router = build();
    const decisions = Array.from({ length: 50 }, (_, i) => router.route('support-bot', { subject: `u${i}`, random: draws(0.9) }));
    const control = decisions.find((d) => d.variant === 'control')!;
    const candidate = decisions.find((d) => d.variant === 'candidate')!;
    expect(control).toMatchObject({ route: 'support-bot', sticky: true, shadow: null, prompt: 'support@production', params: { temperature: 0.2 } });
    expect(keys(control)).toEqual(['openai/gpt-4o-mini', 'local/llama3']);
    expect(candidate).toMatchObject({ prompt: 'support@candidate', params: {} });
    expect(keys(candidate)).toEqual(['anthropic/claude-haiku-4-5', 'openai/gpt-4o-mini', 'local/llama3']);
    expect(candidate.targets[0]!.provider.name).toBe('anthropic');
    expect(candidate.targets[0]!.model).toBe('claude-haiku-4-5');
  });

  it('is 100% sticky across two instances over 10,000 subjects, and splits by weight', () => {
    const [a, b] = [build(), build()];
    let candidate = 0;
    for (let i = 0; i < 10_000; i++) {
      const s = `subject-${i}`;
      const x = a.route('support-bot', { subject: s, random: Math.random });
      const y = b.route('support-bot', { user: s, random: Math.random });
      expect(y.variant).toBe(x.variant);
      expect(y.assignment).toBe(x.assignment);
      if (x.variant === 'candidate') candidate++;
    }
    // Binomial(10000, 0.1): sd = 30; 4 sd either way.
    expect(Math.abs(candidate - 1000)).toBeLessThan(120);
  });

  it('picks the subject by sticky_by: header first, then user (user mode only), else a random non-sticky draw', () => {
    const router = build();
    const byHeader = router.route('support-bot', { subject: 'h', user: 'u', random: draws(0.5) });
    const byUser = router.route('support-bot', { user: 'h', random: draws(0.5) });
    expect(byHeader.assignment).toBe(byUser.assignment);
    expect(byHeader.sticky).toBe(true);

    const random = router.route('support-bot', { subject: '', random: draws(0.95, 0.99) });
    expect(random).toMatchObject({ sticky: false, assignment: 0.95, variant: 'candidate' });

    // sticky_by: subject ignores the body's user.
    const three = router.route('three', { user: 'someone', random: draws(0.1) });
    expect(three).toMatchObject({ sticky: false, assignment: 0.1, variant: 'a' });
    expect(router.route('three', { subject: 's', random: draws(0.1) }).sticky).toBe(true);
    // sticky_by: none always draws.
    expect(router.route('pool', { subject: 's', user: 'u', random: draws(0.3) })).toMatchObject({ sticky: false, assignment: 0.3 });
  });

  it('samples shadow traffic from the injected draws', () => {
    const router = build();
    // Draw order: shadow sample (the subject is hashed, so no assignment draw).
    expect(router.route('support-bot', { subject: 's', random: draws(0.2) }).shadow).toMatchObject({ target: { key: 'local/llama3' }, prompt: null });
    expect(router.route('support-bot', { subject: 's', random: draws(0.25) }).shadow).toBeNull();
    let sampled = 0;
    for (let i = 0; i < 4000; i++) if (router.route('support-bot', { subject: `s${i}`, random: Math.random }).shadow) sampled++;
    expect(Math.abs(sampled - 1000)).toBeLessThan(150);
  });

  it('spreads a multi-target variant by weight, then lists the other targets and the fallbacks', () => {
    const router = build();
    expect(keys(router.route('pool', { random: draws(0.5, 0.1) }))).toEqual(['openai/x', 'local/y', 'anthropic/z']);
    expect(keys(router.route('pool', { random: draws(0.5, 0.8) }))).toEqual(['local/y', 'openai/x', 'anthropic/z']);
    let x = 0;
    for (let i = 0; i < 4000; i++) if (router.route('pool', { random: Math.random }).targets[0]!.key === 'openai/x') x++;
    expect(Math.abs(x - 3000)).toBeLessThan(150);
  });

  it('balances least-in-flight with begin/end', () => {
    const router = build();
    const first = router.route('lif', { random: draws(0) }).targets[0]!;
    expect(first.key).toBe('openai/l1');
    router.begin(first);
    const second = router.route('lif', { random: draws(0) }).targets[0]!;
    expect(second.key).toBe('local/l2');
    router.begin(second);
    expect(router.route('lif', { random: draws(0) }).targets[0]!.key).toBe('anthropic/l3');
    router.end(first);
    expect(router.route('lif', { random: draws(0) }).targets[0]!.key).toBe('openai/l1');
    expect(router.inFlight(first)).toBe(0);
    expect(router.inFlight(second)).toBe(1);
  });

  it('skips a target whose breaker is open, tries it again after the cool-down, and never lists nothing', () => {
    let now = 0;
    const router = build({ now: () => now });
    const route = () => keys(router.route('pool', { random: draws(0.5, 0.1) }));
    const [x, y, z] = router.route('pool', { random: draws(0.5, 0.1) }).targets as [never, never, never];
    router.recordOutcome(x, false); // failures: 1 → open
    expect(route()).toEqual(['local/y', 'anthropic/z']);
    expect(router.breakers().find((b) => b.target === 'openai/x')).toMatchObject({ state: 'open', retry_in_ms: 5_000 });
    router.recordOutcome(y, false);
    router.recordOutcome(z, false);
    // Everything open: the primary is still tried rather than failing without a try.
    expect(route()).toEqual(['openai/x']);
    now = 5_000;
    // Half-open: one trial each.
    expect(route()).toEqual(['openai/x', 'local/y', 'anthropic/z']);
    expect(route()).toEqual(['openai/x']);
    router.recordOutcome(x, true);
    expect(route()).toEqual(['openai/x']);
    router.recordOutcome(y, true);
    router.recordOutcome(z, true);
    expect(route()).toEqual(['openai/x', 'local/y', 'anthropic/z']);
  });

  it('follows runtime weights from a weights source; a change moves only the expected subjects', () => {
    let current: Allocation | undefined;
    const source: WeightsSource = { allocation: (name) => (name === 'three' ? current : undefined) };
    const router = build({ weights: source });
    const before = Array.from({ length: 10_000 }, (_, i) => router.route('three', { subject: `s${i}`, random: Math.random }).variant);
    const configured = computeAllocation({ names: ['a', 'b', 'c'], configWeights: [40, 20, 40] });
    expect(router.allocation('three')!.layout).toEqual(configured.layout);
    // Move 20 from a to c: b sits between them, and none of its subjects may move.
    current = computeAllocation({ names: ['a', 'b', 'c'], configWeights: [40, 20, 40], override: { a: 20, b: 20, c: 60 } });
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const after = router.route('three', { subject: `s${i}`, random: Math.random }).variant;
      if (after !== before[i]) {
        expect([before[i], after]).toEqual(['a', 'c']);
        moved++;
      }
    }
    expect(Math.abs(moved - 2000)).toBeLessThan(200);
  });
});

describe('shadowRequest', () => {
  it('copies the body with the shadow target as model, not streamed', () => {
    const router = build();
    const shadow = router.route('support-bot', { subject: 's', random: draws(0) }).shadow!;
    const body = { model: 'support-bot', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } };
    expect(shadowRequest(body, shadow)).toEqual({ model: 'local/llama3', messages: body.messages, stream: false });
    expect(body.stream).toBe(true);
  });
});
