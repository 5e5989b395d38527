import type { Built, DestinationSettings, DestinationType, RevenueEvent, ToolAnswer, Verdict } from './types.js';
import { decimal, retryVerdict, urlOf } from './shared.js';

/**
 * AppsFlyer: the server-to-server events API for mobile (S2S-mobile, "API 3"). One JSON event per
 * POST to /inappevent/{app_id}, authenticated by the app's S2S key in the `authentication` header,
 * filed under the user's AppsFlyer ID. What was checked in AppsFlyer's documentation, and where, is
 * in docs/destinations/appsflyer.md.
 *
 * AppsFlyer documents no deduplication for these events: every request it accepts is counted, so a
 * retry after an attempt whose answer was lost can count the revenue twice. `af_order_id` carries
 * the store transaction id, which with the event name tells such duplicates apart in raw data.
 */

/** AppsFlyer's documented limit for the JSON payload of one event. */
export const APPSFLYER_MAX_PAYLOAD_BYTES = 1024;

export const appsflyer: DestinationType = {
  type: 'appsflyer',
  defaultBaseUrl: 'https://api3.appsflyer.com',
  config: [
    {
      name: 'app_id',
      required: true,
      secret: false,
      // AppsFlyer answers 200 OK and drops the event when an iOS app id lacks its `id` prefix: an
      // all-digit value is that mistake, so it is refused when the destination is added.
      description:
        'The app as the AppsFlyer dashboard names it: the package name for Android (com.example.app), id and the App Store number for iOS (id123456789)',
      pattern: /^(?!\d+$)[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/,
    },
    {
      name: 's2s_key',
      required: true,
      secret: true,
      description: "The app's S2S key from AppsFlyer (for the legacy host https://api2.appsflyer.com, the app's dev key)",
    },
    {
      name: 'send_sandbox',
      required: false,
      secret: false,
      description: 'true to send sandbox transactions too (AppsFlyer has no sandbox mode, so they count as real revenue); false by default',
      pattern: /^(true|false)$/,
    },
  ],
  defaultEventNames: {
    trial: 'af_start_trial',
    purchase: 'af_purchase',
    // AppsFlyer has no predefined renewal or refund event; custom names must not start with af_.
    renewal: 'subscription_renewed',
    refund: 'purchase_refunded',
  },
  // No dedup key: an attempt that may have arrived is not repeated (see docs/destinations.md).
  deduplicates: false,
  eventTypes: ['transaction.recorded'],
  identifierKeys: ['appsflyer_id'],
  build,
  judge,
};

function build(event: RevenueEvent, destination: DestinationSettings): Built {
  const { transaction, revenue } = event;
  if (event.kind === 'access_level' || transaction === null || revenue === null) {
    return { skip: 'AppsFlyer takes revenue events only' };
  }
  const appsflyerId = event.identifiers.appsflyer_id;
  if (!appsflyerId) return { skip: 'no appsflyer_id on the profile' };
  const eventName = destination.eventNames[event.kind];
  if (!eventName) return { skip: `no AppsFlyer event name for ${event.kind} (event_names.${event.kind})` };
  const { app_id: appId, s2s_key: key } = destination.config;
  if (!appId || !key) return { skip: 'the destination has no app_id or s2s_key' };
  if (transaction.environment === 'Sandbox' && destination.config.send_sandbox !== 'true') {
    return { skip: 'a sandbox transaction: AppsFlyer has no sandbox mode (set send_sandbox to true to send them anyway)' };
  }

  const currency = event.currency || undefined;
  const eventValue = {
    af_revenue: decimal(revenue),
    af_currency: currency,
    af_content_id: transaction.storeProductId,
    af_quantity: '1',
    af_order_id: transaction.storeTransactionId,
  };
  const payload = (customerUserId: string | null) =>
    JSON.stringify({
      appsflyer_id: appsflyerId,
      ...(customerUserId !== null ? { customer_user_id: customerUserId } : {}),
      eventName,
      // AppsFlyer wants the event value as a string holding JSON, not as an object.
      eventValue: JSON.stringify(eventValue),
      eventCurrency: currency,
      eventTime: eventTime(event.occurredAt),
      // Required by the legacy API for the event to be read as a rich event; harmless on API 3.
      af_events_api: 'true',
    });
  // Long ids (up to 512 characters for appsflyer_id, 256 for a customer user id or a product id)
  // can pass the 1 KB limit: the customer user id is the one field AppsFlyer does not need.
  let body = payload(event.customerUserId);
  if (Buffer.byteLength(body) > APPSFLYER_MAX_PAYLOAD_BYTES) body = payload(null);
  if (Buffer.byteLength(body) > APPSFLYER_MAX_PAYLOAD_BYTES) {
    return { skip: `the event would be ${Buffer.byteLength(body)} bytes; AppsFlyer takes at most ${APPSFLYER_MAX_PAYLOAD_BYTES}` };
  }
  return {
    request: {
      url: urlOf(destination.baseUrl, `/inappevent/${encodeURIComponent(appId)}`),
      headers: { 'content-type': 'application/json', authentication: key },
      body,
    },
  };
}

/**
 * AppsFlyer's documented answers: 200 `OK` (after minimal validation only: an accepted event can
 * still be dropped); 400 with a message (bad key, missing appsflyer_id, a payload that does not
 * parse, an app_id that does not match the key); 401 `Unauthorized` (not this app's key); 403
 * `Forbidden` (a plan that takes no events). All of these fail the same way on every resend. 500 is
 * documented with "check the JSON" advice but is taken, like 429 and every 5xx, as worth a retry.
 */
function judge(answer: ToolAnswer): Verdict {
  const status = answer.statusCode;
  if (status >= 200 && status < 300) return { status: 'succeeded' };
  const error = `AppsFlyer answered ${status}${message(answer.body)}`;
  if (status === 429 || status === 408 || status >= 500) return retryVerdict(answer.headers, error);
  if (status >= 300 && status < 400) return { status: 'failed', error: `${error} (redirects are not followed: check base_url)` };
  return { status: 'failed', error };
}

/** `yyyy-MM-dd HH:mm:ss.SSS` in UTC, as AppsFlyer reads eventTime. */
export function eventTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

/** `: <text>` from an answer's body: AppsFlyer answers plain text, sometimes as a JSON string. */
function message(body: string): string {
  let text = body.trim();
  if (text.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'string') text = parsed;
    } catch {
      // Not a JSON string after all: keep the text as it came.
    }
  }
  text = text.replace(/\s+/g, ' ').trim();
  if (text === '' || text.startsWith('<')) return '';
  return `: ${text.length > 200 ? `${text.slice(0, 199)}…` : text}`;
}

