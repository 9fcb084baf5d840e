/** Display formats of the dashboard (numbers stay exact in the API; these are for reading). */

export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (v !== 0 && Math.abs(v) < 0.01) return `$${v.toFixed(6)}`;
  return `$${v.toFixed(2)}`;
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
}

export function pct(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(digits)}%`;
}

export function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

/** ISO time as `YYYY-MM-DD HH:MM:SS UTC` (the dashboard shows UTC, like the API). */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isFinite(d.getTime()) ? `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC` : iso;
}

export function interval(ci: readonly [number, number] | null | undefined, f: (v: number) => string): string {
  return ci ? `[${f(ci[0])}, ${f(ci[1])}]` : '';
}

export function pretty(v: unknown): string {
  return JSON.stringify(v, null, 2) ?? 'null';
}
