/**
 * The evals module's public surface for its two entry points (DESIGN §1: nothing imports
 * evals/ except the CLI entry — and the app, which mounts these routes).
 */
export { EVAL_USAGE, runEvalCli } from './cli.ts';
export { evalRoutes, type EvalRoutesDeps } from './api/routes.ts';
export { feedbackRoutes, type FeedbackRoutesDeps } from './api/feedback.ts';
export { callScoreRoutes } from './api/call-scores.ts';
export { openEvalQueue, type EvalQueue } from './queue/index.ts';
export { remoteGateway } from './gateway-client.ts';
export { startWorker, type RunningWorker } from './worker.ts';
export { resolveOnlineScoring } from './online/config.ts';
export { startOnlineScoring, type OnlineScoring } from './online/online-scoring.ts';
export { incidentRoutes, monitorRoutes } from './api/incidents.ts';
export { createMonitorRunner, type MonitorRunner } from './monitor/evaluator.ts';
export { resolveMonitors } from './monitor/monitors.ts';
export { createRollouts, type Rollouts } from './rollout/rollouts.ts';
export { promptRolloutRoutes, routeRolloutRoutes } from './api/rollouts.ts';
