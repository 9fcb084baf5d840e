import type { CallTracker } from '../calls/tracker.ts';
import { createTokenEstimator } from '../cost/estimate-tokens.ts';
import { GatewayError, toGatewayError } from '../errors/gateway-error.ts';
import type { CallContext, ChatStream, ProviderRequest } from '../providers/types.ts';
import type { ChatRequest } from '../../core/chat.ts';
import type { NormalizedUsage } from '../../core/usage.ts';
import { targetKey, type RouteDecision } from '../routing/router.ts';
import { declaredVariables, PromptError } from '../../prompts/index.ts';
import { HOW_TO_CREATE_A_PROMPT } from '../routing/prompt-check.ts';
import { shadowRequest } from '../routing/shadow.ts';
import type { RagRun } from '../rag/index.ts';
import { withContextVariable } from '../rag/inject.ts';
import { inPhase } from './phase.ts';
import { renderPrompt, resolvePrompt } from './apply-prompt.ts';
import type { CallInput } from './call-input.ts';
import { chatRequestSchema } from './chat-schema.ts';
import { retryOptions, type PipelineDeps } from './deps.ts';
import { fanOutChat, fanOutStream, needsFanOut, UsageLedger } from './fan-out.ts';
import { isRetryable, withRetry } from './retry.ts';
import { validate } from './validate.ts';
import type { ChatOutcome, ChatPlan } from './chat-plan.ts';



/**
 * Front half of the pipeline, shared by every face: prompt → validation → target. Everything
 * a face needs to know about the call is on the plan and the call record.
 */
export async function planChat(input: CallInput, call: CallTracker, deps: PipelineDeps): Promise<ChatPlan> {
  // What replay sends: the client's own body, when what the gateway sends on differs from it.
  call.setRequest(input.body, input.clientBody);
  let promptSpec = input.header('x-sluice-prompt');
  let start = input.body;
  // Allow-lists come first: a refused model or prompt is never routed, resolved or retrieved for.
  const clientPrompt = promptSpec ?? ((start.prompt as { id?: unknown } | undefined)?.id as string | undefined);
  if (typeof clientPrompt === 'string') deps.governor?.checkPrompt(call.key, clientPrompt.split('@')[0]!.trim());
  const isRoute = typeof start.model === 'string' && deps.router.isRoute(start.model);
  if (isRoute) deps.governor?.checkModel(call.key, start.model as string);
  const route = isRoute ? routeCall(start, input, call, deps) : null;
  if (route) {
    start = { ...route.params, ...start };
    const own = start.prompt as { id?: unknown } | undefined;
    if (promptSpec === undefined && typeof own?.id !== 'string' && route.prompt) promptSpec = route.prompt;
  }
  const fromRoute = route !== null && promptSpec === route.prompt;
  const split = { subject: input.header('x-sluice-subject'), random: deps.random };
  const resolve = () =>
    resolvePrompt(start, promptSpec, deps.prompts, split).catch((err: unknown) => {
      throw fromRoute ? routePromptMissing(err, route, promptSpec!) : err;
    });
  const resolved = promptSpec === undefined ? await resolve() : await inPhase(call, 'prompt', resolve, (r) => (r ? { 'sluice.prompt': `${r.version.prompt}@${r.version.version}` } : {}));
  // Retrieval runs between resolving and rendering, so a prompt's {{context}} gets the documents.
  const rag = route ? deps.rag?.pipelineFor(route.route) : undefined;
  let ragRun: RagRun | undefined;
  if (rag && route) {
    const before = {
      request: start,
      variables: resolved?.variables,
      contextVariable: resolved ? declaredVariables(resolved.version).includes('context') : false,
      model: route.targets[0]?.model ?? route.route,
      signal: input.signal,
    };
    ragRun = await inPhase(call, 'retrieval', () => rag.runBefore(before), (r) => ({ 'sluice.retriever': r.record.retriever, 'sluice.retrieval.documents': r.record.documents.length }));
    start = ragRun.request as Record<string, unknown>;
    if (ragRun.contextVariable !== null) start = withContextVariable(start, ragRun.contextVariable);
    call.setRetrieval(ragRun.record);
  }
  const { body, applied } = renderPrompt(start, resolved);
  if (ragRun && Array.isArray(body.messages)) body.messages = ragRun.inject(body.messages as never[]);
  // A route stays the model name: the variant chose the target, not the prompt's default model.
  if (route) body.model = route.route;
  if (applied) {
    call.setPrompt(applied.name, applied.version);
    call.setRequest(body, input.clientBody ?? input.body);
  }
  const req = validate(chatRequestSchema, body) as unknown as ChatRequest;
  if (typeof req.n === 'number' && req.n > deps.maxN) {
    // Checked after rendering: a variant's params or a prompt version may set n too.
    throw new GatewayError('invalid_request', `n: at most ${deps.maxN} choices per request (server.max_n), got ${req.n}`, { param: 'n' });
  }
  call.setClientFacts({
    stream: req.stream === true,
    user: typeof req.user === 'string' ? req.user : null,
    metadata: (req.metadata as Record<string, string> | null | undefined) ?? null,
  });
  const untouched = !applied && !ragRun && (!route || Object.keys(route.params).length === 0);
  const upstream: ProviderRequest = { chat: req, native: untouched ? input.native : undefined };
  const targets = route ? route.targets : [deps.resolveModel(req.model)];
  if (!route) deps.governor?.checkModel(call.key, req.model, targetKey(targets[0]!));
  call.setTarget(targets[0]!.provider, targets[0]!.model);
  const shadow = route?.shadow;
  if (shadow) {
    // With its own prompt the shadow starts from the client's body; else from what the primary sends.
    call.followWithShadow({ body: shadowRequest(shadow.prompt ? input.body : req, shadow), prompt: shadow.prompt ?? undefined });
  }
  return { req, upstream, targets, route, rag: rag && ragRun ? { pipeline: rag, run: ragRun } : null };
}

/**
 * A route's own prompt that does not resolve (not pushed yet on a fresh database): a 404 that
 * names the route, the variant and how to create it, not the client's fault but theirs to see.
 */
function routePromptMissing(err: unknown, route: RouteDecision, spec: string): unknown {
  if (!(err instanceof PromptError) || err.code !== 'not_found') return err;
  return new GatewayError(
    'not_found',
    `Route '${route.route}' variant '${route.variant}' uses prompt '${spec}', which does not exist yet (${err.message}); ${HOW_TO_CREATE_A_PROMPT}`,
    { param: 'model' },
  );
}

/** Sticky variant assignment for a route (synchronous, from memory). */
function routeCall(body: Record<string, unknown>, input: CallInput, call: CallTracker, deps: PipelineDeps): RouteDecision {
  const decision = deps.router.route(body.model as string, {
    subject: input.header('x-sluice-subject'),
    user: typeof body.user === 'string' ? body.user : undefined,
    random: deps.random,
  });
  // A random draw (no subject) is not sticky: it is recorded as no assignment.
  call.setRoute(decision.route, decision.variant, decision.sticky ? decision.assignment : null);
  return decision;
}

/**
 * Back half: the provider call, retried per target and then handed to the next fallback
 * target while the failure is one another target might not have. `n` for a provider without
 * a native `n` is fanned out (fan-out.ts); answers a failed fan-out already paid for stay on
 * the call's usage, also when the call fails as a whole.
 */
export async function executeChat(plan: ChatPlan, call: CallTracker, signal: AbortSignal, deps: PipelineDeps): Promise<ChatOutcome> {
  const ctx: CallContext = { signal, attempts: call.attempts };
  let charged = false;
  let lastError: GatewayError | undefined;
  const router = plan.route ? deps.router : null;
  for (const [index, target] of plan.targets.entries()) {
    call.setTarget(target.provider, target.model);
    // A target other than the variant's pick serves as a fallback, also when the pick's breaker
    // was open and it is not in the list at all.
    call.setFallbackUsed(plan.route ? targetKey(target) !== plan.route.chosen.key : index > 0);
    const retry = retryOptions(target, call, signal, deps);
    const fanOut = needsFanOut(plan.req, target.provider);
    // Answers this target sent before its fan-out failed part-way: billed, so charged at its rates.
    const paid = new UsageLedger();
    router?.begin(target);
    // A fan-out's tries run side by side: the tracker is told how much they overlap.
    const section = fanOut ? { upstream: call.upstreamMs(), at: deps.now() } : null;
    try {
      let outcome: ChatOutcome;
      if (plan.req.stream === true) {
        const stream = fanOut
          ? await fanOutStream(target.provider, plan.req, target.model, retry)
          : await withRetry((a) => target.provider.chatStream(plan.upstream, target.model, { ...ctx, ...a }), retry);
        outcome = { kind: 'stream', stream };
      } else {
        const result = fanOut
          ? await fanOutChat(target.provider, plan.req, target.model, retry, paid)
          : await withRetry((a) => target.provider.chat(plan.upstream, target.model, { ...ctx, ...a }), retry);
        outcome = { kind: 'json', result };
      }
      router?.recordOutcome(target, true);
      return outcome;
    } catch (thrown) {
      lastError = toGatewayError(thrown);
      const billed = paid.total();
      if (billed) {
        call.chargeEarlierTarget(target.provider, target.model, billed);
        charged = true;
      }
      const targetFailed = isRetryable(lastError);
      router?.recordOutcome(target, !targetFailed);
      if (!targetFailed || signal.aborted) break;
    } finally {
      // In-flight counts cover a try until its answer (or stream) has started.
      router?.end(target);
      if (section) call.addParallelOverlap(call.upstreamMs() - section.upstream - (deps.now() - section.at));
    }
  }
  // A failed call is still priced on every answer the upstreams sent (and billed) for it.
  if (charged) call.price(null, false, 'chat');
  throw lastError ?? new Error('no target to call');
}

/** Usage as reported, or a tiktoken estimate when the upstream reported none; priced on the record. */
export function priceChat(call: CallTracker, req: ChatRequest, usage: NormalizedUsage | null, output: () => string): number | null {
  if (usage) return call.price(usage, false, 'chat');
  // One estimator for the call: its work budget covers prompt and answer together.
  const estimator = createTokenEstimator(call.record.model ?? req.model);
  const estimate: NormalizedUsage = {
    inputTokens: estimator.prompt(req.messages as unknown[]),
    outputTokens: estimator.text(output()),
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
  return call.price(estimate, true, 'chat');
}

/** The text of every choice of a chat.completion body (for token estimates). */
export function completionText(body: Record<string, unknown>): string {
  const choices = body.choices as Array<{ message?: { content?: unknown } }> | undefined;
  return (choices ?? []).map((c) => (typeof c.message?.content === 'string' ? c.message.content : '')).join('');
}
