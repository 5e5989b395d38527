import { type CountedEvent, type FakeAnswer, startToolFake, type ToolFake, withRetryAfter } from './fake.js';

/**
 * The GA4 Measurement Protocol for an app stream, as Google documents it
 * (docs/destinations/firebase.md): POST /mp/collect with `api_secret` and `firebase_app_id` in the
 * query and a JSON body. It answers 2xx to every request it receives, and silently drops what it
 * cannot take: a wrong secret or app id, a body that is not the documented JSON, an
 * app_instance_id that is not 32 hex digits, an event breaking the naming, size or ecommerce rules.
 * This fake does the same, and says in `dropped` why, since the answer never does.
 *
 * No deduplication: Google's help says transaction_id deduplication works for web streams only, not
 * app streams, so every event received is counted, resends included (dedupKey is null).
 */

const API_SECRET = 'fake-api-secret-0123456789';
const FIREBASE_APP_ID = '1:123456789012:android:0123456789abcdef';
const MAX_BODY_BYTES = 130_000;
const MAX_EVENTS = 25;
const MAX_PARAMS = 25;
const MAX_VALUE_CHARS = 100;
/** Event and parameter names: up to 40 letters, digits and underscores, starting with a letter. */
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
/** Reserved event names from GA4's naming-rules page (written out here again, apart from the module). */
const RESERVED_EVENT_NAMES = new Set([
  'ad_activeview', 'ad_click', 'ad_exposure', 'ad_impression', 'ad_query', 'ad_reward', 'adunit_exposure', 'app_clear_data',
  'app_remove', 'app_store_refund', 'app_store_subscription_cancel', 'app_store_subscription_renew', 'error', 'first_open',
  'first_visit', 'session_start', 'user_engagement',
]);
const RESERVED_PARAM_PREFIXES = ['firebase_', 'ga_', 'google_', 'gtag.'];
/** How far back timestamp_micros may go (72 hours), and a little clock skew allowed ahead. */
const BACKDATE_MS = 72 * 3_600_000;
const SKEW_MS = 60_000;

export interface FirebaseFake extends ToolFake {
  /** What GA4 would drop without saying so, with the reason, in order. */
  readonly dropped: readonly string[];
}

/** Why an event is dropped, or null when GA4 takes it. */
function eventProblem(event: unknown): string | null {
  if (!event || typeof event !== 'object') return 'an event is not an object';
  const { name, params } = event as { name?: unknown; params?: unknown };
  if (typeof name !== 'string') return 'an event has no name';
  if (!NAME.test(name)) return `event name "${name}" breaks the naming rules`;
  if (RESERVED_EVENT_NAMES.has(name) || RESERVED_PARAM_PREFIXES.some((prefix) => name.startsWith(prefix))) return `event name "${name}" is reserved`;
  if (params === undefined) return null;
  if (!params || typeof params !== 'object' || Array.isArray(params)) return `${name}: params is not an object`;
  const entries = Object.entries(params as Record<string, unknown>);
  if (entries.length > MAX_PARAMS) return `${name}: more than ${MAX_PARAMS} parameters`;
  for (const [key, value] of entries) {
    if (!NAME.test(key) || RESERVED_PARAM_PREFIXES.some((prefix) => key.startsWith(prefix))) return `${name}: invalid parameter name ${key}`;
    if (typeof value === 'string' && Array.from(value).length > MAX_VALUE_CHARS) return `${name}: ${key} is longer than ${MAX_VALUE_CHARS} characters`;
  }
  const p = params as Record<string, unknown>;
  if (p.value !== undefined && typeof p.value !== 'number') return `${name}: value is not a number`;
  if (p.value !== undefined && (typeof p.currency !== 'string' || !/^[A-Z]{3}$/.test(p.currency))) return `${name}: value is set without an ISO 4217 currency`;
  if (name === 'purchase' || name === 'refund') {
    if (typeof p.transaction_id !== 'string' || p.transaction_id === '') return `${name}: transaction_id is required`;
  }
  if (name === 'purchase') {
    if (!Array.isArray(p.items) || p.items.length === 0) return 'purchase: items are required';
  }
  if (p.items !== undefined) {
    if (!Array.isArray(p.items)) return `${name}: items is not an array`;
    for (const item of p.items as Record<string, unknown>[]) {
      if (typeof item?.item_id !== 'string' && typeof item?.item_name !== 'string') return `${name}: an item has neither item_id nor item_name`;
      for (const [key, value] of Object.entries(item)) {
        if (typeof value === 'string' && Array.from(value).length > MAX_VALUE_CHARS) return `${name}: item ${key} is longer than ${MAX_VALUE_CHARS} characters`;
      }
    }
  }
  return null;
}

/** Why the whole request is dropped, or null. */
function requestProblem(url: URL, contentType: string, body: string): string | null {
  if (url.searchParams.get('api_secret') !== API_SECRET) return 'wrong api_secret';
  if (url.searchParams.get('firebase_app_id') !== FIREBASE_APP_ID) return 'wrong firebase_app_id';
  if (contentType !== 'application/json') return `content type ${contentType || '(none)'} is not application/json`;
  if (Buffer.byteLength(body) >= MAX_BODY_BYTES) return 'the body is 130 kB or more';
  return null;
}

export async function startFirebaseFake(): Promise<FirebaseFake> {
  const events: CountedEvent[] = [];
  const dropped: string[] = [];

  const fake = await startToolFake(
    ({ method, url, headers, body }): FakeAnswer => {
      if (method !== 'POST' || url.pathname !== '/mp/collect') return { status: 404, body: 'Not Found' };
      // From here on GA4 answers 204 whatever it does with the request.
      const received: FakeAnswer = { status: 204, body: '' };
      const drop = (reason: string) => {
        dropped.push(reason);
        return received;
      };
      const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const problem = requestProblem(url, contentType, body);
      if (problem) return drop(problem);
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(body) as Record<string, unknown>;
        if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new Error('not an object');
      } catch {
        return drop('the body is not a JSON object');
      }
      const instanceId = payload.app_instance_id;
      if (typeof instanceId !== 'string' || !/^[0-9A-Fa-f]{32}$/.test(instanceId)) return drop('app_instance_id is not a 32-digit hexadecimal number');
      if (payload.timestamp_micros !== undefined) {
        const micros = payload.timestamp_micros;
        const now = Date.now();
        if (typeof micros !== 'number' || !Number.isInteger(micros)) return drop('timestamp_micros is not an integer');
        if (micros / 1000 < now - BACKDATE_MS || micros / 1000 > now + SKEW_MS) return drop('timestamp_micros is outside the last 72 hours');
      }
      const list = payload.events;
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_EVENTS) return drop(`events must be an array of 1 to ${MAX_EVENTS}`);
      for (const event of list) {
        const why = eventProblem(event);
        if (why) {
          dropped.push(why);
          continue;
        }
        const { name, params = {} } = event as { name: string; params?: Record<string, unknown> };
        const value = typeof params.value === 'number' ? params.value : null;
        events.push({
          userId: instanceId,
          eventName: name,
          // A refund's value is the amount refunded; GA4 takes it off revenue.
          revenue: value === null ? null : name === 'refund' ? -value : value,
          currency: typeof params.currency === 'string' ? params.currency : null,
          dedupKey: null,
          raw: { ...params, user_id: payload.user_id, timestamp_micros: payload.timestamp_micros },
        });
      }
      return received;
    },
    // GA4 documents no error answer for /mp/collect: a forced one is just the status, with the
    // Retry-After asked for, if any.
    (status, retryAfterSeconds) => withRetryAfter({ status, body: status >= 500 ? 'Service Unavailable' : 'Request refused' }, retryAfterSeconds),
    { config: { api_secret: API_SECRET, firebase_app_id: FIREBASE_APP_ID }, counted: () => [...events] },
  );
  return { ...fake, dropped };
}
