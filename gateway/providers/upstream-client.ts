import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { GatewayError } from '../errors/gateway-error.ts';
import { scrubSecrets } from './scrub-secrets.ts';
import { failureFromResponse } from './upstream-failure.ts';

export interface UpstreamTimeouts {
  connect_ms: number;
  first_byte_ms: number;
  total_ms: number;
}

export interface UpstreamClientOptions {
  provider: string;
  baseUrl: string;
  headers: Readonly<Record<string, string>>;
  timeouts: UpstreamTimeouts;
  connections?: number | undefined;
  /** Values that must never leave the gateway (the provider key, credential headers). */
  secrets: readonly string[];
}

/**
 * The abort reason of the total timer. undici destroys a body that is still arriving with the
 * signal's reason, so a read after send() returned can tell the total timeout by this class.
 */
class TotalTimeoutError extends Error {
  constructor() {
    super('total timeout');
    this.name = 'TotalTimeoutError';
  }
}

export interface UpstreamResponse {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  body: Dispatcher.ResponseData['body'];
}

/**
 * HTTP to one provider over a keep-alive undici Agent. Node's global fetch (web streams) costs
 * several times more per request (DESIGN §7), so the hot path stays on Dispatcher.request.
 */
export class UpstreamClient {
  private readonly agent: Agent;
  private readonly origin: string;
  private readonly pathPrefix: string;
  private readonly opts: UpstreamClientOptions;

  constructor(opts: UpstreamClientOptions) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.opts = opts;
    this.agent = new Agent({
      connect: { timeout: opts.timeouts.connect_ms },
      headersTimeout: opts.timeouts.first_byte_ms,
      bodyTimeout: opts.timeouts.first_byte_ms,
      keepAliveTimeout: 30_000,
      connections: opts.connections ?? 128,
      pipelining: 1,
    });
  }

  /**
   * Sends one request. Network failures and timeouts become GatewayErrors; any HTTP status
   * is returned (callers decide what a status means). The body must be consumed or dumped.
   */
  async send(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    signal: AbortSignal,
    /** Per-request headers (the try's traceparent), after the configured ones. */
    extra?: Readonly<Record<string, string>>,
  ): Promise<UpstreamResponse> {
    // One controller and one unref'd timer: cheaper than AbortSignal.timeout + AbortSignal.any.
    const controller = new AbortController();
    const total = controller.signal;
    const timer = setTimeout(() => controller.abort(new TotalTimeoutError()), this.opts.timeouts.total_ms).unref();
    const onClientAbort = (): void => controller.abort(signal.reason);
    if (signal.aborted) onClientAbort();
    else signal.addEventListener('abort', onClientAbort, { once: true });
    const release = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onClientAbort);
    };
    const combined = controller.signal;
    try {
      const res = await this.agent.request({
        origin: this.origin,
        path: this.pathPrefix + path,
        method,
        headers: body === undefined ? this.opts.headers : { ...this.opts.headers, ...extra, 'content-type': 'application/json' },
        body: body ?? null,
        signal: combined,
      });
      // The timer and listener live as long as the body: until it ends, errors or is destroyed.
      res.body.once('close', release);
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      release();
      throw this.networkError(err, signal, total);
    }
  }

  /** Reads a whole response body as text, mapping a mid-body failure like a send failure. */
  async readText(res: UpstreamResponse, signal: AbortSignal): Promise<string> {
    try {
      return await res.body.text();
    } catch (err) {
      throw this.networkError(err, signal, undefined);
    }
  }

  /** Text from the upstream (an error event mid-stream) without this provider's credentials. */
  scrub(text: string): string {
    return scrubSecrets(text, this.opts.secrets);
  }

  /** A non-2xx response as a GatewayError (reads and releases the body). */
  async failure(res: UpstreamResponse, signal: AbortSignal): Promise<GatewayError> {
    let text = '';
    try {
      text = await res.body.text();
    } catch {
      // the status alone still says what happened
    }
    return failureFromResponse(this.opts.provider, res.status, res.headers, text, this.opts.secrets);
  }

  networkError(err: unknown, clientSignal: AbortSignal, total: AbortSignal | undefined): GatewayError {
    if (err instanceof GatewayError) return err;
    const provider = this.opts.provider;
    if (clientSignal.aborted) return new GatewayError('client_aborted', 'the client closed the connection', { provider });
    const code = (err as { code?: string }).code;
    const timedOut =
      total?.aborted === true ||
      err instanceof TotalTimeoutError ||
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError ||
      err instanceof undiciErrors.ConnectTimeoutError ||
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      code === 'UND_ERR_CONNECT_TIMEOUT';
    if (timedOut) return new GatewayError('upstream_timeout', `provider ${provider} timed out`, { provider, cause: err });
    const detail = scrubSecrets(code ?? (err instanceof Error ? err.message : String(err)), this.opts.secrets);
    return new GatewayError('upstream_unreachable', `provider ${provider} is unreachable (${detail})`, { provider, cause: err });
  }

  private closing: Promise<void> | undefined;

  /** Closes the agent once; later calls wait for the same close (no ClientDestroyedError). */
  close(): Promise<void> {
    this.closing ??= this.agent.close();
    return this.closing;
  }
}
