import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { posthog } from '../../src/destinations/posthog.js';
import { dedupUuid } from '../../src/destinations/revenue-event.js';
import type { DestinationSettings, RevenueEvent, RevenueKind, ToolRequest } from '../../src/destinations/types.js';
import { startPostHogFake } from './fakes/posthog.js';
import { answer, eventOf, identifiers, readStored, requestOf, SALE, type Sale, send, settingsOf, storedAccessLevel, suiteFake } from './support.js';

/** A yearly subscription on Google Play for 9.99 EUR, each renewal its own purchase; the access level's change is a revocation. */
const YEARLY: Sale = {
  ...SALE,
  purchaseIds: ['purchase-1', 'purchase-2'], store: 'play_store', storeProductId: 'premium_yearly', storeTransactionIds: ['GPA.3372-0001', 'GPA.3372-0002'],
  price: { value: 9.99, currency: 'EUR', country: 'DE' }, priceUsd: 10.79, expiresAt: Date.parse('2027-12-02T09:14:58.000Z'),
  accessLevel: { id: 'premium', change: 'revoked', isActive: false, expiresAt: null },
};

/** A revenue event as readRevenueEvent makes one; `ids` sets integration identifiers. */
function revenueEvent(kind: RevenueKind, ids: Record<string, string> = { posthog_distinct_user_id: 'user-42' }): RevenueEvent {
  const event = eventOf(kind, { ...YEARLY, eventId: `event-${kind}`, identifiers: identifiers(ids) });
  // The access level's change is keyed by the id of the docs/webhooks.md example.
  return kind === 'access_level' ? { ...event, dedupKey: '8e2c1f4a-0b7d-4c36-9f5e-2a1d6c8b9e30' } : event;
}

function destination(baseUrl = 'https://us.i.posthog.com', config: Record<string, string> = { api_key: 'phc_test0123456789' }, names: Partial<Record<RevenueKind, string>> = {}): DestinationSettings {
  return settingsOf(posthog, { config, baseUrl, eventNames: { ...posthog.defaultEventNames, ...names } });
}

function built(event: RevenueEvent, settings = destination()): { request: ToolRequest; body: any } {
  const request = requestOf(posthog.build(event, settings));
  return { request, body: JSON.parse(request.body) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('PostHog: the request built for each kind of event', () => {
  test('a purchase: POST /i/v0/e/, the distinct id, the dedup key as uuid, an ISO timestamp and the revenue properties', () => {
    const event = revenueEvent('purchase');
    const { request, body } = built(event, destination('https://eu.i.posthog.com/'));
    assert.equal(request.url, 'https://eu.i.posthog.com/i/v0/e/');
    assert.deepEqual(request.headers, { 'content-type': 'application/json' });
    assert.deepEqual({ ...body, properties: undefined }, {
      api_key: 'phc_test0123456789', event: 'purchase_completed', distinct_id: 'user-42', uuid: event.dedupKey, timestamp: '2026-12-02T09:14:58.000Z', properties: undefined,
    });
    assert.match(body.uuid, UUID);
    assert.deepEqual(body.properties, {
      $geoip_disable: true, crosswalk_event_id: 'event-purchase', profile_id: 'e2637b01-1519-43a2-98ac-bc75f1d40b77', customer_user_id: 'user-42',
      revenue: 9.99, currency: 'EUR', product: 'premium_yearly', subscription_id: 'GPA.3372-0001', revenue_type: 'purchase',
      store: 'play_store', product_id: 'premium_yearly', purchase_type: 'subscription', environment: 'Production',
      store_transaction_id: 'GPA.3372-0001', store_original_transaction_id: 'GPA.3372-0001', purchase_id: 'purchase-1',
      country: 'DE', price_usd: 10.79, expires_at: '2027-12-02T09:14:58.000Z',
    });
  });

  test('a renewal: its own name and uuid, the same subscription_id', () => {
    const { body } = built(revenueEvent('renewal'));
    assert.equal(body.event, 'subscription_renewed');
    assert.equal(body.uuid, dedupUuid('purchase-2:renewal'));
    assert.equal(body.properties.subscription_id, 'GPA.3372-0001');
    assert.equal(body.properties.store_transaction_id, 'GPA.3372-0002');
    assert.equal(body.properties.revenue, 9.99);
  });

  test('a free trial: revenue 0 and its offer', () => {
    const { body } = built(revenueEvent('trial'));
    assert.equal(body.event, 'trial_started');
    assert.equal(body.properties.revenue, 0);
    assert.equal(body.properties.offer_type, 'free_trial');
  });

  test('a refund: negative revenue, at the time of the refund', () => {
    const { body } = built(revenueEvent('refund'));
    assert.equal(body.event, 'purchase_refunded');
    assert.equal(body.timestamp, '2026-12-09T17:00:00.000Z');
    assert.equal(body.properties.revenue, -9.99);
    assert.equal(body.properties.price_usd, -10.79);
    assert.equal(body.uuid, dedupUuid('purchase-1:refund'));
  });

  test("an access level's change: the level, its change and whether it is active, no revenue", () => {
    const { body } = built(revenueEvent('access_level'));
    assert.equal(body.event, 'access_level_changed');
    assert.equal(body.uuid, '8e2c1f4a-0b7d-4c36-9f5e-2a1d6c8b9e30');
    assert.deepEqual(body.properties, {
      $geoip_disable: true, crosswalk_event_id: 'event-access_level', profile_id: 'e2637b01-1519-43a2-98ac-bc75f1d40b77', customer_user_id: 'user-42',
      access_level_id: 'premium', change: 'revoked', is_active: false,
    });
  });

  test('the event as read from a stored access_level.updated (the example of docs/webhooks.md)', () => {
    const payload = storedAccessLevel(identifiers({ posthog_distinct_user_id: '018daf23-89b3-7cf8-a4f1-94064c96df90' }));
    const event = readStored(payload);
    const { body } = built(event);
    assert.equal(body.distinct_id, '018daf23-89b3-7cf8-a4f1-94064c96df90');
    assert.equal(body.uuid, '8e2c1f4a-0b7d-4c36-9f5e-2a1d6c8b9e30');
    assert.equal(body.timestamp, '2026-12-02T09:15:00.120Z');
    assert.deepEqual([body.properties.change, body.properties.is_active, body.properties.expires_at], ['granted', true, '2027-01-02T09:14:58.000Z']);
  });
});

describe('PostHog: the id, names and config', () => {
  test('no posthog_distinct_user_id: skipped, with the reason', () => {
    assert.deepEqual(posthog.build(revenueEvent('purchase', { amplitude_user_id: 'user-42' }), destination()), { skip: 'no posthog_distinct_user_id on the profile' });
  });

  test('a destination names its own events; a kind without a name is skipped', () => {
    const named = destination(undefined, undefined, { purchase: 'Subscription Purchased', access_level: 'entitlement_changed' });
    assert.equal(built(revenueEvent('purchase'), named).body.event, 'Subscription Purchased');
    assert.equal(built(revenueEvent('access_level'), named).body.event, 'entitlement_changed');
    assert.equal(built(revenueEvent('trial'), named).body.event, 'trial_started');
    const unnamed: DestinationSettings = { ...destination(), eventNames: {} };
    assert.deepEqual(posthog.build(revenueEvent('renewal'), unnamed), { skip: 'no PostHog event name for renewal events on this destination' });
  });

  test('the api_key field: required, secret, not empty and without spaces', () => {
    assert.equal(posthog.config.length, 1);
    const [apiKey] = posthog.config;
    assert.deepEqual([apiKey?.name, apiKey?.required, apiKey?.secret], ['api_key', true, true]);
    assert.ok(apiKey?.pattern?.test('phc_yv5gInhFa1SIb14lc02e9rHfGb22dqfaN1fc4xv5Fzw') && !apiKey.pattern.test('') && !apiKey.pattern.test(' phc_x'));
  });
});

describe('PostHog: sent to the fake over HTTP', () => {
  const { fake, settings } = suiteFake(posthog, startPostHogFake);

  test('a purchase is accepted ({"status":1}) and counted under the distinct id, with its revenue and currency', async () => {
    const event = revenueEvent('purchase', { posthog_distinct_user_id: 'accepted-user' });
    const reply = await send(built(event, settings).request);
    assert.equal(reply.statusCode, 200);
    assert.deepEqual(JSON.parse(reply.body), { status: 1 });
    assert.deepEqual(posthog.judge(reply), { status: 'succeeded' });
    const counted = fake.counted().filter((c) => c.userId === 'accepted-user');
    assert.deepEqual(counted.map(({ userId, eventName, revenue, currency, dedupKey }) => ({ userId, eventName, revenue, currency, dedupKey })), [
      { userId: 'accepted-user', eventName: 'purchase_completed', revenue: 9.99, currency: 'EUR', dedupKey: event.dedupKey },
    ]);
  });

  test('the same event sent twice is counted once; its refund counts on its own', async () => {
    const ids = { posthog_distinct_user_id: 'twice-user' };
    const purchase = built(revenueEvent('purchase', ids), settings).request;
    assert.equal((await send(purchase)).statusCode, 200);
    assert.equal((await send(purchase)).statusCode, 200);
    await send(built(revenueEvent('refund', ids), settings).request);
    assert.deepEqual(fake.counted().filter((c) => c.userId === 'twice-user').map((c) => [c.eventName, c.revenue]), [['purchase_completed', 9.99], ['purchase_refunded', -9.99]]);
  });

  test('a wrong project API key is refused with 401 invalid_api_key, a failure', async () => {
    const reply = await send(built(revenueEvent('purchase'), destination(fake.baseUrl, { api_key: 'phc_wrong' })).request);
    assert.equal(reply.statusCode, 401);
    assert.deepEqual(posthog.judge(reply), {
      status: 'failed',
      error: 'PostHog 401: Project API key invalid. You can find your project API key in PostHog project settings. (invalid_api_key)',
    });
  });

  test('a malformed body is a 400; events PostHog drops after its 200 are not counted', async () => {
    const { request, body } = built(revenueEvent('purchase', { posthog_distinct_user_id: 'dropped-user' }), settings);
    const reply = await send({ ...request, body: '{"api_key":' });
    assert.equal(reply.statusCode, 400);
    assert.deepEqual(posthog.judge(reply), { status: 'failed', error: 'PostHog 400: Malformed request data (invalid_payload)' });
    for (const changes of [{ uuid: 'not-a-uuid' }, { event: '' }, { distinct_id: '' }]) {
      const dropped = await send({ ...request, body: JSON.stringify({ ...body, ...changes }) });
      assert.deepEqual([dropped.statusCode, dropped.body], [200, '{"status":1}'], JSON.stringify(changes));
    }
    assert.equal(fake.counted().filter((c) => c.userId === 'dropped-user').length, 0);
  });

  test('forced answers: 429 (with or without Retry-After) and 503 are retried, 400 fails', async () => {
    const { request } = built(revenueEvent('purchase', { posthog_distinct_user_id: 'forced-user' }), settings);
    fake.failNext([429, 503, 400]);
    fake.failNext([429], 3);
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push(posthog.judge(await send(request)));
    assert.deepEqual(verdicts, [
      { status: 'retry', error: 'PostHog 429: Too many requests. (throttled)' },
      { status: 'retry', error: 'PostHog 503: Unable to fetch team from database. (fetch_team_fail)' },
      { status: 'failed', error: 'PostHog 400: Malformed request data (invalid_payload)' },
      { status: 'retry', error: 'PostHog 429: Too many requests. (throttled)', retryAfterMs: 3000 },
    ]);
    assert.equal(fake.counted().filter((c) => c.userId === 'forced-user').length, 0);
  });
});

describe('PostHog: answers', () => {
  test('2xx succeeds', () => {
    assert.deepEqual(posthog.judge(answer(200, '{"status":1}')), { status: 'succeeded' });
  });

  test("400, 401 and 413 fail with PostHog's detail and code", () => {
    assert.deepEqual(posthog.judge(answer(400, '{"type":"validation_error","code":"invalid_project","detail":"Invalid Project ID.","attr":"project_id"}')), {
      status: 'failed', error: 'PostHog 400: Invalid Project ID. (invalid_project)',
    });
    assert.deepEqual(posthog.judge(answer(401, '{"type":"authentication_error","code":"invalid_api_key","detail":"Project API key invalid."}')), {
      status: 'failed', error: 'PostHog 401: Project API key invalid. (invalid_api_key)',
    });
    assert.deepEqual(posthog.judge(answer(413, 'Payload Too Large')), { status: 'failed', error: 'PostHog 413: Payload Too Large' });
    assert.deepEqual(posthog.judge(answer(404)), { status: 'failed', error: 'PostHog 404: no error message' });
  });

  test('429 and 5xx are retried, after Retry-After when it is sent', () => {
    assert.deepEqual(posthog.judge(answer(429, '', { 'retry-after': '20' })), { status: 'retry', error: 'PostHog 429: no error message', retryAfterMs: 20_000 });
    assert.deepEqual(posthog.judge(answer(429)), { status: 'retry', error: 'PostHog 429: no error message' });
    for (const status of [500, 502, 503, 504]) assert.equal(posthog.judge(answer(status, 'error')).status, 'retry', String(status));
  });
});
