import { and, eq, lt, or, sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import type { NotificationConfig } from '../../gateway/config/monitors-schema.ts';
import type { Logger } from '../../gateway/logger.ts';
import { notifierFor, type IncidentMessage } from '../notify/notifiers.ts';
import { incidents, monitorStates, notificationDeliveries } from '../schema.ts';
import type { ResolvedMonitor } from './monitors.ts';

/** Advisory lock key of the monitor leader ('sluimon' in ASCII). */
const LEADER_LOCK = 0x736c75696d6f6e;
/** A delivery claimed this long ago by an instance that never finished it is taken again. */
const STALE_CLAIM_MS = 120_000;

export interface MonitorRunnerOptions {
  database: Pick<Database, 'db'>;
  monitors: readonly ResolvedMonitor[];
  /** Every configured notification channel by name (monitors' and rollouts' incidents deliver to them). */
  channels: Readonly<Record<string, NotificationConfig>>;
  /** Looked at once per tick after the monitors, in their own transaction (evals/rollout/rollouts.ts). */
  rollouts?: { tick(): Promise<void> };
  logger: Logger;
  /** Wall clock, epoch ms. */
  clock: () => number;
  intervalMs: number;
  /** Where an incident can be seen (the gateway's URL); links in notifications. */
  baseUrl?: () => string | undefined;
  /** Tries per notification, and the waits between them (doubling). */
  delivery?: { tries: number; firstBackoffMs: number; timeoutMs: number };
  sleep?: (ms: number) => Promise<void>;
}

export interface MonitorRunner {
  /** One evaluation of every monitor (if this instance holds the lead now), then pending deliveries. */
  tick(): Promise<void>;
  /** Evaluates every `intervalMs` until stopped. */
  start(): void;
  stop(): Promise<void>;
}

/**
 * Monitors evaluated continuously (DESIGN §4.6). Each tick, the instance that takes the
 * transaction-scoped advisory lock evaluates; the others skip, and a monitor evaluated less than
 * half an interval ago is not evaluated again, so the instances together evaluate each monitor
 * once per interval, and when one dies the next tick of another takes over. A breach (enough
 * samples and the detector says so) opens one incident and queues its notifications; further
 * breached evaluations keep that incident; after `recover_after` within bounds it resolves itself.
 * Notifications are delivered after the transaction, each claimed by one instance, retried with
 * backoff, and recorded.
 */
export function createMonitorRunner(opts: MonitorRunnerOptions): MonitorRunner {
  const delivery = opts.delivery ?? { tries: 4, firstBackoffMs: 1_000, timeoutMs: 10_000 };
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const abort = new AbortController();

  async function evaluate(): Promise<void> {
    const now = new Date(opts.clock());
    await opts.database.db.transaction(async (tx) => {
      const [lock] = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${LEADER_LOCK}) as locked`));
      if (!lock?.locked) return;
      for (const monitor of opts.monitors) {
        const [state] = await tx.select().from(monitorStates).where(eq(monitorStates.monitor, monitor.name));
        if (state && now.getTime() - state.evaluatedAt.getTime() < opts.intervalMs / 2) continue;
        const m = await monitor.read({ db: tx as unknown as Database['db'] }, now);
        const enough = m.breached !== null;
        let openIncidentId = state?.openIncidentId ?? null;
        let okSince = state?.okSince ?? null;
        if (m.breached) {
          okSince = null;
          if (openIncidentId === null) {
            const [opened] = await tx
              .insert(incidents)
              .values({
                monitor: monitor.name,
                scope: monitor.scope as Record<string, string>,
                metric: monitor.metric,
                value: m.value!,
                baseline: m.baseline,
                detector: monitor.config.detector as Record<string, unknown>,
                status: 'open',
                evidence: { window: monitor.config.window, samples: m.samples, min_samples: monitor.config.min_samples, example_calls: m.examples, ...m.detail },
                openedAt: now,
              })
              .returning({ id: incidents.id });
            openIncidentId = opened!.id;
            await queueDeliveries(tx, monitor, openIncidentId, 'opened', now);
            opts.logger.warn('monitor breached: incident opened', { monitor: monitor.name, metric: monitor.metric, value: m.value, baseline: m.baseline, incident: openIncidentId });
          }
        } else if (openIncidentId !== null && enough) {
          okSince ??= now;
          if (now.getTime() - okSince.getTime() >= monitor.recoverMs) {
            const resolved = await tx
              .update(incidents)
              .set({ status: 'resolved', resolvedAt: now, resolvedBy: 'auto' })
              .where(and(eq(incidents.id, openIncidentId), eq(incidents.status, 'open')))
              .returning({ id: incidents.id });
            if (resolved.length > 0) await queueDeliveries(tx, monitor, openIncidentId, 'resolved', now);
            opts.logger.info('monitor recovered: incident resolved', { monitor: monitor.name, incident: openIncidentId });
            openIncidentId = null;
            okSince = null;
          }
        }
        const row = {
          monitor: monitor.name,
          state: !enough ? ('insufficient_data' as const) : m.breached ? ('breached' as const) : ('ok' as const),
          value: m.value,
          samples: m.samples,
          evaluatedAt: now,
          openIncidentId,
          okSince,
        };
        await tx.insert(monitorStates).values(row).onConflictDoUpdate({ target: monitorStates.monitor, set: row });
      }
    });
  }

  async function queueDeliveries(tx: { insert: Database['db']['insert'] }, monitor: ResolvedMonitor, incidentId: string, event: 'opened' | 'resolved', now: Date): Promise<void> {
    if (monitor.channels.length === 0) return;
    await tx.insert(notificationDeliveries).values(monitor.channels.map((c) => ({ incidentId, channel: c.name, event, status: 'pending' as const, createdAt: now })));
  }

  async function deliverPending(): Promise<void> {
    const now = opts.clock();
    const pending = await opts.database.db
      .select()
      .from(notificationDeliveries)
      .where(
        or(
          eq(notificationDeliveries.status, 'pending'),
          and(eq(notificationDeliveries.status, 'sending'), lt(notificationDeliveries.claimedAt, new Date(now - STALE_CLAIM_MS))),
        ),
      )
      .orderBy(notificationDeliveries.createdAt)
      .limit(50);
    for (const d of pending) {
      if (stopped) return;
      // Claimed by one instance: the update only succeeds for whoever changes it first.
      const claimed = await opts.database.db
        .update(notificationDeliveries)
        .set({ status: 'sending', claimedAt: new Date(opts.clock()) })
        .where(and(eq(notificationDeliveries.id, d.id), eq(notificationDeliveries.status, d.status), d.claimedAt === null ? sql`claimed_at is null` : eq(notificationDeliveries.claimedAt, d.claimedAt)))
        .returning({ id: notificationDeliveries.id });
      if (claimed.length === 0) continue;
      await deliver(d);
    }
  }

  async function deliver(d: typeof notificationDeliveries.$inferSelect): Promise<void> {
    const [incident] = await opts.database.db.select().from(incidents).where(eq(incidents.id, d.incidentId));
    const config = opts.channels[d.channel];
    if (!incident || !config) {
      await opts.database.db.update(notificationDeliveries).set({ status: 'failed', lastError: 'the incident or the channel no longer exists' }).where(eq(notificationDeliveries.id, d.id));
      return;
    }
    const channel = { name: d.channel, config };
    const message = incidentMessage(incident, d.event as 'opened' | 'resolved', opts.baseUrl?.());
    let attempts = d.attempts;
    for (let i = 0; i < delivery.tries && !stopped; i++) {
      if (i > 0) await sleep(delivery.firstBackoffMs * 2 ** (i - 1));
      attempts++;
      const result = await notifierFor(channel.config).deliver(channel.config, message, AbortSignal.any([abort.signal, AbortSignal.timeout(delivery.timeoutMs)]));
      if (result.ok) {
        await opts.database.db
          .update(notificationDeliveries)
          .set({ status: 'delivered', attempts, lastStatus: result.status, lastError: null, deliveredAt: new Date(opts.clock()) })
          .where(eq(notificationDeliveries.id, d.id));
        return;
      }
      await opts.database.db.update(notificationDeliveries).set({ attempts, lastStatus: result.status, lastError: result.error }).where(eq(notificationDeliveries.id, d.id));
      if (!result.retry) break;
    }
    await opts.database.db.update(notificationDeliveries).set({ status: stopped ? 'pending' : 'failed', claimedAt: null }).where(eq(notificationDeliveries.id, d.id));
    if (!stopped) opts.logger.error('notification could not be delivered', { incident: d.incidentId, channel: d.channel, attempts });
  }

  async function tick(): Promise<void> {
    try {
      await evaluate();
    } catch (err) {
      opts.logger.error('monitor evaluation failed', { err: String(err) });
    }
    try {
      await opts.rollouts?.tick();
    } catch (err) {
      opts.logger.error('rollout evaluation failed', { err: String(err) });
    }
    try {
      await deliverPending();
    } catch (err) {
      opts.logger.error('notification delivery failed', { err: String(err) });
    }
  }

  return {
    tick: () => (running ??= tick().finally(() => (running = undefined))),
    start() {
      if (timer || (opts.monitors.length === 0 && !opts.rollouts)) return;
      timer = setInterval(() => {
        if (!running) void (running = tick().finally(() => (running = undefined)));
      }, opts.intervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      abort.abort();
      await running;
    },
  };
}

/** The notification body DESIGN §4.6 names. */
export function incidentMessage(incident: typeof incidents.$inferSelect, event: 'opened' | 'resolved', baseUrl: string | undefined): IncidentMessage {
  const scope = Object.entries(incident.scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  if (incident.monitor.startsWith('rollout:') && event === 'opened') {
    const p = (incident.detector as { p_value?: unknown }).p_value;
    return {
      ...messageFields(incident, event, baseUrl),
      text: `sluice: rollout rolled back${scope ? ` (${scope})` : ''} — ${incident.metric}: candidate ${incident.value} vs control ${incident.baseline ?? '-'}${typeof p === 'number' ? `, p = ${p.toPrecision(2)}` : ''}`,
    };
  }
  const verb = event === 'opened' ? 'breached' : 'recovered';
  return {
    ...messageFields(incident, event, baseUrl),
    text: `sluice: monitor ${incident.monitor} ${verb} — ${incident.metric} = ${incident.value}${incident.baseline === null ? '' : ` (bound ${incident.baseline})`}${scope ? ` for ${scope}` : ''}`,
  };
}

function messageFields(incident: typeof incidents.$inferSelect, event: 'opened' | 'resolved', baseUrl: string | undefined): Omit<IncidentMessage, 'text'> {
  return {
    incident: incident.id,
    event,
    monitor: incident.monitor,
    scope: incident.scope,
    metric: incident.metric,
    value: incident.value,
    baseline: incident.baseline,
    detector: incident.detector,
    opened_at: incident.openedAt.toISOString(),
    url: `${baseUrl ?? ''}/api/incidents/${incident.id}`,
  };
}
