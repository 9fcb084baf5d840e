import { parsePromptRef, PromptError } from '../../prompts/index.ts';
import type { SluiceConfig } from '../config/schema.ts';

/** The slice of PromptStore the check needs: where a prompt's labels and `latest` point. */
export interface PromptHeadsSource {
  heads(name: string): Promise<{ latest: number | null; labels: ReadonlyMap<string, number> }>;
}

/** What the boot warning and a call to such a variant tell the user to do. */
export const HOW_TO_CREATE_A_PROMPT = 'create it with `npx sluice prompts push DIR` or POST /api/prompts';

/**
 * Each prompt reference of a route (variants and shadow) that does not resolve yet, by its
 * key path, e.g. `routes.support-bot.variants.1.prompt: prompt "support" has no label
 * "candidate"`. A bare `name` means `name@latest`, as in parsePromptRef.
 *
 * Not a boot failure: on a fresh database the registry is empty until someone pushes the
 * prompts, and that needs the gateway running (the CLI goes through the server). The server
 * starts, warns with this list, and a call that lands on such a variant answers 404 naming the
 * prompt and how to create it (pipeline/chat-call.ts) until it exists.
 */
export async function routePromptProblems(config: SluiceConfig, prompts: PromptHeadsSource): Promise<string[]> {
  const refs: Array<{ path: string; spec: string }> = [];
  for (const [name, route] of Object.entries(config.routes)) {
    route.variants.forEach((v, i) => {
      if (v.prompt) refs.push({ path: `routes.${name}.variants.${i}.prompt`, spec: v.prompt });
    });
    if (route.shadow?.prompt) refs.push({ path: `routes.${name}.shadow.prompt`, spec: route.shadow.prompt });
  }
  const problems: string[] = [];
  const heads = new Map<string, ReturnType<PromptHeadsSource['heads']>>();
  for (const { path, spec } of refs) {
    const { name, ref } = parsePromptRef(spec);
    if (!heads.has(name)) heads.set(name, prompts.heads(name));
    let h: Awaited<ReturnType<PromptHeadsSource['heads']>>;
    try {
      h = await heads.get(name)!;
    } catch (err) {
      if (err instanceof PromptError && err.code === 'not_found') {
        problems.push(`${path}: prompt "${name}" does not exist`);
        continue;
      }
      throw err;
    }
    if ('version' in ref) {
      if (h.latest === null || ref.version > h.latest) problems.push(`${path}: prompt "${name}" has no version ${ref.version}`);
    } else if (ref.label === 'latest') {
      if (h.latest === null) problems.push(`${path}: prompt "${name}" has no versions`);
    } else if (!h.labels.has(ref.label)) {
      problems.push(`${path}: prompt "${name}" has no label "${ref.label}"`);
    }
  }
  return problems;
}
