import { parsePromptRef, PromptError } from '../../prompts/index.ts';
import { ConfigError } from '../config/load.ts';
import type { SluiceConfig } from '../config/schema.ts';

/** The slice of PromptStore the check needs: where a prompt's labels and `latest` point. */
export interface PromptHeadsSource {
  heads(name: string): Promise<{ latest: number | null; labels: ReadonlyMap<string, number> }>;
}

/**
 * Every prompt a route names (variants and shadow) must exist at boot, like its providers
 * (config/load.ts checks those). Throws one ConfigError listing each dangling reference by
 * its key path, e.g. `routes.support-bot.variants.1.prompt: prompt "support" has no label
 * "candidate"`. A bare `name` means `name@latest`, as in parsePromptRef.
 */
export async function validateRoutePrompts(config: SluiceConfig, prompts: PromptHeadsSource): Promise<void> {
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
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
}
