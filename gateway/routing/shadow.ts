import type { ShadowDecision } from './router.ts';

/**
 * The body of a shadow call: the primary's request with the shadow target as `model`, and
 * never streamed (nobody reads it as it arrives; a complete body is simpler to log).
 *
 * Which body to pass: when `shadow.prompt` is null, the primary's final body (its prompt
 * already rendered) so the shadow sees exactly what the primary saw; when the shadow names a
 * prompt, the client's original body, then apply that prompt as for a primary call.
 */
export function shadowRequest(body: Readonly<Record<string, unknown>>, shadow: ShadowDecision): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body, model: shadow.target.key, stream: false };
  delete out.stream_options;
  return out;
}
