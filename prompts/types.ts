import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

export type JsonObject = { [key: string]: unknown };

/** A text part is templated; every other part (image_url, input_audio, …) passes through untouched. */
export type ContentPart = { type: 'text'; text: string } | ({ type: string } & JsonObject);

export type PromptRole = 'system' | 'developer' | 'user' | 'assistant';

export interface PromptMessage {
  role: PromptRole;
  content: string | ContentPart[];
  name?: string;
}

/** What a version's hash covers; two versions with equal content are the same prompt. */
export interface PromptContent {
  messages: PromptMessage[];
  model: string | null;
  params: JsonObject;
  /** JSON schema for the render variables, or null. */
  variables: JsonObject | null;
}

export interface PromptVersion extends PromptContent {
  prompt: string;
  version: number;
  hash: string;
  author: string;
  message: string | null;
  createdAt: Date;
}

export interface PromptSummary {
  name: string;
  description: string | null;
  createdAt: Date;
  /** Highest version, or null before the first version. */
  latestVersion: number | null;
  /** Stored labels only; `latest` is implied by latestVersion. */
  labels: Record<string, number>;
  /** Labels being rolled out (DESIGN §4.6); absent where the source does not report them. */
  splits?: Record<string, LabelSplit>;
}

/**
 * A label being rolled out (DESIGN §4.6): a call referencing `name@label` goes to `version`
 * when its draw in [0,1) is below `percent`/100, else to the version the label points at.
 */
export interface LabelSplit {
  version: number;
  /** 0..100. */
  percent: number;
}

/** Where a prompt's labels point right now. */
export interface PromptHeads {
  latest: number | null;
  labels: ReadonlyMap<string, number>;
  /** Per label, the split of its calls with another version, when one is being rolled out. */
  splits: ReadonlyMap<string, LabelSplit>;
}

/** A change committed through this process's store (store.watch). */
export interface PromptChange {
  name: string;
  /** Set when a version was created (it is now `latest`). */
  created?: PromptVersion;
  /** Set when a label moved. */
  label?: { label: string; version: number };
  /** Set when a label's split was set (with the split's version) or cleared (`split` null). */
  split?: { label: string; split: LabelSplit; version: PromptVersion } | { label: string; split: null };
}

/**
 * A sticky draw in [0,1) deciding which side of a label split a call takes (`draw` < percent/100:
 * the split's version). A function is called only when the label has a split, at most once.
 */
export type PromptDraw = number | (() => number);

/** A reference to one version: a number, or a label (`latest` = the highest version). */
export type PromptRef = { version: number } | { label: string };

// drizzle's database type is generic in the app's full schema; the registry only uses its own
// tables through the query builder, so any schema will do.
export type PromptDb = PgDatabase<PgQueryResultHKT, any>;

/** A transaction on PromptDb, from either driver (postgres-js or PGlite). */
export type PromptTx = Parameters<Parameters<PromptDb['transaction']>[0]>[0];

/**
 * The slice of the gateway's Database the registry needs (structurally compatible with
 * gateway/db/client.ts, which prompts/ must not import).
 */
export interface PromptStoreDatabase {
  db: PromptDb;
  /** LISTEN on a channel; false = this driver cannot (PGlite), so poll instead. `onListen`: every (re)connect. */
  listen(channel: string, onNotify: (payload: string) => void, onListen?: () => void): Promise<boolean>;
}
