import type { Built, DestinationSettings, DestinationType, RevenueEvent, ToolAnswer, Verdict } from './types.js';
import { compact, eventProperties, jsonRequest, oneLine, retryAfterMs, retryVerdict } from './shared.js';

/**
 * Amplitude, through its HTTP V2 API: one event per request, under the profile's Amplitude user id
 * and/or device id, with Amplitude's own revenue fields. What each field means and where it was
 * checked in Amplitude's documentation is in docs/destinations/amplitude.md.
 */

const PATH = '/2/httpapi';
/** Amplitude drops a user_id or device_id shorter than this unless the request says otherwise. */
const DEFAULT_MIN_ID_LENGTH = 5;
/** Amplitude asks for a 30-second pause for a throttled user or device; it sends no Retry-After. */
const THROTTLE_PAUSE_MS = 30_000;

export const amplitude: DestinationType = {
  type: 'amplitude',
  defaultBaseUrl: 'https://api2.amplitude.com',
  config: [
    {
      name: 'api_key',
      required: true,
      secret: true,
      description: "The Amplitude project's API key (Settings > Projects > General), sent in the request body.",
      pattern: /^\S+$/,
    },
    {
      name: 'min_id_length',
      required: false,
      secret: false,
      description: 'The shortest user or device id Amplitude accepts (its default is 5); set it when your ids can be shorter.',
      pattern: /^[1-9][0-9]{0,3}$/,
    },
  ],
  defaultEventNames: {
    trial: 'trial_started',
    purchase: 'purchase_completed',
    renewal: 'subscription_renewed',
    refund: 'purchase_refunded',
    access_level: 'access_level_changed',
  },
  // Drops a second copy by its dedup key (see docs/destinations/amplitude.md).
  deduplicates: true,
  eventTypes: ['transaction.recorded', 'access_level.updated'],
  identifierKeys: ['amplitude_user_id', 'amplitude_device_id'],
  build,
  judge,
};

function build(event: RevenueEvent, destination: DestinationSettings): Built {
  const eventType = destination.eventNames[event.kind];
  if (!eventType) return { skip: `no Amplitude event name for ${event.kind} events on this destination` };
  const userId = event.identifiers.amplitude_user_id ?? null;
  const deviceId = event.identifiers.amplitude_device_id ?? null;
  if (!userId && !deviceId) return { skip: 'no amplitude_user_id or amplitude_device_id on the profile' };

  // Amplitude removes an id shorter than the minimum and then refuses an event left without one:
  // sending only ids it keeps makes that a skip with a reason instead of a failed delivery.
  const minLength = destination.config.min_id_length ? Number(destination.config.min_id_length) : DEFAULT_MIN_ID_LENGTH;
  const ids = compact({
    user_id: userId && userId.length >= minLength ? userId : null,
    device_id: deviceId && deviceId.length >= minLength ? deviceId : null,
  });
  if (Object.keys(ids).length === 0) {
    return { skip: `the profile's Amplitude ids are shorter than ${minLength} characters, the shortest Amplitude accepts (see min_id_length)` };
  }

  const body = {
    api_key: destination.config.api_key,
    events: [{ ...ids, event_type: eventType, time: event.occurredAt, insert_id: event.dedupKey, ...revenueFields(event), event_properties: eventProperties(event) }],
    ...(destination.config.min_id_length ? { options: { min_id_length: minLength } } : {}),
  };
  return jsonRequest(destination.baseUrl, PATH, body);
}

/**
 * Amplitude's revenue fields. Any of them makes the event a revenue event, so a free trial (a price
 * of 0) and an access level's change carry none. With price, quantity and revenue all sent Amplitude
 * takes price × quantity; both are signed, so a refund subtracts.
 */
function revenueFields(event: RevenueEvent): Record<string, unknown> {
  if (event.revenue === null || event.revenue === 0 || !event.transaction) return {};
  return {
    price: event.revenue,
    quantity: 1,
    revenue: event.revenue,
    productId: event.transaction.storeProductId,
    revenueType: event.kind,
    currency: event.currency,
  };
}


/**
 * Amplitude's documented answers: 200 ingested; 400 (a bad body or API key) and 413 (too large) are
 * the request's fault and fail; 429 throttles the user or device; 500, 502 and 504 may or may not
 * have been ingested and 503 was not, all safe to send again since insert_id drops a second copy.
 */
function judge(answer: ToolAnswer): Verdict {
  const status = answer.statusCode;
  if (status >= 200 && status < 300) return { status: 'succeeded' };
  const error = `Amplitude ${status}: ${message(answer.body) ?? httpText(status)}`;
  if (status === 429) return { status: 'retry', error, retryAfterMs: retryAfterMs(answer.headers) ?? THROTTLE_PAUSE_MS };
  if (status >= 500 || status === 408) return retryVerdict(answer.headers, error);
  return { status: 'failed', error };
}

/** Amplitude's `error`, with the fields it names (missing, invalid, throttled), from a JSON body. */
function message(body: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return oneLine(body);
  }
  if (typeof json !== 'object' || json === null || typeof (json as { error?: unknown }).error !== 'string') return oneLine(body);
  const answer = json as Record<string, unknown>;
  const details = [
    typeof answer.missing_field === 'string' ? `missing field: ${answer.missing_field}` : null,
    fieldNames('missing', answer.events_with_missing_fields),
    fieldNames('invalid', answer.events_with_invalid_fields),
  ].filter((detail) => detail !== null);
  return oneLine(details.length > 0 ? `${answer.error} (${details.join('; ')})` : (answer.error as string));
}

const fieldNames = (what: string, map: unknown) =>
  typeof map === 'object' && map !== null && Object.keys(map).length > 0 ? `${what}: ${Object.keys(map).join(', ')}` : null;

const httpText = (status: number) => (status === 413 ? 'payload too large' : 'no error message');

