import { toGatewayError, type GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../logger.ts';
import type { RagRouteConfig } from './config.ts';
import { runHooks, type AfterHook, type AfterState, type BeforeHook, type ChatBody, type Completion, type HookContext, type HookRegistry, type RagState } from './hooks.ts';
import { buildContext, contextSystemMessage, insertSystemMessage, type InjectedDoc } from './inject.ts';
import { QueryTemplate } from './query.ts';
import type { ChatMessageLike } from './types.ts';

export interface RagBeforeInput {
  /**
   * The chat request as the client sent it, BEFORE the registry prompt is applied (so the
   * prompt can be rendered with the context afterwards). Not mutated: the result has a copy.
   */
  request: { messages?: unknown; [key: string]: unknown };
  /** The request's prompt variables (`prompt.variables`), for a `rag.query` template. */
  variables?: Readonly<Record<string, unknown>> | undefined;
  /** True when the applied prompt version declares `{{context}}` (`declaredVariables(version)`). */
  contextVariable: boolean;
  /** Model (or route) name, for the tiktoken encoding of the token budget. */
  model: string;
  signal: AbortSignal;
}

/** What the call record keeps about retrieval (issue 8 §5). */
export interface RagRecord {
  route: string;
  retriever: string;
  query: string;
  /** The documents the model saw, in context order (`[n]` = index + 1). */
  documents: { id: string; collection: string; score: number; truncated: boolean }[];
  /** The exact text added to the prompt: the system message, or the `{{context}}` value. Null: nothing. */
  injectedText: string | null;
  /** Time spent in the retriever; null when retrieval did not run (empty query). */
  retrievalMs: number | null;
  annotations: Record<string, unknown>;
}

export interface RagRun {
  /** The request after before hooks (they may edit messages); use it in place of the original. */
  request: ChatBody;
  /**
   * The value for the prompt's `{{context}}` variable when `contextVariable` was true ('' when
   * nothing was retrieved, so a prompt that requires the variable still renders), else null.
   */
  contextVariable: string | null;
  /**
   * The final messages with the context system message inserted after the leading system
   * messages — when `contextVariable` was false and something was retrieved; otherwise as given.
   */
  inject<M extends ChatMessageLike>(messages: readonly M[]): (M | ChatMessageLike)[];
  record: RagRecord;
  /** Carried into `after`. */
  readonly state: RagState;
}

export interface RagAfterResult {
  annotations: Record<string, unknown>;
  /**
   * Set when an after hook refused the answer (or failed). Not thrown, so the caller can still
   * price and log the upstream response; for a non-streamed call, throw it to replace the
   * answer; for a streamed one it is only recorded (`annotations.blocked`).
   */
  blocked: GatewayError | null;
}

/** One route's RAG: the before hooks (with retrieve), context injection, the after hooks. */
export class RagPipeline {
  private readonly before: BeforeHook[];
  private readonly afterHooks: AfterHook[];
  private readonly query: QueryTemplate;

  constructor(
    readonly rag: RagRouteConfig,
    ctx: HookContext,
    registry: HookRegistry,
    private readonly logger?: Logger,
  ) {
    this.query = QueryTemplate.compile(rag.query, `routes.${rag.route}.rag.query`);
    const names = rag.before.includes('retrieve') ? rag.before : ['retrieve', ...rag.before];
    this.before = names.map((name) => {
      const def = registry[name];
      if (def?.phase !== 'before') throw new Error(`no before hook named "${name}"`);
      return def.create(ctx);
    });
    this.afterHooks = rag.after.map((name) => {
      const def = registry[name];
      if (def?.phase !== 'after') throw new Error(`no after hook named "${name}"`);
      return def.create(ctx);
    });
  }

  /** Runs the before hooks (retrieval among them) and builds the context. Throws GatewayError to reject. */
  async runBefore(input: RagBeforeInput): Promise<RagRun> {
    const messages = Array.isArray(input.request.messages) ? (input.request.messages as ChatMessageLike[]) : [];
    const variables = input.variables ?? {};
    const state: RagState = {
      route: this.rag.route,
      retriever: this.rag.retriever,
      request: { ...input.request, messages: [...messages] },
      query: this.query.render(messages, variables),
      filters: undefined,
      documents: [],
      injected: null,
      annotations: {},
      variables,
      signal: input.signal,
      retrievalMs: null,
    };
    await runHooks(this.before, state);

    const block = buildContext(state.documents, { tokenBudget: this.rag.token_budget, model: input.model });
    state.documents = block?.documents ?? [];
    if (block && block.dropped > 0) state.annotations.dropped_by_budget = block.dropped;
    if (block) state.injected = input.contextVariable ? block.text : contextSystemMessage(block.text);
    const injected = state.injected;
    const asMessage = injected !== null && !input.contextVariable;
    return {
      request: state.request,
      contextVariable: input.contextVariable ? (injected ?? '') : null,
      inject: (final) => (asMessage ? insertSystemMessage(final, injected) : [...final]),
      record: this.recordOf(state),
      state,
    };
  }

  /** Runs the after hooks on the answer; never throws for a block (see RagAfterResult). */
  async runAfter(run: RagRun, completion: Completion, signal: AbortSignal): Promise<RagAfterResult> {
    if (this.afterHooks.length === 0) return { annotations: run.state.annotations, blocked: null };
    const state: AfterState = { ...run.state, completion, signal };
    let blocked: GatewayError | null = null;
    try {
      await runHooks(this.afterHooks, state);
    } catch (err) {
      blocked = toGatewayError(err);
      state.annotations.blocked = { code: blocked.code, message: blocked.message };
      if (completion.streamed) this.logger?.warn('rag: after hook refused a streamed answer (already sent)', { route: this.rag.route, code: blocked.code });
    }
    run.record.annotations = state.annotations;
    return { annotations: state.annotations, blocked };
  }

  private recordOf(state: RagState): RagRecord {
    return {
      route: this.rag.route,
      retriever: this.rag.retriever,
      query: state.query,
      documents: state.documents.map((d) => ({
        id: d.id,
        collection: d.collection,
        score: d.score,
        truncated: (d as Partial<InjectedDoc>).truncated === true,
      })),
      injectedText: state.injected,
      retrievalMs: state.retrievalMs,
      annotations: state.annotations,
    };
  }
}
