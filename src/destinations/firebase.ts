import type { Built, DestinationSettings, DestinationType, RevenueEvent, ToolAnswer, Verdict } from './types.js';
import { jsonRequest, judgeByStatus, oneLine } from './shared.js';

/**
 * Google Analytics 4 for Firebase apps, through the Measurement Protocol
 * (`POST /mp/collect?api_secret=..&firebase_app_id=..`, docs/destinations/firebase.md): one event
 * per request under the profile's app_instance_id. GA4 answers 2xx to every request it receives,
 * even one it drops (a wrong secret, a malformed event), so what it would silently drop is checked
 * here and skipped with a reason instead.
 */

/** The validation server's rule for app_instance_id: a 32-digit hexadecimal number. */
const APP_INSTANCE_ID = /^[0-9A-Fa-f]{32}$/;

/** Event names: at most 40 letters, digits and underscores, starting with a letter. */
const EVENT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

/**
 * Event names GA4 reserves for its own events, as listed on its naming-rules page
 * (support.google.com/analytics/answer/13316687, which says the list is not exhaustive): the web
 * list (less in_app_purchase, no longer reserved for app streams) and the start of the app list.
 */
const RESERVED_EVENT_NAMES = new Set([
  'ad_activeview', 'ad_click', 'ad_exposure', 'ad_impression', 'ad_query', 'ad_reward', 'adunit_exposure', 'app_clear_data',
  'app_remove', 'app_store_refund', 'app_store_subscription_cancel', 'app_store_subscription_renew', 'click', 'error',
  'file_download', 'first_open', 'first_visit', 'form_start', 'form_submit', 'page_view', 'scroll', 'session_start',
  'user_engagement', 'view_complete', 'video_progress', 'video_start', 'view_search_results',
]);
const RESERVED_PREFIXES = ['_', 'firebase_', 'ga_', 'google_'];

/** Parameter values longer than this are not taken (string values are cut to it here). */
const MAX_VALUE_CHARS = 100;

/**
 * How far back timestamp_micros may go: GA4 takes events backdated up to 72 hours. An older event
 * is sent without a timestamp (GA4 then files it at the time it arrives) and keeps its real time in
 * the `occurred_at` parameter; the margin leaves room for the time between building the request
 * and GA4 receiving it.
 */
const BACKDATE_LIMIT_MS = 72 * 3_600_000;
const BACKDATE_MARGIN_MS = 3_600_000;

/** Whether an event name is one GA4 takes: the naming rules, and not reserved. */
function eventNameProblem(name: string): string | null {
  if (!EVENT_NAME.test(name)) return 'must be at most 40 letters, digits and underscores, starting with a letter';
  if (RESERVED_EVENT_NAMES.has(name) || RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix))) return 'is reserved by Google Analytics';
  return null;
}

/** A parameter value as GA4 keeps it: strings cut to 100 characters (code points, not UTF-16 units). */
function cut(value: string): string {
  const chars = Array.from(value);
  return chars.length > MAX_VALUE_CHARS ? chars.slice(0, MAX_VALUE_CHARS).join('') : value;
}

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

/** The event's parameters: GA4's ecommerce ones for revenue, plain ones otherwise (at most 25). */
function params(event: RevenueEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { crosswalk_kind: event.kind, crosswalk_event_id: event.eventId };
  const transaction = event.transaction;
  if (transaction && event.revenue !== null && event.currency) {
    // A refund's value is the amount refunded, positive: GA4 subtracts refund events from revenue by
    // their name. transaction_id is the store's id, the same on the purchase and on its refund.
    out.currency = event.currency;
    out.value = Math.abs(event.revenue);
    out.transaction_id = cut(transaction.storeTransactionId);
    // Purchases require items; a refund without them is taken as a refund of the whole transaction.
    if (event.kind !== 'refund') out.items = [{ item_id: cut(transaction.storeProductId), price: Math.abs(event.revenue), quantity: 1 }];
    out.original_transaction_id = cut(transaction.storeOriginalTransactionId);
    out.store = cut(transaction.store);
    out.purchase_type = transaction.purchaseType;
    out.environment = transaction.environment;
    if (transaction.offerType !== null) out.offer_type = cut(transaction.offerType);
  }
  const level = event.accessLevel;
  if (level) {
    out.access_level_id = cut(level.id);
    out.access_level_change = cut(level.change);
    out.access_level_is_active = level.isActive ? 'true' : 'false';
    if (level.expiresAt !== null) out.access_level_expires_at = iso(level.expiresAt);
  }
  return out;
}

function build(event: RevenueEvent, destination: DestinationSettings): Built {
  const instanceId = event.identifiers.firebase_app_instance_id;
  if (!instanceId) return { skip: 'no firebase_app_instance_id on the profile' };
  // GA4 would answer 2xx and drop it: say why here instead.
  if (!APP_INSTANCE_ID.test(instanceId)) return { skip: 'the firebase_app_instance_id is not the 32 hexadecimal digits GA4 takes' };
  const name = destination.eventNames[event.kind];
  if (!name) return { skip: `no Google Analytics event name for ${event.kind} events` };
  const problem = eventNameProblem(name);
  if (problem) return { skip: `the event name "${name}" ${problem}` };

  const body: Record<string, unknown> = { app_instance_id: instanceId };
  if (destination.config.send_user_id === 'true' && event.customerUserId) body.user_id = event.customerUserId;
  const eventParams = params(event);
  const age = Date.now() - event.occurredAt;
  if (age >= 0 && age <= BACKDATE_LIMIT_MS - BACKDATE_MARGIN_MS) body.timestamp_micros = event.occurredAt * 1000;
  else eventParams.occurred_at = iso(event.occurredAt);
  body.events = [{ name, params: eventParams }];

  const query = new URLSearchParams({ api_secret: destination.config.api_secret ?? '', firebase_app_id: destination.config.firebase_app_id ?? '' });
  return jsonRequest(destination.baseUrl, `/mp/collect?${query}`, body);
}

/** The start of an answer's body on one line, at most 300 characters. */
const message = (answer: ToolAnswer) => oneLine(`HTTP ${answer.statusCode}${answer.body.trim() ? `: ${answer.body}` : ''}`)!;

/**
 * Any 2xx: GA4 received the request. It says nothing of whether the event was kept (the body of
 * /mp/collect is empty; the validation server at /debug/mp/collect is the only way to know). GA4
 * documents no 4xx for a request it received: one here (a proxy, a wrong base_url) would be the same again.
 */
const judge = (answer: ToolAnswer): Verdict => judgeByStatus(answer, message);

export const firebase: DestinationType = {
  type: 'firebase',
  defaultBaseUrl: 'https://www.google-analytics.com',
  config: [
    {
      name: 'api_secret',
      required: true,
      secret: true,
      description: "A Measurement Protocol API secret of the app's data stream (Admin > Data streams > the stream > Measurement Protocol API secrets).",
      pattern: /^\S{1,200}$/,
    },
    {
      name: 'firebase_app_id',
      required: true,
      secret: false,
      description: 'The Firebase App ID (Firebase console > Project settings > General > Your apps > App ID), not the app instance id.',
      pattern: /^\S{1,200}$/,
    },
    {
      name: 'send_user_id',
      required: false,
      secret: false,
      description: "'true' to send the profile's customer user id as GA4's user_id: only when the app sets the same id with setUserId and it is not personal data. Default 'false'.",
      pattern: /^(true|false)$/,
    },
  ],
  defaultEventNames: {
    trial: 'start_trial',
    purchase: 'purchase',
    // Renewals are revenue too: as `purchase` events they count in GA4's purchase revenue;
    // crosswalk_kind tells them apart.
    renewal: 'purchase',
    refund: 'refund',
    access_level: 'access_level_changed',
  },
  // No dedup key: an attempt that may have arrived is not repeated (see docs/destinations.md).
  deduplicates: false,
  eventTypes: ['transaction.recorded', 'access_level.updated'],
  identifierKeys: ['firebase_app_instance_id'],
  build,
  judge,
};
