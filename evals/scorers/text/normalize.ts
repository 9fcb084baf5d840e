/**
 * Text normalisation shared by the lexical scorers: Unicode folded to ASCII where it has an
 * equivalent (accents, dashes, quotes), lowercased on demand, and a light suffix stemmer so
 * "published" supports "publishes".
 */
export function fold(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[\u201c\u201d]/g, '"');
}

/** A crude stem: enough to match inflections of the same word, never meant to be linguistics. */
export function stem(word: string): string {
  let w = word.toLowerCase();
  if (w.endsWith("'s")) w = w.slice(0, -2);
  if (w.length > 5 && w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (w.length > 5 && w.endsWith('ing')) return w.slice(0, -3);
  if (w.length > 4 && w.endsWith('ed')) return w.slice(0, -2);
  if (w.length > 4 && w.endsWith('es') && /(s|x|z|ch|sh)es$/.test(w)) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && !w.endsWith('is')) return w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ly')) return w.slice(0, -2);
  return w;
}

/** Canonical digits of a numeric token: thousands separators and trailing `.0` dropped. */
export function canonicalNumber(raw: string): string {
  const s = raw.replace(/,(?=\d{3}\b)/g, '');
  const n = Number(s);
  return Number.isFinite(n) ? String(n) : s;
}
