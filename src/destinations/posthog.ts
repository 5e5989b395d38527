import type { Built, DestinationSettings, DestinationType, RevenueEvent, ToolAnswer, Verdict } from './types.js';
import { compact, eventProperties, jsonRequest, judgeByStatus, oneLine } from './shared.js';

/**
 * PostHog, through its capture endpoint: one event per request, under the profile's PostHog
 * distinct id, with the properties PostHog's revenue analytics reads. What each field means and
 * where it was checked in PostHog's documentation is in docs/destinations/posthog.md.
 */

const PATH = '/i/v0/e/';

export const posthog: DestinationType = {
  type: 'posthog',
  defaultBaseUrl: 'https://us.i.posthog.com',
  config: [
    {
      name: 'api_key',
      required: true,
      secret: true,
      description: "The PostHog project's API key (Project settings; it usually starts with phc_), sent in the request body. Not a personal API key.",
      pattern: /^\S+$/,
    },
  ],
  defaultEventNames: {
    trial: 'trial_started',
    purchase: 'purchase_completed',
    renewal: 'subscription_renewed',
    refund: 'purchase_refunded',
    access_level: 'access_level_changed',
  },
  // Drops a second copy by its dedup key (see docs/destinations/posthog.md).
  deduplicates: true,
  eventTypes: ['transaction.recorded', 'access_level.updated'],
  identifierKeys: ['posthog_distinct_user_id'],
  build,
  judge,
};

function build(event: RevenueEvent, destination: DestinationSettings): Built {
  const name = destination.eventNames[event.kind];
  if (!name) return { skip: `no PostHog event name for ${event.kind} events on this destination` };
  const distinctId = event.identifiers.posthog_distinct_user_id;
  if (!distinctId) return { skip: 'no posthog_distinct_user_id on the profile' };
  const body = {
    api_key: destination.config.api_key,
    event: name,
    distinct_id: distinctId,
    // PostHog stores a second copy of an event with the same uuid (same day, name and distinct id)
    // as the same row, so a retry or a resend is not counted twice.
    uuid: event.dedupKey,
    timestamp: new Date(event.occurredAt).toISOString(),
    properties: properties(event),
  };
  return jsonRequest(destination.baseUrl, PATH, body);
}

/**
 * The event's properties. `revenue` (a decimal amount, negative for a refund), `currency`, `product`
 * and `subscription_id` are the names to pick in PostHog's revenue settings. Sent from a server, an
 * event would otherwise be located at the server's address: `$geoip_disable` turns that off.
 */
function properties(event: RevenueEvent): Record<string, unknown> {
  const shared = eventProperties(event);
  const t = event.transaction;
  if (!t) return { $geoip_disable: true, ...shared };
  return compact({
    $geoip_disable: true,
    ...shared,
    product: t.storeProductId,
    subscription_id: t.purchaseType === 'subscription' ? t.storeOriginalTransactionId : null,
    revenue_type: event.kind,
  });
}

/**
 * PostHog's documented answers: 200 (`{"status":1}`) the payload and key were accepted; 400 a body
 * or project it cannot use and 401 a project API key it does not know, both for good. Anything
 * else it may take later: 429 and 5xx are tried again, the uuid keeping a second copy out.
 */
function judge(answer: ToolAnswer): Verdict {
  return judgeByStatus(answer, ({ statusCode, body }) => `PostHog ${statusCode}: ${message(body) ?? 'no error message'}`);
}

/** PostHog's `detail` and `code` from a JSON error body, else the start of the body. */
function message(body: string): string | null {
  try {
    const json = JSON.parse(body) as { detail?: unknown; code?: unknown };
    if (typeof json?.detail === 'string') return oneLine(typeof json.code === 'string' ? `${json.detail} (${json.code})` : json.detail);
  } catch {
    // Not JSON: the text itself.
  }
  return oneLine(body);
}

