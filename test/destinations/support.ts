import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { dedupUuid, readRevenueEvent } from '../../src/destinations/revenue-event.js';
import type { Built, DestinationSettings, DestinationType, RevenueEvent, RevenueKind, ToolAnswer, ToolRequest } from '../../src/destinations/types.js';
import type { EventPayload } from '../../src/domain/events.js';
import { IDENTIFIER_KEYS } from '../../src/domain/identifiers.js';
import type { ToolFake } from './fakes/fake.js';

/**
 * What the tests of the destination types share: the revenue events and stored events they build
 * requests from, destination settings, and sending a built request (to a tool fake) as the worker
 * would. Each test file keeps its own data; the defaults here are the examples of docs/webhooks.md.
 */

// ---- Revenue events ----

/** The kinds a store transaction gives (an access level's change is the other kind). */
export type TransactionKind = Exclude<RevenueKind, 'access_level'>;

type AccessLevel = NonNullable<RevenueEvent['accessLevel']>;

/** All 16 integration identifiers, null but those `set` names. */
export function identifiers(set: Record<string, string | null> = {}): Record<string, string | null> {
  return Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, set[key] ?? null]));
}

/** One store purchase and its profile: what eventOf makes the revenue event of each kind from. */
export interface Sale {
  /** The Crosswalk event's id. */
  eventId: string;
  profileId: string;
  customerUserId: string | null;
  identifiers: Readonly<Record<string, string | null>>;
  /** Crosswalk's purchase ids: of the first purchase (its trial and refund too), and of its renewal. */
  purchaseIds: readonly [first: string, renewal: string];
  store: string;
  storeProductId: string;
  /** The store's transaction ids: of the first purchase (the original of both), and of its renewal. */
  storeTransactionIds: readonly [first: string, renewal: string];
  environment: 'Production' | 'Sandbox';
  /** The full price (a trial costs nothing), and what it came to in US dollars. */
  price: { value: number; currency: string; country: string };
  priceUsd: number;
  purchasedAt: number;
  /** When a refund of it happened. */
  refundedAt: number;
  expiresAt: number | null;
  /** When Crosswalk recorded the event. */
  recordedAt: number;
  /** The dedup key; unset, the one readRevenueEvent makes (from the purchase and the kind, or the event id). */
  dedupKey?: string;
  /** The level an `access_level` event reports. */
  accessLevel: AccessLevel;
}

const PURCHASED_AT = Date.parse('2026-12-02T09:14:58.000Z');
const EXPIRES_AT = Date.parse('2027-01-02T09:14:58.000Z');

/** The purchase of docs/webhooks.md: premium_monthly on the App Store for 4.99 USD, refunded a week later. */
export const SALE: Sale = {
  eventId: 'd1f0b7a2-8c55-4a57-9a3e-5b8f2f0c7e11',
  profileId: 'e2637b01-1519-43a2-98ac-bc75f1d40b77',
  customerUserId: 'user-42',
  identifiers: identifiers(),
  purchaseIds: ['4b8e0b6c-6a1f-4f7e-bb0e-0f3c2d9a5e77', '4b8e0b6c-6a1f-4f7e-bb0e-0f3c2d9a5e77'],
  store: 'app_store',
  storeProductId: 'premium_monthly',
  storeTransactionIds: ['1000000123456789', '1000000123456790'],
  environment: 'Production',
  price: { value: 4.99, currency: 'USD', country: 'US' },
  priceUsd: 4.99,
  purchasedAt: PURCHASED_AT,
  refundedAt: Date.parse('2026-12-09T17:00:00.000Z'),
  expiresAt: EXPIRES_AT,
  recordedAt: PURCHASED_AT + 2_000,
  accessLevel: { id: 'premium', change: 'granted', isActive: true, expiresAt: EXPIRES_AT },
};

/** SALE bought a minute ago (for tools that refuse or re-date older events), with `changes` over it. */
export function recentSale(changes: Partial<Sale> = {}): Sale {
  const purchasedAt = Date.now() - 60_000;
  const recent = { purchasedAt, recordedAt: purchasedAt + 2_000, expiresAt: purchasedAt + 30 * 86_400_000 };
  return { ...SALE, ...recent, dedupKey: '7c1d9a52-3b1e-5f4a-9d2c-0e8b6f4a1c33', ...changes };
}

/** The fields that make an event an access level's change: the level, no revenue, no transaction. */
export function accessLevelChange(accessLevel: AccessLevel): Pick<RevenueEvent, 'kind' | 'revenue' | 'currency' | 'transaction' | 'accessLevel'> {
  return { kind: 'access_level', revenue: null, currency: null, transaction: null, accessLevel };
}

/**
 * The revenue event of `kind` that `sale` gives, as readRevenueEvent makes them: a trial costs
 * nothing and carries its free-trial offer; a refund takes the price back when it was refunded; a
 * renewal is a store transaction (and a purchase) of its own; an access level's change has no
 * revenue and is dated when it was recorded.
 */
export function eventOf(kind: RevenueKind, sale: Sale): RevenueEvent {
  const about = { eventId: sale.eventId, recordedAt: sale.recordedAt, profileId: sale.profileId, customerUserId: sale.customerUserId, identifiers: sale.identifiers };
  if (kind === 'access_level') return { ...about, ...accessLevelChange(sale.accessLevel), occurredAt: sale.recordedAt, dedupKey: sale.dedupKey ?? sale.eventId };
  const price = kind === 'trial' ? 0 : sale.price.value;
  const refund = kind === 'refund';
  const purchaseId = kind === 'renewal' ? sale.purchaseIds[1] : sale.purchaseIds[0];
  return {
    ...about,
    kind,
    occurredAt: refund ? sale.refundedAt : sale.purchasedAt,
    revenue: refund ? -price : price,
    currency: sale.price.currency,
    transaction: {
      purchaseId,
      purchaseType: 'subscription',
      store: sale.store,
      storeProductId: sale.storeProductId,
      storeTransactionId: kind === 'renewal' ? sale.storeTransactionIds[1] : sale.storeTransactionIds[0],
      storeOriginalTransactionId: sale.storeTransactionIds[0],
      environment: sale.environment,
      price: { ...sale.price, value: price },
      priceUsd: kind === 'trial' ? 0 : sale.priceUsd,
      purchasedAt: sale.purchasedAt,
      expiresAt: sale.expiresAt,
      refundedAt: refund ? sale.refundedAt : null,
      offerType: kind === 'trial' ? 'free_trial' : null,
    },
    accessLevel: null,
    dedupKey: sale.dedupKey ?? dedupUuid(`${purchaseId}:${kind}`),
  };
}

// ---- Stored events (what readRevenueEvent reads) ----

const STORED = { type: 'transaction.recorded', created_at: '2026-12-02T09:15:00.120Z', app_id: '3974ef4f-14c4-4ca0-b402-7db8c3c19553' } as const;
const STORED_PROFILE = { profile_id: 'e2637b01-1519-43a2-98ac-bc75f1d40b77', customer_user_id: 'user-42' };

/**
 * The stored transaction.recorded of docs/webhooks.md (a first purchase), under `integrationIdentifiers`;
 * `transaction` changes fields of its transaction, `data` fields of its data.
 */
export function storedTransaction(
  integrationIdentifiers: Record<string, string | null>,
  transaction: Record<string, unknown> = {},
  data: Record<string, unknown> = {},
): EventPayload {
  return {
    ...STORED,
    id: 'd1f0b7a2-8c55-4a57-9a3e-5b8f2f0c7e11',
    data: {
      ...STORED_PROFILE,
      integration_identifiers: integrationIdentifiers,
      transaction: {
        purchase_id: '4b8e0b6c-6a1f-4f7e-bb0e-0f3c2d9a5e77', purchase_type: 'subscription', store: 'app_store', store_product_id: 'premium_monthly',
        store_transaction_id: '1000000123456789', store_original_transaction_id: '1000000123456789', environment: 'Production',
        price: { country: 'US', currency: 'USD', value: 4.99 }, price_usd: 4.99, purchased_at: '2026-12-02T09:14:58.000Z',
        expires_at: '2027-01-02T09:14:58.000Z', offer: null, refunded_at: null,
        ...transaction,
      },
      created: true,
      changed_fields: [],
      ...data,
    },
  };
}

/** The stored access_level.updated of docs/webhooks.md (premium granted), under `integrationIdentifiers`. */
export function storedAccessLevel(integrationIdentifiers: Record<string, string | null>): EventPayload {
  return {
    ...STORED,
    id: '8e2c1f4a-0b7d-4c36-9f5e-2a1d6c8b9e30',
    type: 'access_level.updated',
    data: {
      ...STORED_PROFILE,
      integration_identifiers: integrationIdentifiers,
      access_level_id: 'premium',
      change: 'granted',
      access_level: { access_level_id: 'premium', is_active: true, expires_at: '2027-01-02T09:14:58.000Z' },
    },
  };
}

/** The revenue event readRevenueEvent reads from a stored event; fails the test if it is skipped instead. */
export function readStored(payload: EventPayload): RevenueEvent {
  const event = readRevenueEvent(payload);
  assert.ok(!('skip' in event), `expected a revenue event, got ${JSON.stringify(event)}`);
  return event;
}

// ---- Destinations, requests and answers ----

/** A destination of `type` at its documented host with its default event names; `changes` set any field. */
export function settingsOf(type: DestinationType, changes: Partial<DestinationSettings> = {}): DestinationSettings {
  return { id: 'dest-1', type: type.type, config: {}, baseUrl: type.defaultBaseUrl, eventNames: { ...type.defaultEventNames }, ...changes };
}

/** A destination of `type` that sends to `fake`, with its credentials and event names; `changes` set any field. */
export function fakeSettings(type: DestinationType, fake: ToolFake, changes: Partial<DestinationSettings> = {}): DestinationSettings {
  return settingsOf(type, { config: fake.config, baseUrl: fake.baseUrl, eventNames: { ...type.defaultEventNames, ...fake.eventNames }, ...changes });
}

/** The request a build made; fails the test if the event was skipped instead. */
export function requestOf(built: Built): ToolRequest {
  assert.ok('request' in built, `expected a request, got ${JSON.stringify(built)}`);
  return built.request;
}

/** Sends a built request for real, as the worker would, and gives the answer as judge() reads it. */
export async function send(request: ToolRequest): Promise<ToolAnswer> {
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
  return { statusCode: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
}

/** A tool's answer, for judge(). */
export const answer = (statusCode: number, body = '', headers: Record<string, string> = {}): ToolAnswer => ({ statusCode, headers, body });

/**
 * A tool fake for the suite being declared, started before its tests and closed after them, and the
 * settings of a destination of `type` that sends to it (see fakeSettings). Both objects are returned
 * at once and filled in when the fake has started (a fake's fields are closures and live arrays, so
 * the copy stays in step with it).
 */
export function suiteFake<F extends ToolFake>(type: DestinationType, start: () => Promise<F>): { fake: F; settings: DestinationSettings } {
  const fake = {} as F;
  const settings = {} as DestinationSettings;
  before(async () => {
    Object.assign(fake, await start());
    Object.assign(settings, fakeSettings(type, fake));
  });
  after(() => fake.close());
  return { fake, settings };
}
