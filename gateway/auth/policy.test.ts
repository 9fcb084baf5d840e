import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GatewayError } from '../errors/gateway-error.ts';
import { validate } from '../pipeline/validate.ts';
import { MAX_TPM, policyColumns, policyFields, policyOf, policyPatchOf, policyView } from './policy.ts';

const row = {
  budgetUsd: 25,
  budgetPeriod: 'month' as const,
  rpm: 60,
  tpm: null,
  models: ['openai/*', 'support-bot'],
  prompts: null,
  metadata: { owner: 'ml' },
};
const empty = { budgetUsd: null, budgetPeriod: null, rpm: null, tpm: null, models: null, prompts: null, metadata: null };

const body = z.strictObject(policyFields);
/** The 400 a body gets, or null when it is accepted. */
function rejected(value: unknown): GatewayError | null {
  try {
    validate(body, value);
    return null;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
}

describe('policyOf', () => {
  it('turns the policy columns into a frozen Policy', () => {
    const p = policyOf(row);
    expect(p).toEqual({ budget: { usd: 25, period: 'month' }, rpm: 60, tpm: null, models: ['openai/*', 'support-bot'], prompts: null });
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.models)).toBe(true);
    // A copy: the row's array may change without changing the policy.
    row.models.push('x');
    expect(p.models).toHaveLength(2);
    row.models.pop();
  });

  it('null columns do not limit', () => {
    expect(policyOf(empty)).toEqual({ budget: null, rpm: null, tpm: null, models: null, prompts: null });
    // A budget needs both halves.
    expect(policyOf({ ...empty, budgetUsd: 5 }).budget).toBeNull();
  });

  it('views rows as the API shows them', () => {
    expect(policyView(row)).toEqual({ budget: { usd: 25, period: 'month' }, rate_limits: { rpm: 60, tpm: null }, models: row.models, prompts: null, metadata: { owner: 'ml' } });
    expect(policyView(empty).metadata).toEqual({});
  });
});

describe('policy patches', () => {
  it('absent is unchanged, null clears', () => {
    expect(policyPatchOf({})).toEqual({});
    expect(policyColumns(policyPatchOf({}))).toEqual({});
    expect(policyPatchOf({ rate_limits: { rpm: 5 } })).toEqual({ rpm: 5 });
    expect(policyPatchOf({ rate_limits: { tpm: null } })).toEqual({ tpm: null });
    expect(policyPatchOf({ rate_limits: null })).toEqual({ rpm: null, tpm: null });
    expect(policyColumns({ budget: null, models: null })).toEqual({ budgetUsd: null, budgetPeriod: null, models: null });
    expect(policyColumns({ budget: { usd: 0, period: 'total' }, metadata: { a: 'b' }, prompts: [] })).toEqual({
      budgetUsd: 0,
      budgetPeriod: 'total',
      metadata: { a: 'b' },
      prompts: [],
    });
  });
});

describe('policy body fields', () => {
  it('accepts what DESIGN §4.4 allows', () => {
    expect(
      rejected({
        budget: { usd: 1e9, period: 'week' },
        rate_limits: { rpm: 1, tpm: MAX_TPM },
        models: ['openai/*', 'anthropic/claude-haiku-4-5', 'support-bot', 'a@b:c'],
        prompts: null,
        metadata: { team: 'x'.repeat(500), ['k'.repeat(100)]: '' },
      }),
    ).toBeNull();
    expect(rejected({ budget: null, rate_limits: {}, models: [], metadata: null })).toBeNull();
  });

  it.each([
    [{ budget: { usd: -1, period: 'day' } }, 'budget.usd'],
    [{ budget: { usd: 1e9 + 1, period: 'day' } }, 'budget.usd'],
    [{ budget: { usd: '5', period: 'day' } }, 'budget.usd'],
    [{ budget: { usd: 5, period: 'year' } }, 'budget.period'],
    [{ budget: { usd: 5 } }, 'budget.period'],
    [{ budget: 5 }, 'budget'],
    [{ rate_limits: { rpm: 0 } }, 'rate_limits.rpm'],
    [{ rate_limits: { rpm: 1.5 } }, 'rate_limits.rpm'],
    [{ rate_limits: { rpm: 1e9 + 1 } }, 'rate_limits.rpm'],
    [{ rate_limits: { tpm: MAX_TPM + 1 } }, 'rate_limits.tpm'],
    [{ models: 'openai/*' }, 'models'],
    [{ models: [''] }, 'models[0]'],
    [{ models: ['ok', 'no spaces'] }, 'models[1]'],
    [{ models: ['x'.repeat(201)] }, 'models[0]'],
    [{ prompts: Array.from({ length: 101 }, () => 'p') }, 'prompts'],
    [{ metadata: { a: 1 } }, 'metadata.a'],
    [{ metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
    [{ metadata: { a: 'x'.repeat(501) } }, 'metadata.a'],
  ])('%j is a 400 naming %s', (value, param) => {
    const err = rejected(value);
    expect(err?.code).toBe('invalid_request');
    expect(err?.param).toBe(param);
    expect(err?.message).toContain(`'${param}'`);
  });

  it('refuses a metadata key that is too long or __proto__', () => {
    expect(rejected({ metadata: { ['k'.repeat(101)]: 'v' } })?.param).toMatch(/^metadata/);
    expect(rejected({ metadata: JSON.parse('{"__proto__": "x"}') })?.param).toMatch(/^metadata/);
  });
});
