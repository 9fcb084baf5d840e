import { ConfigError } from '../../gateway/config/load.ts';
import { JobError, resolveScorerSpec } from '../job.ts';
import type { OnlineScoringRoute } from './online-scoring.ts';

/** A route's `online_scoring` block as the config schema keeps it. */
export interface OnlineScoringConfig {
  sample: number;
  scorers: ReadonlyArray<string | ({ name: string } & Record<string, unknown>)>;
}

/**
 * The routes that score their calls online, with each scorer resolved and its options checked.
 * Judge and sampling scorers call models: online they would go through the job queue, which
 * this version does not do yet, so they are refused here with the route's path rather than
 * accepted and never run. Throws a ConfigError naming the path (a bad config stops the start).
 */
export function resolveOnlineScoring(routes: Readonly<Record<string, { online_scoring?: OnlineScoringConfig | undefined }>>): Map<string, OnlineScoringRoute> {
  try {
    return resolveRoutes(routes);
  } catch (err) {
    if (err instanceof JobError) throw new ConfigError(`invalid config: ${err.message}`);
    throw err;
  }
}

function resolveRoutes(routes: Readonly<Record<string, { online_scoring?: OnlineScoringConfig | undefined }>>): Map<string, OnlineScoringRoute> {
  const out = new Map<string, OnlineScoringRoute>();
  for (const [name, route] of Object.entries(routes)) {
    const online = route.online_scoring;
    if (!online) continue;
    const scorers = online.scorers.map((spec, i) => {
      const path = ['routes', name, 'online_scoring', 'scorers', String(i)];
      const resolved = resolveScorerSpec(spec, path);
      if (resolved.scorer.kind !== 'deterministic') {
        throw new JobError(`${path.join('.')}: '${resolved.name}' calls a model (${resolved.scorer.kind}); online scoring runs deterministic scorers only for now — score it with a scheduled eval job (mode: online)`);
      }
      return resolved;
    });
    const keys = new Set<string>();
    for (const s of scorers) {
      if (keys.has(s.key)) throw new JobError(`routes.${name}.online_scoring.scorers: '${s.key}' appears twice; give one an 'as' name`);
      keys.add(s.key);
    }
    out.set(name, { sample: online.sample, scorers });
  }
  return out;
}
