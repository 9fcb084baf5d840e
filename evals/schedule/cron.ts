/**
 * Five-field cron (minute hour day-of-month month day-of-week), evaluated in UTC: `*`, lists,
 * ranges, steps (`*\/15`, `1-5/2`), and 0 or 7 for Sunday. As in Vixie cron, when both
 * day-of-month and day-of-week are restricted, a day matching either runs.
 */
export class CronError extends Error {}

interface Field {
  values: Set<number>;
  star: boolean;
}

export interface Cron {
  source: string;
  minute: Field;
  hour: Field;
  dom: Field;
  month: Field;
  dow: Field;
}

const RANGES: Array<[number, number]> = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

function field(text: string, [min, max]: [number, number], name: string): Field {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new CronError(`cron ${name}: cannot read '${part}'`);
    const step = m[4] === undefined ? 1 : Number(m[4]);
    const lo = m[1] === '*' ? min : Number(m[2]);
    const hi = m[1] === '*' ? max : m[3] === undefined ? (m[4] === undefined ? lo : max) : Number(m[3]);
    if (step < 1 || lo < min || hi > max || lo > hi) throw new CronError(`cron ${name}: '${part}' is outside ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) values.add(name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return { values, star: text === '*' };
}

export function parseCron(source: string): Cron {
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError(`cron '${source}': expected 5 fields (minute hour day month weekday)`);
  const names = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
  const [minute, hour, dom, month, dow] = parts.map((p, i) => field(p, RANGES[i]!, names[i]!)) as [Field, Field, Field, Field, Field];
  return { source, minute, hour, dom, month, dow };
}

function dayMatches(c: Cron, d: Date): boolean {
  const dom = c.dom.values.has(d.getUTCDate());
  const dow = c.dow.values.has(d.getUTCDay());
  if (c.dom.star && c.dow.star) return true;
  if (c.dom.star) return dow;
  if (c.dow.star) return dom;
  return dom || dow;
}

/** The first time strictly after `after` that the expression matches (minute resolution). */
export function nextRun(c: Cron, after: Date): Date {
  const d = new Date(after.getTime());
  d.setUTCSeconds(0, 0);
  d.setUTCMinutes(d.getUTCMinutes() + 1);
  // Four years of minutes bounds the search (29 February).
  for (let guard = 0; guard < 4 * 366 * 24 * 60; ) {
    if (!c.month.values.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      guard += 28 * 24 * 60;
      continue;
    }
    if (!dayMatches(c, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      guard += 24 * 60;
      continue;
    }
    if (!c.hour.values.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      guard += 60;
      continue;
    }
    if (!c.minute.values.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      guard += 1;
      continue;
    }
    return d;
  }
  throw new CronError(`cron '${c.source}' never matches`);
}
