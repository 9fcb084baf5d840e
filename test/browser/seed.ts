import OpenAI from 'openai';
import type { FakeProvider } from '../helpers/fake-provider.ts';

/** Seeds a running gateway through its public APIs only (the admin API and the OpenAI SDK). */
export interface Seeded {
  appKeyId: string;
  callIds: string[];
  incidentId: string;
  evalRunId: string;
}

export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

export type Api = (method: string, path: string, body?: unknown) => Promise<any>;

export function adminApi(url: string, key: string): Api {
  return async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = await res.json();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function seed(api: Api, url: string, fake: FakeProvider): Promise<Seeded> {
  await api('POST', '/api/teams', { name: 'ui-support-team', budget: { usd: 50, period: 'month' } });
  const appKey = await api('POST', '/api/keys', { name: 'ui-test-app', team: 'ui-support-team', budget: { usd: 10, period: 'month' }, rate_limits: { rpm: 600 } });

  await api('POST', '/api/prompts', { name: 'ui-greeter', description: 'Greets a customer' });
  await api('POST', '/api/prompts/ui-greeter/versions', { messages: [{ role: 'system', content: 'Say hello to {{name}}.' }], message: 'first' });
  await api('POST', '/api/prompts/ui-greeter/versions', { messages: [{ role: 'system', content: 'Say hello warmly to {{name}}.' }], message: 'warmer' });
  await api('PUT', '/api/prompts/ui-greeter/labels/production', { version: 1 });
  await api('PUT', '/api/prompts/ui-greeter/labels/staging', { version: 1 });

  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: appKey.key, maxRetries: 0 });
  const callIds: string[] = [];
  for (let i = 0; i < 6; i++) {
    const { response } = await openai.chat.completions
      .create(
        { model: 'ui-support', messages: [{ role: 'user', content: `question number ${i}` }], user: 'ui-user-1' },
        // The first call continues a caller's trace: its record keeps the trace id.
        i === 0 ? { headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` } } : {},
      )
      .withResponse();
    callIds.push(response.headers.get('x-sluice-call-id')!);
  }
  // Three upstream failures: errors in the overview, and the error-rate monitor opens an incident.
  for (let i = 0; i < 3; i++) {
    fake.enqueue({ status: 500 });
    await openai.chat.completions.create({ model: 'ui-support', messages: [{ role: 'user', content: 'this one fails' }] }).catch(() => undefined);
  }
  await until('the calls to be logged', async () => ((await api('GET', '/api/calls?limit=50')).data.length >= 9 ? true : undefined));
  for (const [i, id] of callIds.slice(0, 4).entries()) {
    await api('POST', '/api/feedback', { call_id: id, scorer: 'helpfulness', score: 0.5 + i * 0.1, label: 'good', comment: 'answered the question' });
  }

  await api('PUT', '/api/routes/ui-support/rollout', {
    variant: 'b',
    steps: [10, 50, 100],
    step_seconds: 3600,
    min_samples: 1000,
    confidence: 0.95,
    guards: [{ metric: 'error_rate', max_increase: 0.05 }],
  });

  await api('PUT', '/api/prompts/ui-greeter/labels/staging/rollout', {
    version: 2,
    steps: [10, 100],
    step_seconds: 3600,
    min_samples: 1000,
    confidence: 0.95,
    guards: [{ metric: 'error_rate', max_increase: 0.05 }],
  });

  const run = await api('POST', '/api/evals/runs', {
    job: {
      name: 'ui-refund-check',
      dataset: { name: 'ui-refunds', items: [{ id: 'refund-1', input: 'refund?', output: 'Your refund is on its way.' }, { id: 'refund-2', input: 'hi', output: 'Hello there.' }] },
      scorers: [{ name: 'contains', as: 'mentions_refund', value: 'refund' }],
    },
  });
  await until('the eval run to finish', async () => {
    const r = await api('GET', `/api/evals/runs/${run.id}`);
    return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
  }, 30_000);

  const incident = await until('an open incident', async () => (await api('GET', '/api/incidents?status=open')).data[0]);
  return { appKeyId: appKey.id, callIds, incidentId: incident.id, evalRunId: run.id };
}
