/**
 * Shared shapes of progressive rollouts (DESIGN §4.6): the plan a client PUTs, what one look at
 * the data sees, and what the decision records as evidence. The statistics (sequential.ts) and
 * the decision (decide.ts) are pure; the engine (engine.ts) reads the arms from the call log,
 * applies decisions and keeps the state.
 */

/** One guard: a metric and how much worse the candidate may be than the control. */
export interface Guard {
  /** `score:<scorer>` | `error_rate` | `latency_p95_ms` | `cost_per_call_usd`. */
  metric: string;
  /** score:*: largest tolerated drop of the candidate's mean score (absolute, 0..1). */
  max_drop?: number | undefined;
  /** error_rate: largest tolerated increase of the candidate's error rate (absolute, 0..1). */
  max_increase?: number | undefined;
  /** latency_p95_ms, cost_per_call_usd: largest tolerated candidate / control ratio (> 1). */
  max_ratio?: number | undefined;
}

export interface RolloutPlan {
  /** Percent of traffic the candidate gets at each step, increasing, the last one ≤ 100. */
  steps: number[];
  step_seconds: number;
  /** Calls each arm needs in a step to advance, and since the start before any guard is tested. */
  min_samples: number;
  /** 1 − the chance a healthy candidate is rolled back over the whole rollout. */
  confidence: number;
  guards: Guard[];
  /** Notification channels of a rollback; default every configured channel. */
  notify?: string[] | undefined;
}

/** n values with their sum and sum of squares (means with their variance). */
export interface MeanArm {
  n: number;
  sum: number;
  sumSq: number;
}

/** n trials of which `events` happened (rates). */
export interface RateArm {
  n: number;
  events: number;
}

/**
 * What one guard sees at a look, accumulated since the rollout started, control and candidate
 * over the same window. Latency is tested on exceedances (sequential.ts: quantileRatioTest):
 * the engine reads the control's quantile upper bound at the rank `quantileUpperRank` gives, and
 * counts the candidate calls slower than max_ratio × that bound.
 */
export type GuardData =
  | { kind: 'mean_drop'; control: MeanArm; candidate: MeanArm }
  | { kind: 'rate_increase'; control: RateArm; candidate: RateArm }
  | { kind: 'mean_ratio'; control: MeanArm; candidate: MeanArm }
  | {
      kind: 'quantile_ratio';
      /** e.g. 0.95 */
      quantile: number;
      /** The control's quantile (point estimate), for the evidence. */
      controlQuantile: number;
      /** The candidate's quantile (point estimate), for the evidence. */
      candidateQuantile: number;
      controlN: number;
      /** Candidate calls, and how many took longer than max_ratio × the control's upper bound. */
      candidateExceed: RateArm;
    };

/** One row of a rollout's evidence (DESIGN §4.6 `evidence`). */
export interface Evidence {
  /** ISO time of the look. */
  at: string;
  metric: string;
  control: number | null;
  candidate: number | null;
  /** candidate − control (ratio guards: candidate / control). */
  delta: number | null;
  /** Always-valid p-value (running minimum over the rollout's looks); null before min_samples. */
  p_value: number | null;
  decision: 'ok' | 'breach' | 'insufficient_data' | 'advance' | 'promote' | 'rollback';
  n_control?: number;
  n_candidate?: number;
}

/** Everything one look of the decision needs. */
export interface Look {
  now: number;
  /** Index into plan.steps. */
  step: number;
  stepStartedAt: number;
  /** Calls per arm in the current step (for advancing). */
  stepCounts: { control: number; candidate: number };
  /** Calls per arm since the start (gate for testing guards). */
  totalCounts: { control: number; candidate: number };
  /** Per guard (plan order): the data since the start; null when the metric has no data source. */
  guards: Array<GuardData | null>;
  /** Per guard: the always-valid p-value carried from earlier looks (1 at the start). */
  previousP: number[];
}

export type Decision = 'wait' | 'advance' | 'promote' | 'rollback';

export interface LookResult {
  decision: Decision;
  /** Per guard, the new running-minimum p-value to carry to the next look. */
  p: number[];
  /** One row per guard (with the step decision on every row where it applies). */
  evidence: Evidence[];
}
