import { customerUserId, SUBSCRIBER_EVERY, subscriberCount } from './preload.js';

export const PROFILE_PATH = '/api/v2/server-side-api/profile/';
export const IDENTIFIERS_PATH = '/api/v2/server-side-api/integration/profile/set/integration-identifiers/';
export const BATCH_PATH = '/crosswalk/v1/integration-identifiers/batch/';
export const TRANSACTION_PATH = '/api/v2/server-side-api/purchase/set/transaction/';
export const GRANT_PATH = '/api/v2/server-side-api/purchase/profile/grant/access-level/';
/** Items per batch request: large enough to share the commit, small enough to answer quickly. */
export const BATCH_ITEMS = 100;

export interface RequestShape {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Scenario {
  name: string;
  description: string;
  /** Identifier writes per request, when a request carries several (the batch scenario). */
  itemsPerRequest?: number;
  /** Concurrent connections, when the scenario needs fewer than the run's default. */
  connections?: number;
  /** False when the straightforward service does not offer the operation (its figures show as "-"). */
  straightforward?: boolean;
  /** A new request each call; `auth` is the Authorization header value. */
  next(auth: string): RequestShape;
}

const pick = (profiles: number) => Math.floor(Math.random() * profiles);

const DAY_MS = 24 * 60 * 60 * 1000;

export function scenarios(profiles: number, runId: string): Scenario[] {
  let created = 0;
  let sequence = 0;
  // The same three identifiers per profile in the single and the batch scenario, so that their
  // costs per write compare.
  const identifiers = (i: number) => {
    sequence++;
    return { appsflyer_id: `af-${i}-${sequence}`, adjust_device_id: `adj-${sequence}`, mixpanel_user_id: `mx-${i}` };
  };
  const set = (auth: string): RequestShape => {
    const i = pick(profiles);
    return {
      method: 'POST',
      path: IDENTIFIERS_PATH,
      headers: { authorization: auth, 'adapty-customer-user-id': customerUserId(i), 'content-type': 'application/json' },
      body: JSON.stringify(identifiers(i)),
    };
  };
  const batch = (auth: string): RequestShape => {
    const items = Array.from({ length: BATCH_ITEMS }, () => {
      const i = pick(profiles);
      return { customer_user_id: customerUserId(i), identifiers: identifiers(i) };
    });
    return {
      method: 'POST',
      path: BATCH_PATH,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    };
  };
  // One renewal of the profile's monthly subscription: a transaction id never sent before (so each
  // request records a new transaction), the same original transaction per profile (so the answer
  // carries one subscription and one access level however many renewals the run adds).
  let transactions = 0;
  const transaction = (auth: string): RequestShape => {
    const i = pick(profiles);
    const purchasedAt = Date.now();
    return {
      method: 'POST',
      path: TRANSACTION_PATH,
      headers: { authorization: auth, 'adapty-customer-user-id': customerUserId(i), 'content-type': 'application/json' },
      body: JSON.stringify({
        purchase_type: 'subscription',
        store: 'app_store',
        store_product_id: 'monthly',
        store_transaction_id: `tx-${runId}-${transactions++}`,
        store_original_transaction_id: `sub-${i}`,
        price: { country: 'US', currency: 'USD', value: 9.99 },
        purchased_at: new Date(purchasedAt).toISOString(),
        originally_purchased_at: '2024-01-01T00:00:00.000Z',
        expires_at: new Date(purchasedAt + 30 * DAY_MS).toISOString(),
        renew_status: true,
      }),
    };
  };
  // The profile of a preloaded subscriber: one subscription, one active access level.
  const profile = (auth: string): RequestShape => ({
    method: 'GET',
    path: PROFILE_PATH,
    headers: { authorization: auth, 'adapty-customer-user-id': customerUserId(SUBSCRIBER_EVERY * pick(subscriberCount(profiles))) },
  });
  // A week of `premium` for a random profile: each grant replaces the profile's previous one.
  const access = (auth: string): RequestShape => ({
    method: 'POST',
    path: GRANT_PATH,
    headers: { authorization: auth, 'adapty-customer-user-id': customerUserId(pick(profiles)), 'content-type': 'application/json' },
    body: JSON.stringify({ access_level_id: 'premium', expires_at: new Date(Date.now() + 7 * DAY_MS).toISOString() }),
  });
  const get = (auth: string): RequestShape => ({
    method: 'GET',
    path: IDENTIFIERS_PATH,
    headers: { authorization: auth, 'adapty-customer-user-id': customerUserId(pick(profiles)) },
  });
  return [
    { name: 'set', description: 'POST 3 identifiers to a random profile', next: set },
    { name: 'get', description: 'GET the identifiers of a random profile', next: get },
    {
      name: 'create',
      description: 'idempotent create of a new customer user id',
      next: (auth) => ({
        method: 'POST',
        path: PROFILE_PATH,
        headers: { authorization: auth, 'adapty-customer-user-id': `new-${runId}-${created++}`, 'content-type': 'application/json' },
        body: '{}',
      }),
    },
    { name: 'mixed', description: '80% get, 20% set', next: (auth) => (Math.random() < 0.8 ? get(auth) : set(auth)) },
    {
      name: 'batch',
      description: `POST a batch of ${BATCH_ITEMS} items, each 3 identifiers of a random profile`,
      itemsPerRequest: BATCH_ITEMS,
      // A bulk loader runs a few streams, not 64: each request already carries 100 writes.
      connections: 8,
      straightforward: false,
      next: batch,
    },
    {
      name: 'transaction',
      description: 'POST a new subscription transaction (a renewal, USD) for a random profile',
      next: transaction,
    },
    { name: 'profile', description: 'GET the profile of a random subscriber (a subscription, an active access level)', next: profile },
    { name: 'access', description: 'POST a grant of premium for a week to a random profile', next: access },
  ];
}
