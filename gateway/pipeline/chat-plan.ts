import type { RagPipeline, RagRun } from '../rag/index.ts';
import type { ChatStream, JsonResult, ProviderRequest } from '../providers/types.ts';
import type { ChatRequest } from '../../core/chat.ts';
import type { Target } from '../routing/resolve-model.ts';
import type { RouteDecision } from '../routing/router.ts';

/** A chat call, ready to send: the request as the upstream will see it and where it goes. */
export interface ChatPlan {
  req: ChatRequest;
  /** What the providers are asked to send: `req`, and the client's own body when it may pass through. */
  upstream: ProviderRequest;
  /** The primary target, then fallbacks in order. */
  targets: Target[];
  /** Set when `model` named a route. */
  route: RouteDecision | null;
  /** Set when the route retrieves context: its after hooks still run on the answer. */
  rag: { pipeline: RagPipeline; run: RagRun } | null;
}

export type ChatOutcome = { kind: 'json'; result: JsonResult } | { kind: 'stream'; stream: ChatStream };
