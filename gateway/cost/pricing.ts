/**
 * Turns normalised usage into a cost in micro-USD (1e-6 USD).
 *
 * A price in USD per 1M tokens is exactly micro-USD per token, so cost is a plain sum of
 * tokens × price. To keep that sum exact, prices are scaled once to integer pico-USD
 * (1e-12 USD) per token and the sum is taken in integers; the single division back to micro-USD
 * is then the double nearest the exact decimal. The result keeps up to six decimals (whole
 * pico-USD) rather than rounding to whole micros, because one embedding call of a few tokens
 * costs well under a micro-USD and those fractions add up. Integer arithmetic stays exact up to
 * 2^53 pico-USD (about $9,000) per call; prices are taken to 1e-6 USD per 1M tokens.
 *
 * An unknown model or missing usage is `null` / 'unpriced', never 0: a zero would read as
 * "free" in every total that includes it.
 */
import type { NormalizedUsage } from '../../core/usage.ts';
import { createModelIdResolver } from './model-id.ts';
import { PRICE_TABLE, type PriceEntry, type PriceKind } from './price-table.ts';

export type CostStatus = 'exact' | 'estimated' | 'unpriced';

/** USD per 1M tokens, from config `pricing.overrides["provider/model" | "model"]`. */
export interface PriceOverride {
  input: number;
  output?: number;
  cachedInput?: number;
  cacheWrite?: number;
  reasoning?: number;
}

export type ProviderType = 'openai' | 'openai-compatible' | 'anthropic';

export interface PriceArgs {
  /** The configured provider's name (the `provider` half of an override key). */
  provider: string;
  providerType: ProviderType;
  model: string;
  usage: NormalizedUsage | null;
  /** Usage was counted by the gateway (tiktoken), not reported by the upstream. */
  estimated?: boolean;
  /** When the call was made; picks the price in force that day. Defaults to now. */
  at?: Date;
  kind?: PriceKind;
}

export interface PriceResult {
  costMicros: number | null;
  status: CostStatus;
}

export interface Pricer {
  price(args: PriceArgs): PriceResult;
}

export interface PricerOptions {
  overrides?: Record<string, PriceOverride>;
  table?: readonly PriceEntry[];
  /** Clock used when a call has no `at`. */
  now?: () => Date;
}

/** Prices in integer pico-USD per token. */
interface Rates {
  input: number;
  output: number;
  cachedInput: number;
  cacheWrite: number;
  /** Null: reasoning is billed as output. */
  reasoning: number | null;
}

interface DatedRates {
  provider: PriceEntry['provider'];
  kind: PriceKind;
  from: number;
  rates: Rates;
}

const UNPRICED: PriceResult = Object.freeze({ costMicros: null, status: 'unpriced' });
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function toPico(usdPerMillion: number, where: string): number {
  if (!Number.isFinite(usdPerMillion) || usdPerMillion < 0) {
    throw new Error(`${where}: price must be a finite number >= 0, got ${usdPerMillion}`);
  }
  return Math.round(usdPerMillion * 1e6);
}

/** A price given only for input applies to every token kind (flat-rate overrides, embeddings). */
function toRates(p: PriceOverride, where: string): Rates {
  const input = toPico(p.input, `${where}.input`);
  const or = (v: number | undefined, field: string): number =>
    v === undefined ? input : toPico(v, `${where}.${field}`);
  return {
    input,
    output: or(p.output, 'output'),
    cachedInput: or(p.cachedInput, 'cachedInput'),
    cacheWrite: or(p.cacheWrite, 'cacheWrite'),
    reasoning: p.reasoning === undefined ? null : toPico(p.reasoning, `${where}.reasoning`),
  };
}

const tokens = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

function costOf(r: Rates, u: NormalizedUsage): number {
  const cached = tokens(u.cachedInputTokens);
  const written = tokens(u.cacheWriteTokens);
  const uncached = Math.max(0, tokens(u.inputTokens) - cached - written);
  const output = tokens(u.outputTokens);
  const reasoning = r.reasoning === null ? 0 : Math.min(tokens(u.reasoningTokens), output);
  const pico =
    uncached * r.input +
    cached * r.cachedInput +
    written * r.cacheWrite +
    (output - reasoning) * r.output +
    reasoning * (r.reasoning ?? 0);
  return pico / 1e6;
}

function indexTable(table: readonly PriceEntry[]): Map<string, DatedRates[]> {
  const byModel = new Map<string, DatedRates[]>();
  table.forEach((e, i) => {
    const where = `price table [${i}] ${e.provider}/${e.model}`;
    if (!DAY.test(e.effectiveFrom) || Number.isNaN(Date.parse(e.effectiveFrom))) {
      throw new Error(`${where}: effectiveFrom must be YYYY-MM-DD, got ${e.effectiveFrom}`);
    }
    const list = byModel.get(e.model) ?? [];
    list.push({ provider: e.provider, kind: e.kind, from: Date.parse(e.effectiveFrom), rates: toRates(e, where) });
    byModel.set(e.model, list);
  });
  // Newest first, so lookup takes the first entry already in force.
  for (const list of byModel.values()) list.sort((a, b) => b.from - a.from);
  return byModel;
}

export function createPricer(opts: PricerOptions = {}): Pricer {
  const byModel = indexTable(opts.table ?? PRICE_TABLE);
  const overrides = new Map<string, Rates>();
  for (const [key, p] of Object.entries(opts.overrides ?? {})) {
    overrides.set(key, toRates(p, `pricing.overrides["${key}"]`));
  }
  const resolve = createModelIdResolver(new Set(byModel.keys()));
  const now = opts.now ?? (() => new Date());

  function lookup(args: PriceArgs, canonical: string): Rates | null {
    if (overrides.size > 0) {
      const override =
        overrides.get(`${args.provider}/${args.model}`) ??
        overrides.get(`${args.provider}/${canonical}`) ??
        overrides.get(args.model) ??
        overrides.get(canonical);
      if (override !== undefined) return override;
    }

    const list = byModel.get(canonical);
    if (list === undefined) return null;
    const at = (args.at ?? now()).getTime();
    for (const entry of list) {
      // An OpenAI-compatible upstream serving a table model by its exact canonical id (a hosted
      // proxy of gpt-4o) costs what the original does; a first-party provider only its own.
      if (args.providerType !== 'openai-compatible' && entry.provider !== args.providerType) continue;
      if (args.kind !== undefined && entry.kind !== args.kind) continue;
      if (entry.from <= at) return entry.rates;
    }
    return null;
  }

  return {
    price(args) {
      if (args.usage === null) return UNPRICED;
      const rates = lookup(args, resolve(args.model));
      if (rates === null) return UNPRICED;
      return { costMicros: costOf(rates, args.usage), status: args.estimated === true ? 'estimated' : 'exact' };
    },
  };
}

/**
 * Micro-USD as a plain decimal USD string for the `x-sluice-cost-usd` header: no exponent,
 * trailing zeros trimmed, "0" for zero (12.5 → "0.0000125"). Precision is whole pico-USD,
 * the precision `price` produces.
 */
export function formatUsd(costMicros: number): string {
  if (!Number.isFinite(costMicros)) throw new RangeError(`formatUsd: not a finite cost: ${costMicros}`);
  const sign = costMicros < 0 ? '-' : '';
  const abs = Math.abs(costMicros);
  // Split before scaling so large costs keep their low digits.
  let micros = Math.trunc(abs);
  let pico = Math.round((abs - micros) * 1e6);
  if (pico === 1e6) {
    micros += 1;
    pico = 0;
  }
  const digits = (micros === 0 ? '' : String(micros)) + String(pico).padStart(6, '0');
  const padded = digits.padStart(13, '0');
  const whole = padded.slice(0, -12).replace(/^0+(?=\d)/, '');
  const frac = padded.slice(-12).replace(/0+$/, '');
  if (whole === '0' && frac === '') return '0';
  return `${sign}${whole}${frac === '' ? '' : `.${frac}`}`;
}
