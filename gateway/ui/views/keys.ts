import type { Context } from 'hono';
import type { UiEnv } from '../env.ts';
import * as f from '../format.ts';
import { html, type Html } from '../html.ts';
import { page, table } from '../layout.ts';
import type { ApiKey, Budget, List, Spend, Team } from './types.ts';

/**
 * `/ui/keys?revoked=1`: keys and teams with their spend against budget in the current period.
 * Two reads, whatever the number of keys: the lists with `?include=spend` read every budget's
 * period from the governance store in one call, the source `GET /api/keys/{id}` uses.
 */
export async function keysPage(c: Context<UiEnv>): Promise<Html> {
  const api = c.get('api');
  const showRevoked = c.req.query('revoked') === '1';
  const [keys, teams] = await Promise.all([api.get<List<ApiKey>>('/api/keys', { include: 'spend' }), api.get<List<Team>>('/api/teams', { include: 'spend' })]);
  const allKeys = keys.ok ? keys.body.data : [];
  const keyList = allKeys.filter((k) => showRevoked || !k.revoked_at);
  const teamList = teams.ok ? teams.body.data : [];
  // A team's unrevoked keys, as `key_count` of GET /api/teams/{id} counts them.
  const keyCount = new Map<string, number>();
  for (const k of allKeys) if (k.team && !k.revoked_at) keyCount.set(k.team.id, (keyCount.get(k.team.id) ?? 0) + 1);
  return page({
    title: 'Keys and teams',
    view: 'keys',
    error: keys.error ?? teams.error,
    body: html`
<form class="filters" method="get" action="/ui/keys">
  <label for="f-revoked">Show <select id="f-revoked" name="revoked"><option value="">active keys</option><option value="1"${showRevoked ? html` selected` : ''}>revoked keys too</option></select></label>
  <button type="submit">Show</button>
</form>
<h2>Teams</h2>
${table(
  'Teams: spend against budget this period',
  ['Team', 'Keys', 'Budget', 'Spent', 'Remaining', 'Resets'],
  teamList.map((t) => {
    const spend = t.spend ?? null;
    return [t.name, keys.ok ? String(keyCount.get(t.id) ?? 0) : '—', budgetText(t.budget), spendCell(t.budget, spend, `team ${t.name}`), f.usd(spend?.remaining_usd), f.time(spend?.reset_at)];
  }),
  'No teams.',
)}
<h2>Keys</h2>
${table(
  'Keys: spend against budget this period',
  ['Key', 'Prefix', 'Scope', 'Team', 'Budget', 'Spent', 'Remaining', 'Rate limits', 'Last used'],
  keyList.map((k) => {
    const spend = k.spend?.key ?? null;
    return [
      html`${k.name}${k.revoked_at ? html` <span class="badge bad">revoked</span>` : ''}`,
      html`<code>${k.prefix}</code>`,
      k.scope,
      k.team?.name ?? '—',
      budgetText(k.budget),
      spendCell(k.budget, spend, `key ${k.name}`),
      f.usd(spend?.remaining_usd),
      [k.rate_limits.rpm ? `${k.rate_limits.rpm} rpm` : '', k.rate_limits.tpm ? `${k.rate_limits.tpm} tpm` : ''].filter(Boolean).join(', ') || '—',
      f.time(k.last_used_at),
    ];
  }),
  'No keys.',
)}`,
  });
}

const budgetText = (b: Budget | null) => (b ? `${f.usd(b.usd)} / ${b.period}` : 'none');

function spendCell(budget: Budget | null, spend: Spend | null, who: string): Html {
  if (!budget || !spend) return html`—`;
  const used = spend.spent_usd + spend.reserved_usd;
  return html`<meter min="0" max="${budget.usd}" low="${budget.usd * 0.7}" high="${budget.usd * 0.9}" optimum="0" value="${Math.min(used, budget.usd)}" aria-label="Spend of ${who} against its budget"></meter> ${f.usd(spend.spent_usd)} <span class="muted">(${f.pct(budget.usd ? used / budget.usd : null)})</span>`;
}
