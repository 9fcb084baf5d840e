import { describe, expect, it } from 'vitest';
import { parsePrometheusText, valueOf, labelsOf } from '../../test/helpers/prom-text.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { CallEvents } from '../calls/call-events.ts';
import { parseConfig } from '../config/load.ts';
import { RejectionCounters } from '../http/rejections.ts';
import { attemptOutcome, Metrics, operationName, type MetricsOptions } from './metrics.ts';

const config = parseConfig(
  {
    providers: { openai: { type: 'openai', api_key: 'sk-x', models: ['gpt-4o-mini'] }, anthropic: { type: 'anthropic', api_key: 'sk-y' } },
    models: { fast: 'anthropic/claude-haiku-4-5' },
    routes: {
      'support-bot': {
        variants: [{ name: 'control', target: 'openai/gpt-4o' }],
        fallbacks: ['anthropic/claude-sonnet-4-6'],
      },
    },
  },
  {},
);

function setup(extra: Partial<MetricsOptions> = {}) {
  const events = new CallEvents((err) => {
    throw err;
  });
  const rejections = new RejectionCounters();
  const metrics = new Metrics({ config, events, rejections, processMetrics: false, ...extra });
  const emit = (overrides: Parameters<typeof sampleRecord>[0]) => events.emit({ record: sampleRecord(overrides), shadow: null });
  const scrape = async () => parsePrometheusText(await metrics.scrape());
  return { events, rejections, metrics, emit, scrape };
}

describe('Metrics', () => {
  it('names the OTel operation of each endpoint', () => {
    expect(operationName('chat.completions')).toBe('chat');
    expect(operationName('messages')).toBe('chat');
    expect(operationName('responses')).toBe('chat');
    expect(operationName('embeddings')).toBe('embeddings');
  });

  it('classes attempts as ok, timeout or error', () => {
    const base = { provider: 'openai', model: 'm', latencyMs: 1 };
    expect(attemptOutcome({ ...base, status: 200, error: null })).toBe('ok');
    expect(attemptOutcome({ ...base, status: null, error: 'upstream_timeout' })).toBe('timeout');
    expect(attemptOutcome({ ...base, status: 500, error: 'upstream_error' })).toBe('error');
  });

  it('observes a finished call from its record', async () => {
    const { emit, scrape } = setup();
    emit({ costMicros: 2_500, cacheStatus: 'miss', overheadMs: 3, stream: true, ttftMs: 120 });
    const exp = await scrape();
    expect(valueOf(exp, 'sluice_requests_total', { endpoint: 'chat.completions', route: 'support-bot', variant: 'control', provider: 'openai', model: 'gpt-4o-mini', status: 'ok' })).toBe(1);
    const genAi = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-4o-mini' };
    expect(valueOf(exp, 'gen_ai_client_token_usage_sum', { ...genAi, gen_ai_token_type: 'input' })).toBe(120);
    expect(valueOf(exp, 'gen_ai_client_token_usage_sum', { ...genAi, gen_ai_token_type: 'output' })).toBe(48);
    expect(valueOf(exp, 'gen_ai_client_operation_duration_seconds_count', genAi)).toBe(1);
    expect(valueOf(exp, 'gen_ai_client_operation_duration_seconds_sum', genAi)).toBeCloseTo(0.41525);
    expect(valueOf(exp, 'sluice_cost_usd_total', { route: 'support-bot', provider: 'openai', model: 'gpt-4o-mini' })).toBeCloseTo(0.0025);
    expect(valueOf(exp, 'sluice_cache_requests_total', { result: 'miss' })).toBe(1);
    expect(valueOf(exp, 'sluice_route_cache_requests_total', { route: 'support-bot', result: 'miss' })).toBe(1);
    expect(valueOf(exp, 'sluice_route_duration_seconds_count', { route: 'support-bot', variant: 'control' })).toBe(1);
    expect(valueOf(exp, 'sluice_route_duration_seconds_sum', { route: 'support-bot', variant: 'control' })).toBeCloseTo(0.41525);
    expect(valueOf(exp, 'sluice_upstream_attempts_total', { provider: 'openai', outcome: 'ok' })).toBe(1);
    expect(valueOf(exp, 'sluice_overhead_seconds_count')).toBe(1);
    expect(valueOf(exp, 'sluice_time_to_first_token_seconds_sum')).toBeCloseTo(0.12);
    expect(exp.types.get('gen_ai_client_token_usage')).toBe('histogram');
  });

  it('uses the OTel token buckets, powers of 4 up to 67108864', async () => {
    const { emit, scrape } = setup();
    emit({});
    const les = labelsOf(await scrape(), 'gen_ai_client_token_usage_bucket')
      .filter((l) => l['gen_ai_token_type'] === 'input')
      .map((l) => l['le']);
    expect(les).toEqual([...Array.from({ length: 14 }, (_, i) => String(4 ** i)), '+Inf']);
  });

  it('bounds labels: a model, route or provider config does not name is `other`', async () => {
    const { emit, scrape } = setup();
    emit({ model: 'made-up-model', route: 'no-such-route', variant: 'nope', provider: 'stranger', attempts: [] });
    emit({ model: 'claude-haiku-4-5', provider: 'anthropic', route: null, variant: null, attempts: [] });
    emit({ model: 'claude-sonnet-4-6', provider: 'anthropic', route: null, variant: null, attempts: [] });
    const exp = await scrape();
    expect(labelsOf(exp, 'sluice_requests_total').map((l) => [l['model'], l['route'], l['variant'], l['provider']])).toEqual([
      ['other', 'other', 'other', 'other'],
      ['claude-haiku-4-5', '', '', 'anthropic'],
      ['claude-sonnet-4-6', '', '', 'anthropic'],
    ]);
  });

  it('counts cache hits without their replayed tokens, and no bypasses', async () => {
    const { emit, scrape } = setup();
    emit({ cacheStatus: 'hit', attempts: [] });
    emit({ cacheStatus: 'bypass' });
    const exp = await scrape();
    expect(valueOf(exp, 'sluice_cache_requests_total', { result: 'hit' })).toBe(1);
    expect(labelsOf(exp, 'sluice_cache_requests_total')).toEqual([{ result: 'hit' }]);
    expect(valueOf(exp, 'gen_ai_client_token_usage_count', { gen_ai_token_type: 'input' })).toBe(1);
  });

  it('reads the call log, rejections and incidents when scraped', async () => {
    let open = 2;
    const stats = { queued: 7, queuedBytes: 0, spillingBytes: 0, written: 40, spooled: 3, replayed: 2, dropped: 1, failedBatches: 0, lastError: null };
    const { rejections, scrape } = setup({ callLogStats: () => stats, incidentsOpen: async () => open });
    rejections.count('missing_api_key', false);
    rejections.count('service_unavailable', false);
    let exp = await scrape();
    expect(valueOf(exp, 'sluice_call_log_queue_depth')).toBe(7);
    expect(valueOf(exp, 'sluice_call_log_records_total', { outcome: 'written' })).toBe(40);
    expect(valueOf(exp, 'sluice_call_log_records_total', { outcome: 'dropped' })).toBe(1);
    expect(valueOf(exp, 'sluice_rejections_total', { reason: 'unauthenticated' })).toBe(1);
    expect(valueOf(exp, 'sluice_rejections_total', { reason: 'auth_unavailable' })).toBe(1);
    expect(valueOf(exp, 'sluice_incidents_open')).toBe(2);
    stats.written = 41;
    open = 0;
    exp = await scrape();
    expect(valueOf(exp, 'sluice_call_log_records_total', { outcome: 'written' })).toBe(41);
    expect(valueOf(exp, 'sluice_incidents_open')).toBe(0);
  });

  it('reports zeros for a disabled call log and without an incidents hook', async () => {
    const { scrape } = setup({ callLogStats: () => ({ enabled: false }) });
    const exp = await scrape();
    expect(valueOf(exp, 'sluice_call_log_queue_depth')).toBe(0);
    expect(valueOf(exp, 'sluice_call_log_records_total')).toBe(0);
    expect(exp.types.get('sluice_incidents_open')).toBe('gauge');
  });

  it('keeps registries apart, and adds process metrics when asked', async () => {
    const a = setup({ processMetrics: true });
    const b = setup({ processMetrics: true });
    a.emit({});
    expect(valueOf(await b.scrape(), 'sluice_requests_total')).toBe(0);
    const exp = await a.scrape();
    expect(valueOf(exp, 'sluice_requests_total')).toBe(1);
    expect(exp.types.has('process_resident_memory_bytes')).toBe(true);
    expect(exp.types.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('stops observing once stopped', async () => {
    const { emit, metrics, scrape } = setup();
    metrics.stop();
    emit({});
    expect(valueOf(await scrape(), 'sluice_requests_total')).toBe(0);
  });
});
