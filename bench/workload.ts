/**
 * What the load generator sends. Every target gets byte-identical requests (the fake upstream
 * ignores the gateway's key and the `up/` model prefix), so differences are the proxy's own.
 */
import type { LoadJob } from './protocol.ts';
import { ADMIN_KEY } from './targets.ts';

export const MODEL = 'up/gpt-4o-mini';
const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant.' },
  { role: 'user', content: 'Say hello in five words.' },
];

export type ScenarioKey = 'json-1' | 'json-50' | 'stream-1' | 'cache-50';

export interface Scenario {
  key: ScenarioKey;
  label: string;
  connections: number;
  stream: boolean;
  cache: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  { key: 'json-1', label: 'non-stream, 1 conn', connections: 1, stream: false, cache: false },
  { key: 'json-50', label: 'non-stream, 50 conns', connections: 50, stream: false, cache: false },
  { key: 'stream-1', label: 'stream, 1 conn', connections: 1, stream: true, cache: false },
];

/** Gateway only, and only once the gateway answers `x-sluice-cache: hit`. */
export const CACHE_SCENARIO: Scenario = { key: 'cache-50', label: 'cache hit, 50 conns', connections: 50, stream: false, cache: true };

export function requestFor(s: Pick<Scenario, 'stream' | 'cache'>): { headers: Record<string, string>; body: string } {
  const body: Record<string, unknown> = { model: MODEL, messages: MESSAGES };
  if (s.stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  if (s.cache) body.temperature = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` };
  if (s.cache) headers['x-sluice-cache'] = 'default';
  return { headers, body: JSON.stringify(body) };
}

export function jobFor(origin: string, s: Scenario, timing: { warmupMs: number; durationMs: number; windowMs?: number }): Omit<LoadJob, 'id'> {
  return {
    origin,
    path: '/v1/chat/completions',
    ...requestFor(s),
    connections: s.connections,
    stream: s.stream,
    warmupMs: timing.warmupMs,
    durationMs: timing.durationMs,
    ...(timing.windowMs === undefined ? {} : { windowMs: timing.windowMs }),
  };
}
