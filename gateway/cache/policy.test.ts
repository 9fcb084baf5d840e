import { describe, expect, it } from 'vitest';
import { cacheDefaultsSchema, routeCacheSchema, type RouteCacheConfig } from '../config/routes-schema.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { cacheScope, resolveCachePolicy } from './policy.ts';

const defaults = cacheDefaultsSchema.parse({ ttl: 600 });
const headers = (h: Record<string, string>) => (name: string) => h[name];
const route = (cache: Partial<RouteCacheConfig>): RouteCacheConfig => routeCacheSchema.parse(cache);

describe('resolveCachePolicy', () => {
  // [route mode, header] → [read, write]
  const table: Array<[RouteCacheConfig['mode'], string, boolean, boolean]> = [
    ['on', 'default', true, true],
    ['on', 'no-cache', false, true],
    ['on', 'refresh', false, true],
    ['on', 'no-store', false, false],
    ['off', 'default', false, false],
    ['off', 'no-cache', false, false],
    ['off', 'refresh', false, false],
    ['off', 'no-store', false, false],
    ['read_only', 'default', true, false],
    ['read_only', 'no-cache', false, false],
    ['read_only', 'refresh', false, false],
    ['read_only', 'no-store', false, false],
    ['write_only', 'default', false, true],
    ['write_only', 'no-cache', false, true],
    ['write_only', 'refresh', false, true],
    ['write_only', 'no-store', false, false],
  ];
  it.each(table)('route mode %s with x-sluice-cache: %s → read %s, write %s', (mode, header, read, write) => {
    const policy = resolveCachePolicy({ route: route({ mode }), defaults, request: { temperature: 1 }, header: headers({ 'x-sluice-cache': header }) });
    expect({ read: policy.read, write: policy.write }).toEqual({ read, write });
    expect(policy.status).toBe(read ? 'miss' : 'bypass');
  });

  it('without a route, follows the default: auto caches temperature 0 or seeded requests only', () => {
    const auto = (request: Record<string, unknown>, h: Record<string, string> = {}) =>
      resolveCachePolicy({ defaults, request, header: headers(h) });
    expect(auto({ temperature: 0 })).toMatchObject({ read: true, write: true, status: 'miss', scope: 'global' });
    expect(auto({ seed: 3 })).toMatchObject({ read: true, write: true });
    expect(auto({ temperature: 0.2 })).toMatchObject({ read: false, write: false, status: 'bypass' });
    expect(auto({ temperature: 0 }, { 'x-sluice-cache': 'no-cache' })).toMatchObject({ read: false, write: true });
    expect(auto({ temperature: 0 }, { 'x-sluice-cache': 'no-store' })).toMatchObject({ read: false, write: false });
    const on = cacheDefaultsSchema.parse({ default: 'on' });
    const off = cacheDefaultsSchema.parse({ default: 'off' });
    expect(resolveCachePolicy({ defaults: on, request: { temperature: 1 }, header: headers({}) })).toMatchObject({ read: true, write: true });
    expect(resolveCachePolicy({ defaults: off, request: { temperature: 0 }, header: headers({}) })).toMatchObject({ read: false, write: false });
  });

  it('a route in mode on caches whatever the temperature', () => {
    const policy = resolveCachePolicy({ route: route({ mode: 'on' }), defaults, request: { temperature: 1.2 }, header: headers({}) });
    expect(policy).toMatchObject({ read: true, write: true, scope: 'route' });
  });

  it('takes the TTL from the header, then the route, then the defaults', () => {
    const r = route({ mode: 'on', ttl: 60 });
    expect(resolveCachePolicy({ route: r, defaults, request: {}, header: headers({ 'x-sluice-cache-ttl': ' 5 ' }) }).ttlSeconds).toBe(5);
    expect(resolveCachePolicy({ route: r, defaults, request: {}, header: headers({}) }).ttlSeconds).toBe(60);
    expect(resolveCachePolicy({ route: route({ mode: 'on' }), defaults, request: {}, header: headers({}) }).ttlSeconds).toBe(600);
  });

  it('accepts header values in any case', () => {
    const policy = resolveCachePolicy({ route: route({ mode: 'on' }), defaults, request: {}, header: headers({ 'x-sluice-cache': 'No-Store' }) });
    expect(policy.write).toBe(false);
  });

  it.each([
    ['x-sluice-cache', 'sometimes'],
    ['x-sluice-cache', ''],
    ['x-sluice-cache-ttl', '0'],
    ['x-sluice-cache-ttl', '-5'],
    ['x-sluice-cache-ttl', '1.5'],
    ['x-sluice-cache-ttl', 'soon'],
    ['x-sluice-cache-ttl', '99999999999999'],
  ])('rejects %s: %j with a 400 naming the header (even when the cache is off)', (name, value) => {
    let thrown: unknown;
    try {
      resolveCachePolicy({ route: route({ mode: 'off' }), defaults, request: {}, header: headers({ [name]: value }) });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    const err = thrown as GatewayError;
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.param).toBe(name);
    expect(err.message).toContain(name);
  });

  it('carries the semantic settings of the route', () => {
    const policy = resolveCachePolicy({
      route: route({ mode: 'on', semantic: { embeddings: 'openai/text-embedding-3-small', threshold: 0.9 } }),
      defaults,
      request: {},
      header: headers({}),
    });
    expect(policy.semantic).toEqual({ embeddings: 'openai/text-embedding-3-small', threshold: 0.9 });
  });
});

describe('cacheScope', () => {
  it('maps the configured scope to a key scope', () => {
    expect(cacheScope({ scope: 'global' }, { route: 'r', keyId: 'k' })).toBeUndefined();
    expect(cacheScope({ scope: 'route' }, { route: 'r', keyId: 'k' })).toBe('route:r');
    expect(cacheScope({ scope: 'route' }, {})).toBeUndefined();
    expect(cacheScope({ scope: 'key' }, { route: 'r', keyId: 'k' })).toBe('key:k');
    expect(cacheScope({ scope: 'key' }, { keyId: null })).toBe('key:-');
  });
});
