import type { AuthenticatedKey } from '../auth/key-store.ts';
import type { Pricer } from '../cost/pricing.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { CallTrace, IncomingTrace, Tracing } from '../observability/tracing.ts';
import type { Provider } from '../providers/types.ts';
import { addUsage, type NormalizedUsage } from '../../core/usage.ts';
import type { CallEvents, ShadowFollowUp } from './call-events.ts';
import type { Attempt, CallEndpoint, CallRecord, CallSink, CallStatus, CostStatus, RowStart } from './record.ts';

export interface TrackerDeps {
  /** Told once per call, when it finishes (the call log, shadow traffic and later hooks subscribe). */
  events: CallEvents;
  pricer: Pricer;
  /** Monotonic milliseconds (performance.now) for durations. */
  now: () => number;
  /** Wall clock, epoch milliseconds: when a call started. */
  clock: () => number;
  /** Opens each call's server span (DESIGN §4.5); absent: calls are untraced. */
  tracing?: Tracing | undefined;
  /** The call log's write-ahead hooks for streams (issue 21); absent: none. */
  sink?: Pick<CallSink, 'streamOpened' | 'streamAnswered' | 'startRow'> | undefined;
}

const COST_RANK: Record<CostStatus, number> = { exact: 0, estimated: 1, unpriced: 2 };

/** The less certain of two cost statuses. */
function worse(a: CostStatus, b: CostStatus): CostStatus {
  return COST_RANK[a] >= COST_RANK[b] ? a : b;
}

/** A sum of costs where null means unknown: known parts add up; all unknown stays null. */
function sumCosts(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : a + b;
}

function statusOf(err: GatewayError): CallStatus {
  if (err.code === 'client_aborted') return 'client_aborted';
  if (err.code.startsWith('upstream_')) return 'upstream_error';
  if (err.code === 'internal_error' || err.code === 'shutting_down') return 'gateway_error';
  return 'client_error';
}

export interface TrackerInit {
  id: string;
  requestId: string;
  endpoint: CallEndpoint;
  startedAt: Date;
  t0: number;
  /**
   * Opened before authentication (so its time counts from arrival): the record is only kept
   * once setKey() is called. A request that never authenticates leaves no row (issue 14 item
   * 7): anyone could otherwise fill the call log without a key.
   */
  awaitingKey?: boolean;
  /** A shadow call: the primary's record, whose key, route and variant it carries. */
  shadowOf?: Readonly<CallRecord>;
  /** The caller's traceparent/tracestate, which the call's server span continues. */
  incomingTrace?: IncomingTrace;
}

/** Who asked and how, from the validated request. */
export interface ClientFacts {
  stream: boolean;
  user: string | null;
  metadata: Record<string, string> | null;
}

/**
 * The life of one call's record: created when the request arrives, filled in as the pipeline
 * goes through the named steps below (the record itself is read-only to everyone else),
 * finished exactly once (success, error or client abort) and announced as one CallFinished
 * event, unless it was waiting for a key that never came.
 */
export class CallTracker {
  /** The record being filled in while the call runs; only this class writes it. */
  readonly #record: CallRecord;
  /** The record as finished: built once from the live one at the finish point, then frozen. */
  #final: Readonly<CallRecord> | undefined;
  #shadow: ShadowFollowUp | null = null;
  /** The call log's row, begun while the upstream call was out (prepareLog); dropped when a head field changes. */
  #rowStart: RowStart | null = null;
  #key: AuthenticatedKey | undefined;
  #limitHeaders: Record<string, string> | undefined;
  readonly #trace: CallTrace | undefined;
  /** What targets that failed before the one pricing the call had already cost (chargeEarlierTarget). */
  #earlier: { usage: NormalizedUsage; costMicros: number | null; status: CostStatus } | null = null;
  private readonly t0: number;
  private providerType: Provider['type'] | null = null;
  private waitedMs = 0;
  /** Upstream time counted twice or more because tries ran in parallel (a fan-out). */
  private overlapMs = 0;
  private done = false;
  private keyed: boolean;

  constructor(
    init: TrackerInit,
    private readonly deps: TrackerDeps,
  ) {
    this.t0 = init.t0;
    this.keyed = init.awaitingKey !== true;
    const parent = init.shadowOf;
    // A shadow call has no caller of its own: it starts a trace of its own when traces export.
    this.#trace = deps.tracing?.startCall(init.endpoint, init.incomingTrace ?? { traceparent: undefined, tracestate: undefined });
    this.#record = {
      id: init.id,
      requestId: init.requestId,
      traceId: this.#trace?.traceId ?? null,
      startedAt: init.startedAt,
      endpoint: init.endpoint,
      apiKeyId: parent?.apiKeyId ?? null,
      route: parent?.route ?? null,
      variant: parent?.variant ?? null,
      assignment: null,
      fallbackUsed: false,
      shadow: parent !== undefined,
      parentCallId: parent?.id ?? null,
      provider: null,
      model: null,
      promptName: null,
      promptVersion: null,
      stream: false,
      status: 'ok',
      httpStatus: 200,
      errorCode: null,
      errorMessage: null,
      attempts: [],
      latencyMs: 0,
      ttftMs: null,
      overheadMs: null,
      usage: null,
      costMicros: null,
      costStatus: 'unpriced',
      costSavedMicros: null,
      cacheStatus: null,
      user: null,
      metadata: null,
      retrievedDocIds: null,
      retrievalMs: null,
      rag: null,
      requestBody: null,
      responseBody: null,
      faceRequest: null,
    };
  }

  /** The record so far; only the tracker writes it. */
  get record(): Readonly<CallRecord> {
    return this.#final ?? this.#record;
  }

  get finished(): boolean {
    return this.done;
  }

  /** False while the call has no authenticated key: finishing it then writes nothing. */
  get logged(): boolean {
    return this.keyed;
  }

  /** The call's server span, which each upstream try's client span is a child of (retry.ts). */
  get trace(): CallTrace | undefined {
    return this.#trace;
  }

  /** Every upstream try is appended here (retry.ts), in order. */
  get attempts(): Attempt[] {
    return this.#record.attempts;
  }

  setKey(key: AuthenticatedKey): void {
    this.#record.apiKeyId = key.id;
    this.#rowStart = null;
    this.#key = key;
    this.keyed = true;
  }

  /** The caller's key, with its (and its team's) policy; undefined before authentication. */
  get key(): AuthenticatedKey | undefined {
    return this.#key;
  }

  /** The `x-ratelimit-*` headers of the key's rate limits, sent with the answer or the error. */
  setLimitHeaders(headers: Record<string, string>): void {
    this.#limitHeaders = headers;
  }

  get limitHeaders(): Readonly<Record<string, string>> | undefined {
    return this.#limitHeaders;
  }

  setTarget(provider: Provider, model: string): void {
    this.#record.provider = provider.name;
    this.#record.model = model;
    this.providerType = provider.type;
  }

  /**
   * The request as the gateway sends it on (again once a prompt was rendered into it), and the
   * client's own body when that differs (another face's format, a rendered prompt).
   */
  setRequest(body: unknown, clientBody: unknown = null): void {
    this.#record.requestBody = body;
    this.#rowStart = null;
    this.#record.faceRequest = clientBody;
  }

  setClientFacts(facts: ClientFacts): void {
    this.#record.stream = facts.stream;
    this.#rowStart = null;
    this.#record.user = facts.user;
    this.#record.metadata = facts.metadata;
  }
  /** The route's decision: which variant, and the subject's draw when the split was sticky. */
  setRoute(route: string, variant: string, assignment: number | null): void {
    this.#record.route = route;
    this.#rowStart = null;
    this.#record.variant = variant;
    this.#record.assignment = assignment;
  }

  setPrompt(name: string, version: number): void {
    this.#record.promptName = name;
    this.#rowStart = null;
    this.#record.promptVersion = version;
  }

  /** What retrieval found: document ids and time on the row, the details in the payload. */
  setRetrieval(rag: { documents: ReadonlyArray<{ id: string }>; retrievalMs: number | null }): void {
    this.#record.retrievedDocIds = rag.documents.map((d) => d.id);
    this.#rowStart = null;
    this.#record.retrievalMs = rag.retrievalMs;
    this.#record.rag = rag;
  }

  /** Retrieval details again, with what the after hooks said about the answer. */
  annotateRetrieval(rag: object): void {
    this.#record.rag = rag;
  }

  /** Whether a fallback (not the route's chosen target) is serving the call. */
  setFallbackUsed(used: boolean): void {
    this.#record.fallbackUsed = used;
  }

  setCacheStatus(status: CallRecord['cacheStatus']): void {
    this.#record.cacheStatus = status;
  }

  /** A shadow copy to send once this call has finished ok (its route sampled it). */
  followWithShadow(shadow: ShadowFollowUp): void {
    this.#shadow = shadow;
  }

  /** Fixes the gateway's overhead now (a stream's, when its first byte goes out). */
  markOverhead(): void {
    if (this.#record.overheadMs === null) this.#record.overheadMs = this.overheadMs();
  }

  /** Time spent waiting between retries; not the gateway's own overhead. */
  addWait(ms: number): void {
    this.waitedMs += ms;
  }

  markFirstToken(): void {
    if (this.#record.ttftMs === null) this.#record.ttftMs = this.deps.now() - this.t0;
  }

  /** Upstream time so far as the tries and waits add up (parallel ones each counted in full). */
  upstreamMs(): number {
    let upstream = this.waitedMs;
    for (const a of this.#record.attempts) upstream += a.latencyMs;
    return upstream;
  }

  /**
   * Tries that ran side by side (a fan-out) overlap in time: `ms` is how much more their
   * latencies and waits add up to than the wall time they took, so overhead subtracts the wall
   * time once, not each try's.
   */
  addParallelOverlap(ms: number): void {
    if (ms > 0) this.overlapMs += ms;
  }

  /** Gateway time so far, excluding upstream tries and backoff waits. */
  overheadMs(): number {
    return Math.max(0, this.deps.now() - this.t0 - (this.upstreamMs() - this.overlapMs));
  }

  /** Prices the usage, stores it on the record and returns the cost (null when unpriced). */
  price(usage: NormalizedUsage | null, estimated: boolean, kind: 'chat' | 'embedding'): number | null {
    const own =
      this.#record.provider && this.#record.model && this.providerType
        ? this.deps.pricer.price({
            provider: this.#record.provider,
            providerType: this.providerType,
            model: this.#record.model,
            usage,
            estimated,
            at: this.#record.startedAt,
            kind,
          })
        : { costMicros: null, status: 'unpriced' as const };
    const earlier = this.#earlier;
    this.#record.usage = earlier ? addUsage(earlier.usage, usage) : usage;
    this.#record.costMicros = earlier ? sumCosts(earlier.costMicros, own.costMicros) : own.costMicros;
    this.#record.costStatus = earlier && usage === null ? earlier.status : earlier ? worse(earlier.status, own.status) : own.status;
    return this.#record.costMicros;
  }

  /**
   * Answers a target that then failed had already sent (and billed): a fan-out that failed
   * part-way. Priced now, at that target's rates; `price` adds them to the call's own.
   */
  chargeEarlierTarget(provider: Provider, model: string, usage: NormalizedUsage): void {
    const { costMicros, status } = this.deps.pricer.price({
      provider: provider.name,
      providerType: provider.type,
      model,
      usage,
      estimated: false,
      at: this.#record.startedAt,
      kind: 'chat',
    });
    const e = this.#earlier;
    this.#earlier = e
      ? { usage: addUsage(e.usage, usage)!, costMicros: sumCosts(e.costMicros, costMicros), status: worse(e.status, status) }
      : { usage, costMicros, status };
  }

  /** Served from cache: no upstream cost; the cost the original call had is kept as saved. */
  hitCache(usage: NormalizedUsage | null, savedMicros: number | null): void {
    this.#record.cacheStatus = 'hit';
    this.#record.usage = usage;
    this.#record.costMicros = 0;
    this.#record.costStatus = 'exact';
    this.#record.costSavedMicros = savedMicros;
  }

  /**
   * The upstream call is going out: once it is on its way (setImmediate), the call log begins
   * the call's row, so what it builds before the answer goes out is only the outcome (issue 21).
   */
  prepareLog(): void {
    const startRow = this.deps.sink?.startRow;
    if (!this.keyed || this.done || !startRow) return;
    setImmediate(() => {
      if (!this.done) this.#rowStart = startRow(this.#record);
    });
  }

  /** A stream's first bytes are going out: the call log writes ahead that it was opened (issue 21). */
  streamOpened(): void {
    if (this.keyed && !this.done) this.deps.sink?.streamOpened?.(this.snapshot(null), this.#rowStart);
  }

  /**
   * A stream's last byte is about to go out: the call log writes ahead the record as answered,
   * so a process killed from here on still leaves it (issue 21). finishOk follows once the
   * stream's after hooks have settled.
   */
  beforeLastByte(responseBody: unknown): void {
    if (this.keyed && !this.done) this.deps.sink?.streamAnswered?.(this.snapshot(responseBody), this.#rowStart);
  }

  /** The record as it would finish now; the live one is not changed. */
  private snapshot(responseBody: unknown): CallRecord {
    const live = this.#record;
    return { ...live, latencyMs: this.deps.now() - this.t0, overheadMs: live.overheadMs ?? this.overheadMs(), responseBody };
  }

  finishOk(responseBody: unknown): void {
    if (this.done) return;
    this.#record.responseBody = responseBody;
    this.finish();
  }

  finishError(err: GatewayError, responseBody: unknown = null): void {
    if (this.done) return;
    this.#record.status = statusOf(err);
    this.#record.httpStatus = err.status;
    this.#record.errorCode = err.code;
    this.#record.errorMessage = err.message.slice(0, 2000);
    this.#record.responseBody = responseBody;
    this.finish();
  }

  /** The single finish point: the record is complete and every subscriber is told. */
  private finish(): void {
    this.done = true;
    const live = this.#record;
    live.latencyMs = this.deps.now() - this.t0;
    if (live.overheadMs === null) live.overheadMs = this.overheadMs();
    // The value every subscriber gets: a copy no later step can change (a late after-hook or
    // an attempt of a cancelled fan-out writes to the live record, which nobody reads again).
    const final = Object.freeze({ ...live, attempts: Object.freeze(live.attempts.map((a) => Object.freeze({ ...a }))) as Attempt[] });
    this.#final = final;
    if (!this.keyed) return;
    // A request that never authenticated leaves no span either: an unended span is dropped.
    this.#trace?.end(final);
    this.deps.events.emit({ record: final, shadow: this.#shadow, rowStart: this.#rowStart });
  }
}
