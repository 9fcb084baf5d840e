/** The prompt registry's public surface (DESIGN §4.2), for the gateway, the CLI and evals. */
export { appendAudit, type AuditEntry } from './audit.ts';
export { contentHash } from './canonical.ts';
export { checkName, NAME_PATTERN } from './content.ts';
export { diffVersions, type PromptDiff } from './diff.ts';
export { PromptError, promptErrorBody, type PromptErrorCode, type PromptErrorStatus } from './errors.ts';
export { pullPrompts, pushPrompts, type PromptFilesStore, type PushSummary } from './files.ts';
export { declaredVariables, renderMessages } from './render.ts';
export { parsePromptRef, PromptResolver, type PromptResolverOptions } from './resolver.ts';
export { promptRoutes, type PromptRoutesDeps } from './routes.ts';
export { PROMPTS_CHANNEL, PromptStore, type CreateVersionResult, type LabelMove, type LabelSplitChange } from './store.ts';
export type {
  ContentPart,
  JsonObject,
  LabelSplit,
  PromptContent,
  PromptDb,
  PromptDraw,
  PromptHeads,
  PromptMessage,
  PromptRef,
  PromptStoreDatabase,
  PromptSummary,
  PromptTx,
  PromptVersion,
} from './types.ts';
