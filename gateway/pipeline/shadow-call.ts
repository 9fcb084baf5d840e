import { v7 as uuidv7 } from 'uuid';
import { CallTracker } from '../calls/tracker.ts';
import { toGatewayError } from '../errors/gateway-error.ts';
import { shadowRequest } from '../routing/shadow.ts';
import type { CallInput } from './call-input.ts';
import { completionText, executeChat, planChat, priceChat, type ChatPlan } from './chat-call.ts';
import type { PipelineDeps } from './deps.ts';

/** A shadow call gets this long; nobody waits for it, but it must not pile up either. */
const SHADOW_TIMEOUT_MS = 120_000;

/**
 * Sends the sampled shadow call once the primary's response has gone out. The client never
 * waits on it or sees it; it is logged as its own call with the shadow flag and the primary's
 * call id. Never throws.
 */
export function fireShadow(plan: ChatPlan, parent: CallTracker, input: CallInput, deps: PipelineDeps): void {
  const shadow = plan.route?.shadow;
  if (!shadow) return;
  setImmediate(() => {
    const call = new CallTracker(
      { id: uuidv7(), requestId: parent.record.requestId, endpoint: parent.record.endpoint, startedAt: new Date(), t0: deps.now() },
      deps.tracker,
    );
    call.record.shadow = true;
    call.record.parentCallId = parent.record.id;
    call.record.apiKeyId = parent.record.apiKeyId;
    call.record.route = parent.record.route;
    call.record.variant = parent.record.variant;
    // With its own prompt the shadow starts from the client's body; else from what the primary sent.
    const body = shadowRequest(shadow.prompt ? input.body : (plan.req as Record<string, unknown>), shadow);
    const header = (name: string) => (name === 'x-sluice-prompt' && shadow.prompt ? shadow.prompt : undefined);
    const shadowInput: CallInput = { body, header, signal: AbortSignal.timeout(SHADOW_TIMEOUT_MS) };
    void (async () => {
      try {
        const shadowPlan = await planChat(shadowInput, call, deps);
        const outcome = await executeChat(shadowPlan, call, shadowInput.signal, deps);
        if (outcome.kind !== 'json') throw new Error('shadow calls are never streamed');
        priceChat(call, shadowPlan.req, outcome.result.usage, () => completionText(outcome.result.body));
        call.finishOk(outcome.result.body);
      } catch (err) {
        call.finishError(toGatewayError(err));
      }
    })();
  });
}
