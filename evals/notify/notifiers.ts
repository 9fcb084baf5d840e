import { createHmac } from 'node:crypto';
import type { NotificationConfig } from '../../gateway/config/monitors-schema.ts';

/** What a notifier is asked to deliver: the JSON body DESIGN §4.6 names. */
export interface IncidentMessage {
  incident: string;
  event: 'opened' | 'resolved';
  monitor: string;
  scope: Record<string, string>;
  metric: string;
  value: number;
  baseline: number | null;
  detector: Record<string, unknown>;
  opened_at: string;
  url: string;
  text: string;
}

/** One try's outcome; `retry` false means trying again cannot help (a 4xx other than 408/429). */
export type DeliveryResult = { ok: true; status: number } | { ok: false; status: number | null; error: string; retry: boolean };

export interface Notifier<C extends NotificationConfig = NotificationConfig> {
  deliver(channel: C, message: IncidentMessage, signal: AbortSignal): Promise<DeliveryResult>;
}

/** `sha256=<hex HMAC-SHA256 of the body>` with the channel's secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const webhook: Notifier<Extract<NotificationConfig, { type: 'webhook' }>> = {
  async deliver(channel, message, signal) {
    const body = JSON.stringify(message);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'sluice/0.1' };
    if (channel.secret) headers['x-sluice-signature'] = signature(channel.secret, body);
    try {
      const res = await fetch(channel.url, { method: 'POST', headers, body, signal });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, status: res.status };
      const retry = res.status >= 500 || res.status === 408 || res.status === 429;
      return { ok: false, status: res.status, error: `HTTP ${res.status}`, retry };
    } catch (err) {
      return { ok: false, status: null, error: (err as Error).message.slice(0, 500), retry: true };
    }
  },
};

/** Every notification type by the `type` a channel names (a typed registry, as for providers). */
export const notifiers: { [T in NotificationConfig['type']]: Notifier<Extract<NotificationConfig, { type: T }>> } = { webhook };

export function notifierFor(channel: NotificationConfig): Notifier {
  return notifiers[channel.type] as Notifier;
}
