import { createHash } from 'node:crypto';
import type { Built, DestinationSettings, DestinationType, RevenueEvent, ToolAnswer, Verdict } from './types.js';
import { isoOrNull, jsonRequest, judgeByStatus, oneLine } from './shared.js';

/**
 * Mixpanel, through its Import API (`POST /import?strict=1`, docs/destinations/mixpanel.md): one
 * event per request, a JSON array of one `{event, properties}`, authenticated with the project token
 * as the Basic-auth user name and an empty password (the token mode: no project_id, no service
 * account). Strict mode makes Mixpanel validate every record and answer 400 with `failed_records`
 * when one fails, so a 200 means the event was taken.
 */

/** Mixpanel's documented limit for `$insert_id`: at most 36 bytes of letters, digits and `-`. */
const INSERT_ID = /^[A-Za-z0-9-]{1,36}$/;

/** The longest error text kept from an answer (the worker cleans and bounds it again). */
const MAX_MESSAGE = 300;

/**
 * The `$insert_id` for an event: its dedup key as it is (a UUID is 36 characters of hex and `-`),
 * or, for a key that does not fit Mixpanel's rules, the first 36 hex digits of its SHA-256, so that
 * every resend of the same event still carries the same id.
 */
export function insertIdFor(dedupKey: string): string {
  return INSERT_ID.test(dedupKey) ? dedupKey : createHash('sha256').update(dedupKey).digest('hex').slice(0, 36);
}

/** The event's properties besides the four Mixpanel deduplicates by. */
function details(event: RevenueEvent): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    crosswalk_event_id: event.eventId,
    crosswalk_profile_id: event.profileId,
    crosswalk_kind: event.kind,
  };
  if (event.customerUserId !== null) properties.customer_user_id = event.customerUserId;
  const transaction = event.transaction;
  if (transaction) {
    // Mixpanel has no reserved revenue property on events: these are plain properties that a report
    // sums. Refunds carry a negative amount, so a sum over all kinds is the net revenue.
    properties.revenue = event.revenue;
    properties.currency = event.currency;
    if (transaction.priceUsd !== null) properties.revenue_usd = event.kind === 'refund' ? -transaction.priceUsd : transaction.priceUsd;
    properties.store = transaction.store;
    properties.product_id = transaction.storeProductId;
    properties.purchase_type = transaction.purchaseType;
    properties.transaction_id = transaction.storeTransactionId;
    properties.original_transaction_id = transaction.storeOriginalTransactionId;
    properties.environment = transaction.environment;
    properties.country = transaction.price.country;
    if (transaction.offerType !== null) properties.offer_type = transaction.offerType;
    if (transaction.expiresAt !== null) properties.expires_at = isoOrNull(transaction.expiresAt);
  }
  const level = event.accessLevel;
  if (level) {
    properties.access_level_id = level.id;
    properties.access_level_change = level.change;
    properties.access_level_is_active = level.isActive;
    properties.access_level_expires_at = isoOrNull(level.expiresAt);
  }
  return properties;
}

function build(event: RevenueEvent, destination: DestinationSettings): Built {
  const distinctId = event.identifiers.mixpanel_user_id;
  if (!distinctId) return { skip: 'no mixpanel_user_id on the profile' };
  const name = destination.eventNames[event.kind];
  if (!name) return { skip: `no Mixpanel event name for ${event.kind} events` };
  const token = destination.config.project_token ?? '';
  const record = {
    event: name,
    properties: {
      distinct_id: distinctId,
      // The time the revenue happened, never the time of sending: Mixpanel deduplicates by
      // (event, distinct_id, time, $insert_id), so every resend must carry the same time.
      time: event.occurredAt,
      $insert_id: insertIdFor(event.dedupKey),
      ...details(event),
    },
  };
  return jsonRequest(destination.baseUrl, '/import?strict=1', [record], {
    accept: 'application/json',
    authorization: `Basic ${Buffer.from(`${token}:`, 'utf8').toString('base64')}`,
  });
}

/**
 * What Mixpanel said, from its JSON error body: each failed record's field and message (strict
 * mode's 400), else `error`; the raw start of the body when it is not that JSON.
 */
function message(answer: ToolAnswer): string {
  const text = answer.body.trim();
  let detail = text;
  try {
    const json = JSON.parse(text) as { error?: unknown; failed_records?: unknown };
    if (json && typeof json === 'object') {
      const records = Array.isArray(json.failed_records) ? (json.failed_records as Record<string, unknown>[]) : [];
      const reasons = records
        .map((record) => [record?.field, record?.message].filter((part) => typeof part === 'string' && part !== '').join(': '))
        .filter((reason) => reason !== '');
      if (reasons.length > 0) detail = reasons.join('; ');
      else if (typeof json.error === 'string') detail = json.error;
    }
  } catch {
    // Not JSON (a proxy's page, an empty body): the text as it is.
  }
  return oneLine(`HTTP ${answer.statusCode}${detail ? `: ${detail}` : ''}`, MAX_MESSAGE)!;
}

/**
 * With strict=1, a 200 means every record was imported (a failed record makes it a 400). Mixpanel
 * sends no Retry-After with its 429 (its docs ask for backoff from 2 s doubling to 60 s): without
 * one the worker's own schedule applies. 400 (the record failed validation), 401 (credentials), 413
 * (too large) and any other 4xx fail for good: Mixpanel asks not to retry validation errors.
 */
const judge = (answer: ToolAnswer): Verdict => judgeByStatus(answer, message);

export const mixpanel: DestinationType = {
  type: 'mixpanel',
  defaultBaseUrl: 'https://api.mixpanel.com',
  config: [
    {
      name: 'project_token',
      required: true,
      secret: true,
      description: "The project's token (Project Settings > Access Keys), sent as the Basic-auth user name to /import.",
      pattern: /^[A-Za-z0-9]{1,128}$/,
    },
  ],
  defaultEventNames: {
    trial: 'trial_started',
    purchase: 'purchase',
    renewal: 'renewal',
    refund: 'refund',
    access_level: 'access_level_changed',
  },
  // Drops a second copy by its dedup key (see docs/destinations/mixpanel.md).
  deduplicates: true,
  eventTypes: ['transaction.recorded', 'access_level.updated'],
  identifierKeys: ['mixpanel_user_id'],
  build,
  judge,
};
