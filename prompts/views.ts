import type { PromptHeads, PromptSummary, PromptVersion } from './types.ts';

/** JSON shapes of the registry API (snake_case, like the rest of the admin API). */
export function promptView(p: PromptSummary) {
  return {
    object: 'prompt' as const,
    name: p.name,
    description: p.description,
    latest_version: p.latestVersion,
    labels: p.labels,
    /** Labels being rolled out (DESIGN §4.6): `{label: {version, percent}}`. */
    splits: p.splits ?? {},
    created_at: p.createdAt.toISOString(),
  };
}

/** `labels` lists what points at this version now, `latest` included. */
export function versionView(v: PromptVersion, heads?: PromptHeads) {
  return {
    object: 'prompt.version' as const,
    prompt: v.prompt,
    version: v.version,
    hash: v.hash,
    messages: v.messages,
    model: v.model,
    params: v.params,
    variables: v.variables,
    author: v.author,
    message: v.message,
    created_at: v.createdAt.toISOString(),
    labels: heads ? labelsOf(v.version, heads) : [],
  };
}

function labelsOf(version: number, heads: PromptHeads): string[] {
  const out = [...heads.labels].filter(([, v]) => v === version).map(([l]) => l);
  if (heads.latest === version) out.push('latest');
  return out;
}
