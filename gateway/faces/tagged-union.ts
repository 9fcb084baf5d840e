import { z } from 'zod';

type Option = z.core.$ZodTypeDiscriminable;

/**
 * A zod discriminated union on `type` whose "no such type" error says which type was sent,
 * why it is not supported when we know (server tools, hosted tools, …), and which types are.
 * The issue's path ends in `.type`, so the 400 names the exact field.
 */
export function tagged<const Options extends readonly [Option, ...Option[]]>(
  what: string,
  options: Options,
  unsupported: Readonly<Record<string, string>> = {},
): z.ZodDiscriminatedUnion<Options> {
  return z.discriminatedUnion('type', options, {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const input: unknown = issue.input;
      const type = typeof input === 'object' && input !== null ? (input as { type?: unknown }).type : undefined;
      if (typeof type !== 'string') return `${what} needs a string 'type'`;
      const known = (issue as { options?: unknown[] }).options ?? [];
      const supported = known.map((o) => `'${String(o)}'`).join(', ');
      return unsupported[type] ?? `${what} type '${type}' is not supported (supported: ${supported})`;
    },
  });
}
