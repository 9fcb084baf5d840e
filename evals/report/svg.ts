import { escapeHtml } from './format.ts';

/**
 * Tiny inline SVG charts for the HTML report: no scripts, no external assets, readable when the
 * file is mailed or archived as a CI artifact.
 */
export interface LineSeries {
  name: string;
  points: Array<{ x: number; y: number; label?: string }>;
}

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4d7c0f', '#be185d'];
export const colorOf = (i: number): string => PALETTE[i % PALETTE.length]!;

export function lineChart(series: readonly LineSeries[], opts: { width?: number; height?: number; yMin?: number; yMax?: number; xLabel?: (x: number) => string } = {}): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 240;
  const pad = { l: 44, r: 12, t: 12, b: 40 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  if (xs.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="40"><text x="8" y="24" font-size="12">no data</text></svg>`;
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = opts.yMin ?? 0;
  const y1 = opts.yMax ?? 1;
  const sx = (x: number) => pad.l + (x1 === x0 ? (W - pad.l - pad.r) / 2 : ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r));
  const sy = (y: number) => H - pad.b - ((Math.min(y1, Math.max(y0, y)) - y0) / (y1 - y0 || 1)) * (H - pad.t - pad.b);
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${pad.l - 6}" y="${(sy(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#374151">${v.toFixed(2)}</text>`);
  }
  const label = opts.xLabel ?? ((x: number) => new Date(x).toISOString().slice(0, 10));
  parts.push(`<text x="${pad.l}" y="${H - 22}" font-size="11" fill="#374151">${escapeHtml(label(x0))}</text>`);
  if (x1 !== x0) parts.push(`<text x="${W - pad.r}" y="${H - 22}" font-size="11" text-anchor="end" fill="#374151">${escapeHtml(label(x1))}</text>`);
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const color = colorOf(i);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"><title>${escapeHtml(`${s.name}: ${p.y.toFixed(3)}${p.label ? ` (${p.label})` : ''}`)}</title></circle>`);
    }
    parts.push(`<rect x="${pad.l + i * 120}" y="${H - 14}" width="10" height="10" fill="${color}"/><text x="${pad.l + i * 120 + 14}" y="${H - 5}" font-size="11" fill="#111827">${escapeHtml(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">${parts.join('')}</svg>`;
}

/** Histogram of scores in [0, 1] (10 bins), one group of bars per series. */
export function histogram(series: ReadonlyArray<{ name: string; values: readonly number[] }>, opts: { width?: number; height?: number } = {}): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 180;
  const pad = { l: 36, r: 12, t: 10, b: 36 };
  const bins = 10;
  const counts = series.map((s) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of s.values) c[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]!++;
    return c;
  });
  const maxShare = Math.max(1e-9, ...counts.map((c, i) => Math.max(...c) / Math.max(1, series[i]!.values.length)));
  const bw = (W - pad.l - pad.r) / bins;
  const parts: string[] = [];
  counts.forEach((c, si) => {
    const n = Math.max(1, series[si]!.values.length);
    c.forEach((k, b) => {
      const share = k / n;
      const h = (share / maxShare) * (H - pad.t - pad.b);
      const w = bw / series.length - 2;
      const x = pad.l + b * bw + si * (bw / series.length) + 1;
      parts.push(`<rect x="${x.toFixed(1)}" y="${(H - pad.b - h).toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${colorOf(si)}" opacity="0.8"><title>${escapeHtml(`${series[si]!.name} ${(b / bins).toFixed(1)}–${((b + 1) / bins).toFixed(1)}: ${k}`)}</title></rect>`);
    });
  });
  for (let b = 0; b <= bins; b += 2) parts.push(`<text x="${(pad.l + b * bw).toFixed(1)}" y="${H - pad.b + 14}" font-size="11" text-anchor="middle" fill="#374151">${(b / bins).toFixed(1)}</text>`);
  series.forEach((s, i) => parts.push(`<rect x="${pad.l + i * 120}" y="${H - 14}" width="10" height="10" fill="${colorOf(i)}"/><text x="${pad.l + i * 120 + 14}" y="${H - 5}" font-size="11">${escapeHtml(s.name)}</text>`));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">${parts.join('')}</svg>`;
}
