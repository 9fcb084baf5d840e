import type { Context } from 'hono';
import type { UiEnv } from '../env.ts';
import * as f from '../format.ts';
import { html, type Html } from '../html.ts';
import { page, table } from '../layout.ts';
import { rolloutSection } from './routes.ts';
import type { List, Prompt, PromptDiff, PromptVersion, Rollout } from './types.ts';

/** `/ui/prompts`: the registry. */
export async function promptsPage(c: Context<UiEnv>): Promise<Html> {
  const res = await c.get('api').get<List<Prompt>>('/api/prompts');
  const rows = res.ok ? res.body.data : [];
  return page({
    title: 'Prompts',
    view: 'prompts',
    error: res.error,
    body: table(
      'Prompts in the registry',
      ['Prompt', 'Description', 'Latest version', 'Labels', 'Rolling out'],
      rows.map((p) => [
        html`<a href="/ui/prompts/${encodeURIComponent(p.name)}">${p.name}</a>`,
        p.description ?? '',
        p.latest_version === null ? '—' : String(p.latest_version),
        labelsText(p.labels),
        splitsText(p.splits),
      ]),
      'No prompts yet.',
    ),
  });
}

const labelsText = (labels: Record<string, number>) =>
  Object.entries(labels).map(([l, v]) => `${l} → v${v}`).join(', ') || '—';
const splitsText = (splits: Prompt['splits']) =>
  Object.entries(splits).map(([l, s]) => `${l}: v${s.version} at ${s.percent}%`).join(', ') || '—';

const messagesText = (v: PromptVersion | undefined) =>
  v ? v.messages.map((m) => `[${m.role}]\n${typeof m.content === 'string' ? m.content : JSON.stringify(m.content, null, 2)}`).join('\n\n') : '';

/** `/ui/prompts/:name?from=&to=`: versions, labels (and moving one), side-by-side diff, label rollouts. */
export async function promptPage(c: Context<UiEnv>): Promise<Html> {
  const api = c.get('api');
  const name = c.req.param('name') ?? '';
  const enc = encodeURIComponent(name);
  const [prompt, versions] = await Promise.all([api.get<Prompt>(`/api/prompts/${enc}`), api.get<List<PromptVersion>>(`/api/prompts/${enc}/versions`)]);
  if (!prompt.ok || !versions.ok) {
    return page({ title: `Prompt ${name}`, view: 'prompts', error: prompt.error ?? versions.error, body: html`<p><a href="/ui/prompts">Back to prompts</a></p>` });
  }
  const p = prompt.body;
  const list = [...versions.body.data].sort((a, b) => b.version - a.version);
  const latest = list[0]?.version ?? 0;
  const toN = versionParam(c.req.query('to'), list) ?? latest;
  const fromN = versionParam(c.req.query('from'), list) ?? Math.max(1, toN - 1);
  const from = list.find((v) => v.version === fromN);
  const to = list.find((v) => v.version === toN);
  const diff = from && to && fromN !== toN ? await api.get<PromptDiff>(`/api/prompts/${enc}/diff`, { from: String(fromN), to: String(toN) }) : null;
  const labels = Object.entries(p.labels).filter(([l]) => l !== 'latest');
  // A label's rollout (DESIGN §4.6), newest first; a label never rolled out answers 404 and shows nothing.
  const rollouts = await Promise.all(
    labels.map(async ([l]) => ({ label: l, res: await api.get<Rollout>(`/api/prompts/${enc}/labels/${encodeURIComponent(l)}/rollout`) })),
  );
  const versionOptions = (selected: number) => list.map((v) => html`<option value="${v.version}"${v.version === selected ? html` selected` : ''}>v${v.version}</option>`);
  return page({
    title: `Prompt ${p.name}`,
    view: 'prompts',
    notice: c.req.query('ok'),
    error: c.req.query('failed') ? 'The API refused to move the label.' : diff?.error,
    body: html`
<p><a href="/ui/prompts">Back to prompts</a></p>
${p.description ? html`<p>${p.description}</p>` : ''}
<h2>Labels</h2>
${table('Labels and the version each points at', ['Label', 'Version', 'Rollout'], Object.entries(p.labels).map(([l, v]) => [l, html`<span data-testid="label-${l}">v${v}</span>`, p.splits[l] ? `v${p.splits[l].version} at ${p.splits[l].percent}%` : '—']))}
<form class="filters" method="post" action="/ui/prompts/${enc}/labels">
  <label for="m-label">Label <input id="m-label" name="label" list="known-labels" value="${labels[0]?.[0] ?? 'production'}" required></label>
  <datalist id="known-labels">${labels.map(([l]) => html`<option value="${l}"></option>`)}</datalist>
  <label for="m-version">Version <select id="m-version" name="version">${versionOptions(latest)}</select></label>
  <button type="submit">Move label</button>
</form>
${rollouts.filter((r) => r.res.ok).map(
  (r) => html`<h2>Rollout behind ${r.label}</h2>${rolloutSection(r.res.body, `/ui/prompts/${enc}/labels/${encodeURIComponent(r.label)}/rollout/abort`)}`,
)}
<h2>Versions</h2>
${table(
  'Versions, newest first',
  ['Version', 'Created', 'Author', 'Message', 'Model', 'Labels', 'Hash'],
  list.map((v) => [`v${v.version}`, f.time(v.created_at), v.author ?? '—', v.message ?? '', v.model ?? '—', v.labels.join(', '), html`<code>${v.hash.slice(0, 12)}</code>`]),
)}
<h2>Compare versions</h2>
<form class="filters" method="get" action="/ui/prompts/${enc}">
  <label for="d-from">From <select id="d-from" name="from">${versionOptions(fromN)}</select></label>
  <label for="d-to">To <select id="d-to" name="to">${versionOptions(toN)}</select></label>
  <button type="submit">Compare</button>
</form>
<div class="diff">
  <section aria-label="Version ${fromN}"><h2>v${fromN}</h2><pre tabindex="0">${messagesText(from)}</pre></section>
  <section aria-label="Version ${toN}"><h2>v${toN}</h2><pre tabindex="0">${messagesText(to)}</pre></section>
</div>
${diff?.ok ? html`<h2>Unified diff</h2>${diff.body.identical ? html`<p class="empty">The versions are identical.</p>` : unified(diff.body.unified)}` : ''}`,
  });
}

function unified(text: string): Html {
  const lines = text.split('\n').map((l) => {
    if (l.startsWith('+') && !l.startsWith('+++')) return html`<ins>${l}</ins>`;
    if (l.startsWith('-') && !l.startsWith('---')) return html`<del>${l}</del>`;
    return html`${l}`;
  });
  return html`<pre tabindex="0">${lines.map((l, i) => (i ? html`\n${l}` : l))}</pre>`;
}

function versionParam(value: string | undefined, list: readonly PromptVersion[]): number | undefined {
  const n = Number(value);
  return Number.isInteger(n) && list.some((v) => v.version === n) ? n : undefined;
}

/** POST /ui/prompts/:name/labels {label, version} → PUT /api/prompts/{name}/labels/{label}. */
export async function moveLabel(c: Context<UiEnv>): Promise<Response> {
  const enc = encodeURIComponent(c.req.param('name') ?? '');
  const form = await c.req.parseBody();
  const label = typeof form.label === 'string' ? form.label.trim() : '';
  const version = Number(form.version);
  const res = label && Number.isInteger(version)
    ? await c.get('api').send('PUT', `/api/prompts/${enc}/labels/${encodeURIComponent(label)}`, { version })
    : { ok: false };
  return c.redirect(`/ui/prompts/${enc}?${res.ok ? 'ok=label_moved' : 'failed=1'}`, 303);
}

/** POST /ui/prompts/:name/labels/:label/rollout/abort → DELETE /api/prompts/{name}/labels/{label}/rollout. */
export async function abortPromptRollout(c: Context<UiEnv>): Promise<Response> {
  const enc = encodeURIComponent(c.req.param('name') ?? '');
  const res = await c.get('api').send('DELETE', `/api/prompts/${enc}/labels/${encodeURIComponent(c.req.param('label') ?? '')}/rollout`);
  return c.redirect(`/ui/prompts/${enc}?${res.ok ? 'ok=rollout_aborted' : 'failed=1'}`, 303);
}
