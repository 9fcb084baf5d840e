import { prepareBody, redactValue, type PayloadPolicy } from '../../calls/payloads.ts';

/** One JSON column as it will be stored: redacted text, its size, and whether it was cut. */
export interface StoredColumn {
  /** The stored value (what a read of the row gives back). */
  value: unknown;
  json: string;
  bytes: number;
  truncated: boolean;
}

/** A turn's four JSON columns, ready to insert. */
export interface PreparedTurn {
  request: StoredColumn;
  inputItems: StoredColumn;
  outputItems: StoredColumn;
  response: StoredColumn;
  /** Any column was cut: the turn stays readable but cannot be continued. */
  truncated: boolean;
  /** Sum of the columns' UTF-8 bytes. */
  bytes: number;
}

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * One value the way the call log keeps a body (gateway/calls/payloads.ts): redacted (credential
 * field names, configured fields and patterns, key-shaped strings, text Postgres cannot hold),
 * then, past `policy.maxBytes`, cut inside the structure. Serialised once; the text is inserted
 * as is (`::jsonb`), not serialised again.
 */
export function prepareColumn(value: unknown, policy: PayloadPolicy): StoredColumn {
  const clean = redactValue(value, policy) ?? null;
  const json = JSON.stringify(clean);
  const bytes = utf8Bytes(json);
  if (bytes <= policy.maxBytes) return { value: clean, json, bytes, truncated: false };
  // Rare: prepareBody redacts again, then cuts long strings and arrays until it fits.
  const cut = prepareBody(value, policy).json ?? 'null';
  return { value: JSON.parse(cut) as unknown, json: cut, bytes: utf8Bytes(cut), truncated: true };
}

/** The columns of one stored turn. Each is capped on its own, so a row holds at most 4 × maxBytes. */
export function prepareTurn(
  turn: { request: unknown; inputItems: unknown; outputItems: unknown; response: unknown },
  policy: PayloadPolicy,
): PreparedTurn {
  const request = prepareColumn(turn.request, policy);
  const inputItems = prepareColumn(turn.inputItems, policy);
  const outputItems = prepareColumn(turn.outputItems, policy);
  const response = prepareColumn(turn.response, policy);
  const columns = [request, inputItems, outputItems, response];
  return {
    request,
    inputItems,
    outputItems,
    response,
    truncated: columns.some((c) => c.truncated),
    bytes: columns.reduce((n, c) => n + c.bytes, 0),
  };
}
