import { ConfigError } from '../../gateway/config/load.ts';
import { JobError, resolveScorerSpec, type ResolvedScorer } from '../job.ts';
import type { QueuedScorer } from './judge-job.ts';
import type { OnlineScoringRoute } from './online-scoring.ts';

/** A route's `online_scoring` block as the config schema keeps it. */
export interface OnlineScoringConfig {
  sample: number;
  scorers: ReadonlyArray<string | ({ name: string } & Record<string, unknown>)>;
}

type RoutesConfig = Readonly<Record<string, { online_scoring?: OnlineScoringConfig | undefined }>>;

export interface ResolveOptions {
  /**
   * Whether call payloads reach the call log (`logging.enabled` and `logging.payloads`). Scorers
   * that call a model are run by a worker that reads the call back from the log; without the
   * payloads they could never run, so they are refused at start rather than shed forever.
   */
  payloadsLogged?: boolean;
}

/**
 * The routes that score their calls online, with each scorer resolved and its options checked:
 * deterministic scorers run in the gateway, the ones that call a model (judge, sampling) go
 * through the job queue (judge-job.ts). Throws a ConfigError naming the path (a bad config
 * stops the start).
 */
export function resolveOnlineScoring(routes: RoutesConfig, opts: ResolveOptions = {}): Map<string, OnlineScoringRoute> {
  try {
    return resolveRoutes(routes, opts.payloadsLogged ?? true);
  } catch (err) {
    if (err instanceof JobError) throw new ConfigError(`invalid config: ${err.message}`);
    throw err;
  }
}

function resolveRoutes(routes: RoutesConfig, payloadsLogged: boolean): Map<string, OnlineScoringRoute> {
  const out = new Map<string, OnlineScoringRoute>();
  for (const [name, route] of Object.entries(routes)) {
    const online = route.online_scoring;
    if (!online) continue;
    const scorers: ResolvedScorer[] = [];
    const queued: QueuedScorer[] = [];
    const keys = new Set<string>();
    online.scorers.forEach((spec, i) => {
      const path = ['routes', name, 'online_scoring', 'scorers', String(i)];
      const s = resolveScorerSpec(spec, path);
      if (keys.has(s.key)) throw new JobError(`routes.${name}.online_scoring.scorers: '${s.key}' appears twice; give one an 'as' name`);
      keys.add(s.key);
      if (s.scorer.kind === 'deterministic') {
        scorers.push(s);
      } else if (!payloadsLogged) {
        throw new JobError(`${path.join('.')}: '${s.name}' calls a model, so a worker scores it from the call log, but logging.enabled or logging.payloads is off`);
      } else {
        queued.push({ key: s.key, spec: typeof spec === 'string' ? { name: spec } : { ...spec } });
      }
    });
    out.set(name, { sample: online.sample, scorers, queued });
  }
  return out;
}
