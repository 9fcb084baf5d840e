import { otlpSettings, propagateOnly, type Tracing } from './tracing.ts';

/**
 * The app's Tracing from the environment: the OTel SDK (loaded only then, tracing-otel.ts) when
 * an OTLP endpoint is set, else propagation only. Its own module, so the SDK side can import the
 * shared helpers of tracing.ts without a cycle.
 */
export async function tracingFromEnv(vars: Readonly<Record<string, string | undefined>>): Promise<Tracing> {
  const settings = otlpSettings(vars);
  if (settings === undefined) return propagateOnly;
  const { otlpTracing } = await import('./tracing-otel.ts');
  return await otlpTracing(settings);
}
