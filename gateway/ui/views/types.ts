import type { CallView as Call } from '../../calls/queries.ts';
import type { VariantStats } from '../../routing/stats.ts';

/** The slices of the admin API's JSON the dashboard reads (the public contracts of README "Admin"). */

export interface List<T> {
  data: T[];
  next_cursor?: string | null;
}

export type { UsageRow } from '../../calls/queries.ts';

export type { CallView as Call } from '../../calls/queries.ts';

export interface CallDetail extends Call {
  payload: { request: unknown; response: unknown; rag: unknown; face_request: unknown; truncated: boolean } | null;
}

export interface Incident {
  id: string;
  monitor: string;
  scope: unknown;
  metric: string;
  value: number | null;
  baseline: number | null;
  status: string;
  evidence: unknown;
  opened_at: string;
  acknowledged_at: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
}

export type { Interval, TestResult } from '../../../core/stats/math.ts';
export type { Estimate, VariantStats } from '../../routing/stats.ts';
export interface RouteVariant {
  name: string;
  config_weight: number;
  weight: number;
  share: number;
  targets: Array<{ target: string; weight: number; breaker: { state: string } | null }>;
  prompt: unknown;
}

export interface Route {
  name: string;
  control: string;
  weights_source: string;
  updated_at: string | null;
  updated_by: string | null;
  variants: RouteVariant[];
}

export interface RouteStats {
  confidence: number;
  since: string;
  until: string;
  variants: VariantStats[];
}

export interface Evidence {
  at: string;
  metric: string;
  control: number | null;
  candidate: number | null;
  delta: number | null;
  p_value: number | null;
  decision: string;
}

export interface Rollout {
  id: string;
  candidate: string;
  control: string;
  state: string;
  step: number;
  steps: number[];
  percent: number;
  weights: Record<string, number>;
  started_at: string;
  started_by: string | null;
  ended_at: string | null;
  incident: string | null;
  evidence: Evidence[];
}

export interface Prompt {
  name: string;
  description: string | null;
  latest_version: number | null;
  labels: Record<string, number>;
  splits: Record<string, { version: number; percent: number }>;
  created_at: string;
}

export interface PromptVersion {
  version: number;
  hash: string;
  messages: Array<{ role: string; content: unknown }>;
  model: string | null;
  params: unknown;
  author: string | null;
  message: string | null;
  created_at: string;
  labels: string[];
}

export interface PromptDiff {
  from: number;
  to: number;
  identical: boolean;
  unified: string;
}

export interface Budget {
  usd: number;
  period: string;
}

export interface Spend {
  period: string;
  reset_at: string | null;
  spent_usd: number;
  reserved_usd: number;
  remaining_usd: number;
}

/** `GET /api/calls/{id}/scores` rows (evals/api/call-scores.ts). */
export interface CallScore {
  id: string;
  scorer: string;
  score: number | null;
  label: string | null;
  reason: string | null;
  source: 'eval' | 'feedback' | 'online';
  run_id: string | null;
  created_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scope: string;
  team: { id: string; name: string } | null;
  budget: Budget | null;
  rate_limits: { rpm: number | null; tpm: number | null };
  last_used_at: string | null;
  revoked_at: string | null;
  spend?: { key: Spend | null; team: Spend | null } | null;
}

export interface Team {
  id: string;
  name: string;
  budget: Budget | null;
  key_count?: number;
  spend?: Spend | null;
}

export interface EvalRun {
  id: string;
  name: string;
  status: string;
  mode: string;
  trigger: string;
  dataset: { name: string; version: number | null } | null;
  created_at: string;
  finished_at: string | null;
  error: string | null;
  summary: unknown;
}
