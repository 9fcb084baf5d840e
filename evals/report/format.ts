/** Number formatting shared by the terminal and HTML reports. */
export const num = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

export const signed = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`);

export const interval = (ci: readonly [number, number] | null | undefined, digits = 3): string => (ci ? `[${num(ci[0], digits)}, ${num(ci[1], digits)}]` : '—');

export const pValue = (p: number | null | undefined): string => (p === null || p === undefined || !Number.isFinite(p) ? '—' : p < 0.0001 ? '<0.0001' : p.toFixed(4));

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}
