import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../logger.ts';
import type { RagRouteConfig } from './config.ts';
import { DeadlineExceeded, withDeadline } from './deadline.ts';
import type { RetrievalPolicy } from './retrievers/guard.ts';
import type { ChatMessageLike, RetrievedDoc, Retriever } from './types.ts';

/** The OpenAI chat request as RAG hooks see it: messages are mutable. */
export interface ChatBody {
  messages: ChatMessageLike[];
  [key: string]: unknown;
}

/**
 * The one state object every hook receives (STYLE: hooks get one state object). Before hooks
 * may rewrite `query`, set `filters`, edit `request.messages`, add or drop `documents` (after
 * `retrieve`), or reject the call by throwing a GatewayError (4xx).
 */
export interface RagState {
  readonly route: string | null;
  readonly retriever: string;
  request: ChatBody;
  query: string;
  /** Metadata filter for the retriever (e.g. a tenant set by a custom hook). Never taken from the request. */
  filters: Record<string, unknown> | undefined;
  /** Retrieved documents, best first; after injection, exactly those the model saw, numbered. */
  documents: RetrievedDoc[];
  /** The exact text added to the prompt (system message or `{{context}}` value), or null. */
  injected: string | null;
  /** Free-form notes for the call record. */
  annotations: Record<string, unknown>;
  /** Prompt variables of the request (read-only). */
  readonly variables: Readonly<Record<string, unknown>>;
  /** Aborts when the client goes away or this hook's time budget runs out. */
  signal: AbortSignal;
  /** Milliseconds the `retrieve` step took, once it ran. */
  retrievalMs: number | null;
}

/** The model's answer, for after hooks. */
export interface Completion {
  /** The assistant text (all choices joined). */
  text: string;
  /** The `chat.completion` body when not streamed. */
  body: Record<string, unknown> | null;
  /** True when the answer was streamed: it has already reached the client and cannot be blocked. */
  streamed: boolean;
}

export interface AfterState extends RagState {
  completion: Completion;
}

export const DEFAULT_HOOK_TIMEOUT_MS = 2_000;

interface HookBase<P extends 'before' | 'after', S> {
  readonly name: string;
  readonly phase: P;
  /** Time budget for one run; see runHooks for what exceeding it means. */
  readonly timeoutMs: number;
  run(state: S): void | Promise<void>;
}
export type BeforeHook = HookBase<'before', RagState>;
export type AfterHook = HookBase<'after', AfterState>;

/** What a hook factory gets: the route's rag block and its retriever. */
export interface HookContext {
  rag: RagRouteConfig;
  retriever: Retriever;
  policy: RetrievalPolicy;
  logger?: Logger | undefined;
}

export type HookDefinition =
  | { readonly phase: 'before'; create(ctx: HookContext): BeforeHook }
  | { readonly phase: 'after'; create(ctx: HookContext): AfterHook };

/** Hooks by the name routes use in `rag.before` / `rag.after`. */
export type HookRegistry = Readonly<Record<string, HookDefinition>>;

/**
 * Runs hooks in order on one state, each within its time budget:
 * - a GatewayError a hook throws passes through (that is how a hook rejects: 4xx, or the
 *   retrieve hook's fail-closed 502);
 * - running past the budget is a 504 `upstream_timeout` naming the hook (the retrieve hook
 *   applies its retriever's own timeout and fail-open/closed policy first, so it never gets here);
 * - any other throw is a 500 `internal_error` (message hidden from the client, logged by the app).
 */
export async function runHooks<S extends RagState>(hooks: readonly HookBase<'before' | 'after', S>[], state: S): Promise<void> {
  const outer = state.signal;
  try {
    for (const hook of hooks) {
      try {
        await withDeadline(hook.timeoutMs, outer, async (signal) => {
          state.signal = signal;
          await hook.run(state);
        });
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        if (err instanceof DeadlineExceeded) {
          throw new GatewayError('upstream_timeout', `RAG hook '${hook.name}' timed out after ${err.ms} ms.`, { cause: err });
        }
        throw new GatewayError('internal_error', `RAG hook '${hook.name}' failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
  } finally {
    state.signal = outer;
  }
}
