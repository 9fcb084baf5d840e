import { html, type Html, type Renderable } from './html.ts';

export const NAV = [
  { href: '/ui', label: 'Overview', id: 'overview' },
  { href: '/ui/calls', label: 'Calls', id: 'calls' },
  { href: '/ui/incidents', label: 'Incidents', id: 'incidents' },
  { href: '/ui/routes', label: 'Routes', id: 'routes' },
  { href: '/ui/prompts', label: 'Prompts', id: 'prompts' },
  { href: '/ui/evals', label: 'Evals', id: 'evals' },
  { href: '/ui/keys', label: 'Keys & teams', id: 'keys' },
] as const;

export type ViewId = (typeof NAV)[number]['id'];

/** Fixed messages shown after a change (the query names one; no free text is reflected). */
export const NOTICES: Record<string, string> = {
  acked: 'Incident acknowledged.',
  resolved: 'Incident resolved.',
  label_moved: 'Label moved.',
  rollout_aborted: 'Rollout aborted; what was there before is restored.',
};

export interface PageOptions {
  title: string;
  view?: ViewId;
  body: Renderable;
  /** Charts on the page: loads uPlot. */
  charts?: boolean;
  notice?: string | undefined;
  error?: string | null | undefined;
}

export function page(opts: PageOptions): Html {
  const notice = opts.notice ? NOTICES[opts.notice] : undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${opts.title} · sluice</title>
<link rel="stylesheet" href="/ui/assets/app.css">
${opts.charts ? html`<link rel="stylesheet" href="/ui/assets/vendor/uPlot.min.css">` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/ui">sluice</a>
  ${opts.view ? html`<nav aria-label="Main"><ul>${NAV.map(
    (n) => html`<li><a href="${n.href}"${n.id === opts.view ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
  )}</ul></nav>
  <form method="post" action="/ui/logout" class="logout"><button type="submit">Sign out</button></form>` : ''}
</header>
<main id="main">
<h1>${opts.title}</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
${opts.body}
</main>
${opts.charts ? html`<script src="/ui/assets/vendor/uPlot.iife.min.js"></script>` : ''}
<script src="/ui/assets/app.js"></script>
</body>
</html>`;
}

/** A table from rows; `head` are the column titles. */
export function table(caption: string, head: readonly string[], rows: readonly Renderable[][], empty = 'Nothing here yet.'): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="table-wrap"><table>
<caption>${caption}</caption>
<thead><tr>${head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
<tbody>${rows.map((r) => html`<tr>${r.map((cell) => html`<td>${cell}</td>`)}</tr>`)}</tbody>
</table></div>`;
}

/** A labelled value, for the header cards of a view. */
export function stat(label: string, value: Renderable, testId?: string): Html {
  return html`<div class="stat"><dt>${label}</dt><dd${testId ? html` data-testid="${testId}"` : ''}>${value}</dd></div>`;
}
