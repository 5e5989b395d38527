import type { Built, RevenueEvent, ToolAnswer, Verdict } from './types.js';

/** Small helpers the tool modules share: reading answers and writing fields. */

/** The wait a Retry-After header asks for, in ms (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(headers: ToolAnswer['headers'], now = Date.now()): number | undefined {
  const raw = headers['retry-after'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A text on one line, at most `max` characters (the last an ellipsis when cut); null when empty. */
export function oneLine(text: string, max = 300): string | null {
  const line = text.replace(/\s+/g, ' ').trim();
  return line === '' ? null : line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The object without its null and undefined entries. */
export function compact(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== null && value !== undefined));
}

/** A plain decimal string with at most 5 decimals (a leading - when negative). */
export function decimal(value: number): string {
  return String(Number(value.toFixed(5)));
}

/** A verdict to try again, not before the tool's Retry-After when it sent one. */
export function retryVerdict(headers: ToolAnswer['headers'], error: string): Verdict {
  const wait = retryAfterMs(headers);
  return wait === undefined ? { status: 'retry', error } : { status: 'retry', error, retryAfterMs: wait };
}

/**
 * What an analytics tool is told besides revenue, as event properties to segment charts by: the
 * Crosswalk ids, then the access level, or the transaction (store, product, ids, price in US dollars).
 */
export function eventProperties(event: RevenueEvent): Record<string, unknown> {
  const common = { crosswalk_event_id: event.eventId, profile_id: event.profileId, customer_user_id: event.customerUserId };
  const level = event.accessLevel;
  if (level) {
    return compact({ ...common, access_level_id: level.id, change: level.change, is_active: level.isActive, expires_at: isoOrNull(level.expiresAt) });
  }
  const t = event.transaction;
  if (!t) return compact(common);
  return compact({
    ...common,
    store: t.store,
    product_id: t.storeProductId,
    purchase_type: t.purchaseType,
    environment: t.environment,
    store_transaction_id: t.storeTransactionId,
    store_original_transaction_id: t.storeOriginalTransactionId,
    purchase_id: t.purchaseId,
    revenue: event.revenue,
    currency: event.currency,
    country: t.price.country || null,
    price_usd: t.priceUsd === null ? null : event.kind === 'refund' ? -t.priceUsd : t.priceUsd,
    offer_type: t.offerType,
    expires_at: isoOrNull(t.expiresAt),
  });
}

/**
 * The usual reading of an answer: 2xx succeeded; 408, 429 and 5xx tried again (not before the
 * tool's Retry-After); anything else failed for good, since the same request would fail again.
 * `error` words a failure.
 */
export function judgeByStatus(answer: ToolAnswer, error: (answer: ToolAnswer) => string): Verdict {
  const status = answer.statusCode;
  if (status >= 200 && status < 300) return { status: 'succeeded' };
  if (status === 429 || status === 408 || status >= 500) return retryVerdict(answer.headers, error(answer));
  return { status: 'failed', error: error(answer) };
}

/** `path` (query included) under the destination's base URL. */
export const urlOf = (baseUrl: string, path: string) => `${baseUrl.replace(/\/+$/, '')}${path}`;

/** A request with a JSON body to `path` under the base URL. */
export function jsonRequest(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Built {
  return { request: { url: urlOf(baseUrl, path), headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) } };
}
