import type { GatewayClient } from '../gateway-client.ts';
import { JUDGE_PROMPTS } from '../scorers/judge-prompts.ts';
import type { JudgeReply, JudgeRequest } from '../scorers/types.ts';
import { withRetry, type RetryOptions } from './retry.ts';

/**
 * The judge as scorers see it: the prompt comes from the registry (created at version 1 on first
 * use, then used as `name@latest`), the call goes through the gateway at temperature 0 with the
 * run's seed, tagged with the run and item like every eval call.
 */
export function gatewayJudge(
  client: GatewayClient,
  meta: { runId: string; seed: number; retry?: RetryOptions },
): (req: JudgeRequest, item: string) => Promise<JudgeReply> {
  const ensured = new Map<string, Promise<void>>();
  return async (req, item) => {
    let ready = ensured.get(req.prompt);
    if (!ready) {
      ready = client.ensurePrompt(req.prompt, JUDGE_PROMPTS[req.prompt]);
      ensured.set(req.prompt, ready);
      ready.catch(() => ensured.delete(req.prompt));
    }
    await ready;
    const body = {
      model: req.model,
      messages: [],
      prompt: { variables: req.variables },
      temperature: 0,
      seed: meta.seed,
      metadata: { sluice_eval_run: meta.runId, sluice_eval_item: item, sluice_eval_judge: req.prompt },
    };
    const r = await withRetry(() => client.chat(body, { 'x-sluice-prompt': `${req.prompt}@latest` }), meta.retry);
    if (!r.ok) throw new Error(`HTTP ${r.status}: ${r.error ?? 'error'}`);
    if (r.text === null) throw new Error('the judge returned no text');
    return { text: r.text, promptVersion: r.promptVersion, model: req.model, callId: r.callId };
  };
}
