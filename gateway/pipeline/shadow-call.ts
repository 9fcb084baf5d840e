import { v7 as uuidv7 } from 'uuid';
import type { CallFinished, CallFinishedListener } from '../calls/call-events.ts';
import { CallTracker } from '../calls/tracker.ts';
import { toGatewayError } from '../errors/gateway-error.ts';
import type { CallInput } from './call-input.ts';
import { completionText, executeChat, planChat, priceChat } from './chat-call.ts';
import type { PipelineDeps } from './deps.ts';

/** A shadow call gets this long; nobody waits for it, but it must not pile up either. */
const SHADOW_TIMEOUT_MS = 120_000;

/**
 * Shadow traffic as a subscriber of CallFinished: when a call its route sampled has finished
 * ok (the client already has its answer), the shadow copy is sent on the next turn of the
 * event loop. The client never waits on it or sees it; it is logged as its own call with the
 * shadow flag and the primary's call id. Never throws.
 */
export function shadowTraffic(deps: PipelineDeps): CallFinishedListener {
  return (event) => {
    if (!event.shadow || event.record.status !== 'ok') return;
    setImmediate(() => void sendShadow(event, deps));
  };
}

async function sendShadow({ record, shadow }: CallFinished, deps: PipelineDeps): Promise<void> {
  const call = new CallTracker(
    { id: uuidv7(), requestId: record.requestId, endpoint: record.endpoint, startedAt: new Date(deps.clock()), t0: deps.now(), shadowOf: record },
    deps.tracker,
  );
  const prompt = shadow!.prompt;
  const header = (name: string) => (name === 'x-sluice-prompt' ? prompt : undefined);
  const input: CallInput = { body: shadow!.body, header, signal: AbortSignal.timeout(SHADOW_TIMEOUT_MS) };
  try {
    const plan = await planChat(input, call, deps);
    const outcome = await executeChat(plan, call, input.signal, deps);
    if (outcome.kind !== 'json') throw new Error('shadow calls are never streamed');
    priceChat(call, plan.req, outcome.result.usage, () => completionText(outcome.result.body));
    call.finishOk(outcome.result.body);
  } catch (err) {
    call.finishError(toGatewayError(err));
  }
}
