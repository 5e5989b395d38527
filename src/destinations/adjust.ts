import type { Built, DestinationSettings, DestinationType, RevenueEvent, ToolAnswer, Verdict } from './types.js';
import { decimal, retryVerdict, urlOf } from './shared.js';

/**
 * Adjust: the server-to-server events endpoint. One form-encoded POST to /event per event, for the
 * device Adjust knows by its Adjust device id (`adid`), with the event token made in Adjust's
 * dashboard for that kind. What was checked in Adjust's documentation, and where, is in
 * docs/destinations/adjust.md.
 *
 * Adjust documents no deduplication id for S2S events: a resend is counted again. Its only
 * refusals of repeats are "unique" event tokens (once per device, set in the dashboard) and the
 * rule that events of one device and token must arrive in time order.
 */

/** Adjust's smallest accepted revenue: zero (a trial) and negative amounts (a refund) cannot be sent as revenue. */
export const ADJUST_MIN_REVENUE = 0.001;

export const adjust: DestinationType = {
  type: 'adjust',
  defaultBaseUrl: 'https://s2s.adjust.com',
  config: [
    {
      name: 'app_token',
      required: true,
      secret: false,
      description: "The app's token from the Adjust dashboard (AppView: the app's details)",
      pattern: /^[A-Za-z0-9]{6,64}$/,
    },
    {
      name: 's2s_token',
      required: false,
      secret: true,
      description: 'An S2S Security token with the Events scope, sent as a Bearer token; needed once S2S authentication is on for the app',
    },
  ],
  // Adjust events are tokens made in its dashboard: there is nothing to default to.
  defaultEventNames: {},
  // No dedup key: an attempt that may have arrived is not repeated (see docs/destinations.md).
  deduplicates: false,
  eventTypes: ['transaction.recorded'],
  identifierKeys: ['adjust_device_id'],
  build,
  judge,
};

function build(event: RevenueEvent, destination: DestinationSettings): Built {
  const { transaction, revenue } = event;
  if (event.kind === 'access_level' || transaction === null || revenue === null) {
    return { skip: 'Adjust takes revenue events only' };
  }
  const adid = event.identifiers.adjust_device_id;
  if (!adid) return { skip: 'no adjust_device_id on the profile' };
  const eventToken = destination.eventNames[event.kind];
  if (!eventToken) return { skip: `no Adjust event token for ${event.kind} (event_names.${event.kind})` };
  const appToken = destination.config.app_token;
  if (!appToken) return { skip: 'the destination has no app_token' };

  const params = new URLSearchParams({
    s2s: '1',
    app_token: appToken,
    event_token: eventToken,
    adid,
    created_at_unix: String(Math.floor(event.occurredAt / 1000)),
    environment: transaction.environment === 'Sandbox' ? 'sandbox' : 'production',
  });
  // Revenue only where Adjust takes it: a trial (0) goes without, and a refund (negative) is its
  // own event with the refunded amount in the callback parameters, for raw data exports.
  if (revenue >= ADJUST_MIN_REVENUE && event.currency) {
    params.set('revenue', decimal(revenue));
    params.set('currency', event.currency);
  }
  const callback: Record<string, string> = {
    store_transaction_id: transaction.storeTransactionId,
    store_product_id: transaction.storeProductId,
  };
  if (event.customerUserId !== null) callback.customer_user_id = event.customerUserId;
  if (revenue < 0) {
    callback.refunded_amount = decimal(-revenue);
    if (event.currency) callback.refunded_currency = event.currency;
  }
  params.set('callback_params', JSON.stringify(callback));

  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (destination.config.s2s_token) headers.authorization = `Bearer ${destination.config.s2s_token}`;
  return { request: { url: urlOf(destination.baseUrl, '/event'), headers, body: params.toString() } };
}

/**
 * Adjust's documented answers: 200 `OK` for a recorded event; otherwise a status and
 * `{"error": "Event request failed (<reason>)"}`: 400 (bad state, app or event token, revenue,
 * callback parameters, or a repeat of a unique event), 401 (authorization), 403 (app inactive,
 * platform off, token blocklisted), 404 (app token or device unknown), 413 (over 1 MB), 451
 * (device opted out), 500 (internal). Its S2S Security page also documents 202 answers that refuse
 * a request for a missing or wrong token: those are failures, so a 2xx body must be read.
 */
function judge(answer: ToolAnswer): Verdict {
  const status = answer.statusCode;
  const reason = readReason(answer.body);
  if (status >= 200 && status < 300) {
    if (/authentication token/i.test(reason)) return { status: 'failed', error: `Adjust answered ${status}: ${reason}` };
    return { status: 'succeeded' };
  }
  // A repeat of a unique event: the device already has its one event of this token, which is what
  // the token was set up for; sending it again would be answered the same way.
  if (status === 400 && /earlier unique event/i.test(reason)) return { status: 'succeeded' };
  const error = `Adjust answered ${status}${reason ? `: ${reason}` : ''}`;
  if (status === 429 || status === 408 || status >= 500) return retryVerdict(answer.headers, error);
  if (status >= 300 && status < 400) return { status: 'failed', error: `${error} (redirects are not followed: check base_url)` };
  return { status: 'failed', error };
}

/** The reason in an Adjust answer: the part in brackets of its JSON `error`, or the plain text. */
function readReason(body: string): string {
  let text = body.trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      const fields = parsed as Record<string, unknown>;
      const error = fields.error ?? fields.message ?? fields.status;
      if (typeof error === 'string') text = error;
    } else if (typeof parsed === 'string') {
      text = parsed;
    }
  } catch {
    // Plain text (`OK`, `Missing authentication token`): taken as it came.
  }
  text = text.replace(/\s+/g, ' ').trim();
  const inner = /^Event request failed \((.*)\)$/.exec(text);
  if (inner) text = inner[1]!.trim();
  if (text.startsWith('<')) return '';
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

