/** How the dashboard reaches the gateway's admin API: in-process, e.g. `(p, init) => app.request(p, init)`. */
export type ApiFetch = (path: string, init: RequestInit) => Response | Promise<Response>;

export interface ApiResult<T> {
  ok: boolean;
  status: number;
  body: T;
  /** The API's error message for a non-2xx answer. */
  error: string | null;
}

/**
 * The admin API as the signed-in operator: every read and change goes through the public
 * HTTP contract with the session's key, so the dashboard depends on nothing else.
 */
export class ApiClient {
  constructor(
    private readonly fetchApi: ApiFetch,
    private readonly key: string,
  ) {}

  get<T>(path: string, query?: Record<string, string | undefined>): Promise<ApiResult<T>> {
    return this.send<T>('GET', withQuery(path, query));
  }

  send<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return call<T>(this.fetchApi, path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  }
}

export function withQuery(path: string, query?: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') params.set(k, v);
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function call<T>(fetchApi: ApiFetch, path: string, init: RequestInit): Promise<ApiResult<T>> {
  const res = await fetchApi(path, init);
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const error = res.ok ? null : (errorMessage(body) ?? `HTTP ${res.status}`);
  return { ok: res.ok, status: res.status, body: body as T, error };
}

function errorMessage(body: unknown): string | null {
  if (body && typeof body === 'object' && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (e && typeof e === 'object' && 'message' in e && typeof e.message === 'string') return e.message;
  }
  return null;
}
