import type { SluiceConfig } from './config/schema.ts';

/** One line of the start banner, for the JSON logger. */
export interface BannerLine {
  level: 'info' | 'warn';
  msg: string;
  fields?: Record<string, unknown>;
}

export interface BannerInput {
  url: string;
  database: 'pglite' | 'postgres';
  /** PGlite's directory (never the DATABASE_URL, which may hold a password). */
  dataDir?: string | undefined;
  config: Pick<SluiceConfig, 'providers' | 'routes' | 'models'>;
  /** Whether the key table holds an unrevoked key. */
  hasKeys: boolean;
  adminKeySet: boolean;
  /** Whether this process runs the compiled gateway (dist/) or its TypeScript through tsx. */
  compiled?: boolean | undefined;
}

export const CREATE_KEY_COMMAND = 'npx sluice keys create --name me --scope admin';

/**
 * What a new user needs to know when the gateway comes up (issue 14 item 2): where it
 * listens, what it stores to, which providers and models it found, and, when nothing would
 * let them in yet, the one command that does. Logged once by startGateway.
 */
export function startBanner(input: BannerInput): BannerLine[] {
  const { config } = input;
  const providers = Object.entries(config.providers).map(([name, p]) => ({
    name,
    type: p.type,
    models: p.models ? p.models.map((m) => `${name}/${m}`) : 'from upstream /v1/models',
  }));
  const routes = Object.entries(config.routes).map(([name, r]) => `${name} (${r.variants.map((v) => v.name).join(', ')})`);
  const lines: BannerLine[] = [
    {
      level: 'info',
      // The exact msg and a top-level `url` are what scripts wait for (bench, reliability tests).
      msg: 'sluice listening',
      fields: {
        url: input.url,
        database: input.database,
        code: input.compiled ? 'compiled' : 'typescript',
        ...(input.dataDir ? { data_dir: input.dataDir } : {}),
        providers,
        ...(Object.keys(config.models).length ? { models: config.models } : {}),
        routes,
      },
    },
  ];
  if (providers.length === 0) {
    lines.push({
      level: 'warn',
      msg:
        'no providers configured, so every model call will fail with model_not_found: set OPENAI_API_KEY (with OPENAI_BASE_URL ' +
        'for an OpenAI-compatible server such as Ollama) and/or ANTHROPIC_API_KEY, or point SLUICE_CONFIG at a ' +
        'sluice.config.yaml with a providers: section, then restart',
    });
  }
  if (!input.hasKeys && !input.adminKeySet) {
    lines.push({
      level: 'warn',
      msg: `no gateway key exists yet and SLUICE_ADMIN_KEY is not set: create an admin key with \`${CREATE_KEY_COMMAND}\` (it prints the key once; works while the server runs)`,
      fields: { command: CREATE_KEY_COMMAND },
    });
  }
  return lines;
}
