/**
 * Built-in list prices, in USD per 1M tokens, standard (non-batch, non-priority) tier.
 *
 * A price change is a new entry with a later `effectiveFrom`, never an edit of an old one, so a
 * call is always priced by the entry in force on its day (see `pricing.ts`). Bump
 * PRICE_TABLE_VERSION whenever an entry is added, so stored costs can say which table made them.
 *
 * Not modelled (cost is then an under-estimate): Anthropic's long-context tier (>200K prompt
 * tokens on the 1M-context beta) and 1-hour cache writes (priced here at the 5-minute rate),
 * OpenAI flex/priority/batch tiers, audio and image-output tokens, per-call tool fees.
 */
export type PricedProvider = 'openai' | 'anthropic';
export type PriceKind = 'chat' | 'embedding';

export interface PriceEntry {
  provider: PricedProvider;
  /** Canonical id (see `model-id.ts`): no provider prefix, no snapshot date. */
  model: string;
  kind: PriceKind;
  /** UTC day the price took effect: 'YYYY-MM-DD'. */
  effectiveFrom: string;
  input: number;
  /** Absent for embeddings; a missing price falls back to `input` (see `pricing.ts`). */
  output?: number;
  /** Cache reads. */
  cachedInput?: number;
  /** Cache writes (Anthropic: the 5-minute TTL price). */
  cacheWrite?: number;
  /** Only when reasoning tokens are billed apart from output; no current list price does this. */
  reasoning?: number;
  /** Where the number came from and when it was checked. */
  source?: string;
}

export const PRICE_TABLE_VERSION = '2025-11-26';

const OPENAI = 'https://platform.openai.com/docs/pricing, checked 2025-11';
const OPENAI_LAUNCH = 'OpenAI launch announcement; pricing page, checked 2025-11';
const ANTHROPIC = 'https://docs.claude.com/en/docs/about-claude/pricing, checked 2025-11';

const openai = (
  model: string,
  effectiveFrom: string,
  input: number,
  cachedInput: number | null,
  output: number,
  source = OPENAI,
): PriceEntry => ({
  provider: 'openai',
  model,
  kind: 'chat',
  effectiveFrom,
  input,
  output,
  ...(cachedInput === null ? {} : { cachedInput }),
  source,
});

const embedding = (model: string, effectiveFrom: string, input: number): PriceEntry => ({
  provider: 'openai',
  model,
  kind: 'embedding',
  effectiveFrom,
  input,
  source: OPENAI,
});

// Anthropic's cache prices are fixed multiples of input (write 1.25x, read 0.1x), but the table
// spells them out so every number can be checked against the pricing page as printed.
const anthropic = (
  model: string,
  effectiveFrom: string,
  input: number,
  cacheWrite: number,
  cachedInput: number,
  output: number,
): PriceEntry => ({
  provider: 'anthropic',
  model,
  kind: 'chat',
  effectiveFrom,
  input,
  output,
  cacheWrite,
  cachedInput,
  source: ANTHROPIC,
});

export const PRICE_TABLE: readonly PriceEntry[] = Object.freeze([
  //      model                   effectiveFrom  input  cached  output
  openai('gpt-5.1', '2025-11-13', 1.25, 0.125, 10),
  openai('gpt-5', '2025-08-07', 1.25, 0.125, 10),
  openai('gpt-5-mini', '2025-08-07', 0.25, 0.025, 2),
  openai('gpt-5-nano', '2025-08-07', 0.05, 0.005, 0.4),
  openai('gpt-5-chat', '2025-08-07', 1.25, 0.125, 10), // requested as gpt-5-chat-latest
  openai('gpt-5-codex', '2025-09-15', 1.25, 0.125, 10),
  openai('gpt-5-pro', '2025-10-06', 15, null, 120),
  openai('gpt-4.1', '2025-04-14', 2, 0.5, 8),
  openai('gpt-4.1-mini', '2025-04-14', 0.4, 0.1, 1.6),
  openai('gpt-4.1-nano', '2025-04-14', 0.1, 0.025, 0.4),
  // The gpt-4o alias moved from the 2024-05-13 snapshot to the cheaper 2024-08-06 one on
  // 2024-10-02; the old snapshot keeps its own price under its own id.
  openai('gpt-4o', '2024-05-13', 5, null, 15, OPENAI_LAUNCH),
  openai('gpt-4o', '2024-10-02', 2.5, 1.25, 10),
  openai('gpt-4o-2024-05-13', '2024-05-13', 5, null, 15),
  openai('gpt-4o-mini', '2024-07-18', 0.15, 0.075, 0.6),
  openai('o1', '2024-12-17', 15, 7.5, 60),
  openai('o1-pro', '2025-03-19', 150, null, 600),
  // o3 launched at 10/40 and was cut by 80% on 2025-06-10.
  openai('o3', '2025-04-16', 10, 2.5, 40, OPENAI_LAUNCH),
  openai('o3', '2025-06-10', 2, 0.5, 8),
  openai('o3-pro', '2025-06-10', 20, null, 80),
  openai('o3-mini', '2025-01-31', 1.1, 0.55, 4.4),
  openai('o4-mini', '2025-04-16', 1.1, 0.275, 4.4),
  openai('gpt-4-turbo', '2024-04-09', 10, null, 30),
  openai('gpt-4', '2023-03-14', 30, null, 60),
  // The alias moved to the 0125 snapshot on 2024-02-16; 1106 is still listed at its own price.
  openai('gpt-3.5-turbo', '2024-02-16', 0.5, null, 1.5),
  openai('gpt-3.5-turbo-1106', '2023-11-06', 1, null, 2),

  embedding('text-embedding-3-small', '2024-01-25', 0.02),
  embedding('text-embedding-3-large', '2024-01-25', 0.13),
  embedding('text-embedding-ada-002', '2022-12-15', 0.1),

  //         model                effectiveFrom  input  write   read  output
  anthropic('claude-opus-4-5', '2025-11-24', 5, 6.25, 0.5, 25),
  anthropic('claude-opus-4-1', '2025-08-05', 15, 18.75, 1.5, 75),
  anthropic('claude-opus-4', '2025-05-22', 15, 18.75, 1.5, 75),
  anthropic('claude-sonnet-4-5', '2025-09-29', 3, 3.75, 0.3, 15),
  anthropic('claude-sonnet-4', '2025-05-22', 3, 3.75, 0.3, 15),
  anthropic('claude-3-7-sonnet', '2025-02-24', 3, 3.75, 0.3, 15),
  anthropic('claude-3-5-sonnet', '2024-06-20', 3, 3.75, 0.3, 15),
  anthropic('claude-haiku-4-5', '2025-10-15', 1, 1.25, 0.1, 5),
  anthropic('claude-3-5-haiku', '2024-11-04', 0.8, 1, 0.08, 4),
  anthropic('claude-3-haiku', '2024-03-13', 0.25, 0.3, 0.03, 1.25),
  anthropic('claude-3-opus', '2024-02-29', 15, 18.75, 1.5, 75),
]);
