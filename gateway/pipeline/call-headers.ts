import type { CallRecord } from '../calls/record.ts';
import { formatUsd } from '../cost/pricing.ts';

/**
 * The `x-sluice-*` response headers of a call, read from its record when the response starts:
 * route and variant, the prompt version applied, the cache status, the cost once it is known
 * (a cache hit costs 0; a stream is priced only after its headers went out) and, when given,
 * the gateway's overhead. One place, so no pipeline step writes headers of its own.
 */
export function callHeaders(record: Readonly<CallRecord>, overheadMs?: number, limits?: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = limits ? { ...limits } : {};
  if (record.route !== null) headers['x-sluice-route'] = record.route;
  if (record.variant !== null) headers['x-sluice-variant'] = record.variant;
  if (record.promptName !== null && record.promptVersion !== null) headers['x-sluice-prompt-version'] = `${record.promptName}@${record.promptVersion}`;
  if (record.cacheStatus !== null) headers['x-sluice-cache'] = record.cacheStatus;
  if (record.cacheStatus === 'hit') headers['x-sluice-cost-usd'] = '0';
  else if (record.costMicros !== null) headers['x-sluice-cost-usd'] = formatUsd(record.costMicros);
  if (overheadMs !== undefined) headers['x-sluice-overhead-ms'] = overheadMs.toFixed(3);
  return headers;
}
