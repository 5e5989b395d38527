import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { amplitude } from '../../src/destinations/amplitude.js';
import { dedupUuid } from '../../src/destinations/revenue-event.js';
import type { DestinationSettings, RevenueEvent, RevenueKind, ToolAnswer, ToolRequest } from '../../src/destinations/types.js';
import { startAmplitudeFake } from './fakes/amplitude.js';
import { answer, eventOf, identifiers, readStored, requestOf, SALE, send, settingsOf, storedTransaction, suiteFake } from './support.js';

const PURCHASED_AT = Date.parse('2026-12-02T09:14:58.000Z');
const REFUNDED_AT = Date.parse('2026-12-09T17:00:00.000Z');

/** A revenue event as readRevenueEvent makes one (its own purchase for a renewal); `ids` sets integration identifiers. */
function revenueEvent(kind: RevenueKind, ids: Record<string, string> = { amplitude_user_id: 'user-42', amplitude_device_id: 'C8F9E604-F01A-4BD9' }): RevenueEvent {
  return eventOf(kind, { ...SALE, eventId: `event-${kind}`, identifiers: identifiers(ids), purchaseIds: ['purchase-1', 'purchase-2'], purchasedAt: PURCHASED_AT, refundedAt: REFUNDED_AT });
}

function destination(baseUrl = 'https://api2.amplitude.com/', config: Record<string, string> = { api_key: 'key-0123456789' }, names: Partial<Record<RevenueKind, string>> = {}): DestinationSettings {
  return settingsOf(amplitude, { config, baseUrl, eventNames: { ...amplitude.defaultEventNames, ...names } });
}

function built(event: RevenueEvent, settings = destination()): { request: ToolRequest; body: any; sent: any } {
  const request = requestOf(amplitude.build(event, settings));
  const body = JSON.parse(request.body);
  return { request, body, sent: body.events[0] };
}

describe('Amplitude: the request built for each kind of event', () => {
  test('a purchase: POST /2/httpapi, both ids, time in ms, insert_id, Amplitude revenue fields and the properties', () => {
    const event = revenueEvent('purchase');
    const { request, body, sent } = built(event);
    assert.equal(request.url, 'https://api2.amplitude.com/2/httpapi', 'the trailing slash of the base URL is dropped');
    assert.deepEqual(request.headers, { 'content-type': 'application/json' });
    assert.equal(body.api_key, 'key-0123456789');
    assert.equal(body.options, undefined);
    assert.equal(body.events.length, 1);
    assert.deepEqual(
      { ...sent, event_properties: undefined },
      {
        user_id: 'user-42', device_id: 'C8F9E604-F01A-4BD9', event_type: 'purchase_completed', time: PURCHASED_AT, insert_id: event.dedupKey,
        price: 4.99, quantity: 1, revenue: 4.99, productId: 'premium_monthly', revenueType: 'purchase', currency: 'USD', event_properties: undefined,
      },
    );
    assert.deepEqual(sent.event_properties, {
      crosswalk_event_id: 'event-purchase', profile_id: 'e2637b01-1519-43a2-98ac-bc75f1d40b77', customer_user_id: 'user-42',
      store: 'app_store', product_id: 'premium_monthly', purchase_type: 'subscription', environment: 'Production',
      store_transaction_id: '1000000123456789', store_original_transaction_id: '1000000123456789', purchase_id: 'purchase-1',
      revenue: 4.99, currency: 'USD', country: 'US', price_usd: 4.99, expires_at: '2027-01-02T09:14:58.000Z',
    });
  });

  test('a renewal is a revenue event of its own, with its own insert_id', () => {
    const { sent } = built(revenueEvent('renewal'));
    assert.equal(sent.event_type, 'subscription_renewed');
    assert.equal(sent.revenueType, 'renewal');
    assert.equal(sent.revenue, 4.99);
    assert.equal(sent.insert_id, dedupUuid('purchase-2:renewal'));
    assert.notEqual(sent.insert_id, dedupUuid('purchase-1:purchase'));
    assert.equal(sent.event_properties.store_transaction_id, '1000000123456790');
  });

  test('a free trial carries no revenue fields (they would make it a revenue event), only its properties', () => {
    const { sent } = built(revenueEvent('trial'));
    assert.equal(sent.event_type, 'trial_started');
    for (const field of ['price', 'quantity', 'revenue', 'productId', 'revenueType', 'currency']) assert.equal(field in sent, false, field);
    assert.equal(sent.event_properties.revenue, 0);
    assert.equal(sent.event_properties.offer_type, 'free_trial');
  });

  test('a refund subtracts: negative price and revenue, at the time of the refund', () => {
    const event = revenueEvent('refund');
    const { sent } = built(event);
    assert.equal(sent.event_type, 'purchase_refunded');
    assert.equal(sent.time, REFUNDED_AT);
    assert.equal(sent.price, -4.99);
    assert.equal(sent.quantity, 1);
    assert.equal(sent.revenue, -4.99);
    assert.equal(sent.revenueType, 'refund');
    assert.equal(sent.insert_id, dedupUuid('purchase-1:refund'));
    assert.equal(sent.event_properties.price_usd, -4.99);
  });

  test("an access level's change: no revenue, the level, its change and whether it is active", () => {
    const { sent } = built(revenueEvent('access_level'));
    assert.equal(sent.event_type, 'access_level_changed');
    assert.equal(sent.insert_id, 'event-access_level');
    assert.equal('revenue' in sent || 'price' in sent, false);
    assert.deepEqual(sent.event_properties, {
      crosswalk_event_id: 'event-access_level', profile_id: 'e2637b01-1519-43a2-98ac-bc75f1d40b77', customer_user_id: 'user-42',
      access_level_id: 'premium', change: 'granted', is_active: true, expires_at: '2027-01-02T09:14:58.000Z',
    });
  });

  test('the event as read from a stored transaction.recorded (the example of docs/webhooks.md)', () => {
    const payload = storedTransaction(identifiers({ amplitude_user_id: 'user-42' }));
    const event = readStored(payload);
    const { sent } = built(event);
    assert.equal(sent.user_id, 'user-42');
    assert.equal('device_id' in sent, false);
    assert.equal(sent.event_type, 'purchase_completed');
    assert.equal(sent.insert_id, dedupUuid('4b8e0b6c-6a1f-4f7e-bb0e-0f3c2d9a5e77:purchase'));
    assert.equal(sent.revenue, 4.99);
  });
});

describe('Amplitude: which id, and when there is none', () => {
  test('only the ids the profile has are sent', () => {
    const userOnly = built(revenueEvent('purchase', { amplitude_user_id: 'user-42' })).sent;
    assert.equal(userOnly.user_id, 'user-42');
    assert.equal('device_id' in userOnly, false);
    const deviceOnly = built(revenueEvent('purchase', { amplitude_device_id: 'device-0001' })).sent;
    assert.equal(deviceOnly.device_id, 'device-0001');
    assert.equal('user_id' in deviceOnly, false);
  });

  test('no Amplitude id: skipped, with the reason', () => {
    assert.deepEqual(amplitude.build(revenueEvent('purchase', { posthog_distinct_user_id: 'ph-1' }), destination()), {
      skip: 'no amplitude_user_id or amplitude_device_id on the profile',
    });
  });

  test('an id shorter than Amplitude accepts is not sent; min_id_length lowers the bar and is passed on', () => {
    const short = revenueEvent('purchase', { amplitude_user_id: 'u42' });
    const skipped = amplitude.build(short, destination());
    assert.ok('skip' in skipped && skipped.skip.includes('shorter than 5 characters'), JSON.stringify(skipped));
    assert.equal(built(revenueEvent('purchase', { amplitude_user_id: 'u42', amplitude_device_id: 'device-0001' })).sent.user_id, undefined);
    const { body, sent } = built(short, destination(undefined, { api_key: 'key-0123456789', min_id_length: '3' }));
    assert.equal(sent.user_id, 'u42');
    assert.deepEqual(body.options, { min_id_length: 3 });
  });
});

describe('Amplitude: event names', () => {
  test('a destination names its own events; a kind without a name is skipped', () => {
    const named = destination(undefined, undefined, { purchase: 'Subscription Started', refund: 'Refund' });
    assert.equal(built(revenueEvent('purchase'), named).sent.event_type, 'Subscription Started');
    assert.equal(built(revenueEvent('refund'), named).sent.event_type, 'Refund');
    assert.equal(built(revenueEvent('renewal'), named).sent.event_type, 'subscription_renewed');
    const unnamed: DestinationSettings = { ...destination(), eventNames: { purchase: 'purchase_completed' } };
    assert.deepEqual(amplitude.build(revenueEvent('refund'), unnamed), { skip: 'no Amplitude event name for refund events on this destination' });
  });

  test('every kind has a default name, in snake_case', () => {
    for (const kind of ['trial', 'purchase', 'renewal', 'refund', 'access_level'] as const) assert.match(amplitude.defaultEventNames[kind] ?? '', /^[a-z]+(_[a-z]+)+$/);
  });

  test('the config fields and their patterns', () => {
    const [apiKey, minIdLength] = amplitude.config;
    assert.deepEqual([apiKey?.name, apiKey?.required, apiKey?.secret], ['api_key', true, true]);
    assert.ok(apiKey?.pattern?.test('e3b0c44298fc1c149afbf4c8996fb924') && !apiKey.pattern.test('') && !apiKey.pattern.test('with space'));
    assert.deepEqual([minIdLength?.name, minIdLength?.required], ['min_id_length', false]);
    assert.ok(minIdLength?.pattern?.test('1') && !minIdLength.pattern.test('0') && !minIdLength.pattern.test('five'));
  });
});

describe('Amplitude: sent to the fake over HTTP', () => {
  const { fake, settings } = suiteFake(amplitude, startAmplitudeFake);

  test('a purchase is accepted and counted under the user id, with its revenue and currency', async () => {
    const event = revenueEvent('purchase', { amplitude_user_id: 'accepted-user' });
    const { request } = built(event, settings);
    const reply = await send(request);
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(JSON.parse(reply.body).events_ingested, 1);
    assert.deepEqual(amplitude.judge(reply), { status: 'succeeded' });
    const counted = fake.counted().filter((c) => c.userId === 'accepted-user');
    assert.deepEqual(counted.map(({ userId, eventName, revenue, currency, dedupKey }) => ({ userId, eventName, revenue, currency, dedupKey })), [
      { userId: 'accepted-user', eventName: 'purchase_completed', revenue: 4.99, currency: 'USD', dedupKey: event.dedupKey },
    ]);
  });

  test('the same event sent twice is counted once; its refund counts on its own and cancels it', async () => {
    const ids = { amplitude_device_id: 'twice-device' };
    const purchase = built(revenueEvent('purchase', ids), settings).request;
    assert.equal((await send(purchase)).statusCode, 200);
    assert.equal((await send(purchase)).statusCode, 200, 'a duplicate is answered like any event');
    assert.equal((await send(built(revenueEvent('refund', ids), settings).request)).statusCode, 200);
    const counted = fake.counted().filter((c) => c.userId === 'twice-device');
    assert.deepEqual(counted.map((c) => [c.eventName, c.revenue]), [['purchase_completed', 4.99], ['purchase_refunded', -4.99]]);
  });

  test('a wrong API key is refused with 400 "Invalid API key", a failure', async () => {
    const { request } = built(revenueEvent('purchase'), destination(fake.baseUrl, { api_key: 'not-the-key' }));
    const reply = await send(request);
    assert.equal(reply.statusCode, 400);
    assert.deepEqual(amplitude.judge(reply), { status: 'failed', error: 'Amplitude 400: Invalid API key' });
  });

  test('malformed payloads are refused as Amplitude documents, and nothing is counted', async () => {
    const before = fake.counted().length;
    const { request, body } = built(revenueEvent('purchase', { amplitude_user_id: 'malformed-user' }), settings);
    const withEvent = (changes: Record<string, unknown>) => JSON.stringify({ ...body, events: [{ ...body.events[0], ...changes }] });
    const cases: [string, ToolAnswer, string][] = [
      ['not JSON', await send({ ...request, body: '{"api_key":' }), 'Amplitude 400: Invalid JSON request body'],
      ['no events', await send({ ...request, body: JSON.stringify({ api_key: fake.config.api_key }) }), 'Amplitude 400: Request missing required field (missing field: events)'],
      ['no event_type', await send({ ...request, body: withEvent({ event_type: undefined }) }), 'Amplitude 400: Request missing required field (missing: event_type)'],
      ['time as ISO text', await send({ ...request, body: withEvent({ time: '2026-12-02T09:14:58Z' }) }), 'Amplitude 400: Invalid field values on some events (invalid: time)'],
      ['a 3-character id', await send({ ...request, body: withEvent({ user_id: 'abc' }) }), 'Amplitude 400: Request missing required field (missing: user_id)'],
      ['a placeholder id', await send({ ...request, body: withEvent({ user_id: 'undefined' }) }), 'Amplitude 400: Invalid field values on some events (invalid: user_id)'],
      ['a form body', await send({ ...request, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 'Amplitude 400: Invalid JSON request body'],
    ];
    for (const [what, reply, error] of cases) {
      assert.equal(reply.statusCode, 400, what);
      assert.deepEqual(amplitude.judge(reply), { status: 'failed', error }, what);
    }
    assert.equal(fake.counted().length, before);
  });

  test('forced answers: 429 is retried after the pause (or its Retry-After), 500 and 503 are retried, 413 fails', async () => {
    const { request } = built(revenueEvent('purchase', { amplitude_user_id: 'forced-user' }), settings);
    fake.failNext([429, 500, 503, 413]);
    fake.failNext([429], 7);
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push(amplitude.judge(await send(request)));
    assert.deepEqual(verdicts, [
      { status: 'retry', error: 'Amplitude 429: Too many requests for some devices and users', retryAfterMs: 30_000 },
      { status: 'retry', error: 'Amplitude 500: Server Error' },
      { status: 'retry', error: 'Amplitude 503: Server Error' },
      { status: 'failed', error: 'Amplitude 413: Payload too large' },
      { status: 'retry', error: 'Amplitude 429: Too many requests for some devices and users', retryAfterMs: 7000 },
    ]);
    assert.equal(fake.counted().filter((c) => c.userId === 'forced-user').length, 0);
    assert.equal(amplitude.judge(await send(request)).status, 'succeeded');
  });

  test('an insert_id is remembered for 7 days, per device', async () => {
    let now = Date.parse('2026-12-02T10:00:00Z');
    const clocked = await startAmplitudeFake({ now: () => now });
    try {
      const at = destination(clocked.baseUrl, clocked.config);
      const request = built(revenueEvent('purchase', { amplitude_user_id: 'window-user' }), at).request;
      await send(request);
      now += 6 * 86_400_000;
      await send(request);
      assert.equal(clocked.counted().length, 1, 'within 7 days: dropped');
      now += 2 * 86_400_000;
      await send(request);
      assert.equal(clocked.counted().length, 2, 'after 7 days: counted again');
      await send(built(revenueEvent('purchase', { amplitude_user_id: 'window-user', amplitude_device_id: 'another-device' }), at).request);
      assert.equal(clocked.counted().length, 3, 'the same insert_id on another device is another event');
    } finally {
      await clocked.close();
    }
  });
});

describe('Amplitude: answers', () => {
  test('2xx succeeds', () => {
    assert.deepEqual(amplitude.judge(answer(200, '{"code":200,"events_ingested":1,"payload_size_bytes":50,"server_upload_time":1}')), { status: 'succeeded' });
  });

  test("400 fails with Amplitude's error and the fields it names", () => {
    const body = JSON.stringify({ code: 400, error: 'Request missing required field', missing_field: 'api_key', events_with_invalid_fields: { time: [3, 4] }, events_with_missing_fields: { event_type: [3] } });
    assert.deepEqual(amplitude.judge(answer(400, body)), {
      status: 'failed',
      error: 'Amplitude 400: Request missing required field (missing field: api_key; missing: event_type; invalid: time)',
    });
    assert.deepEqual(amplitude.judge(answer(400, '<html><body><h1>400 Bad Request</h1></body></html>')), {
      status: 'failed',
      error: 'Amplitude 400: <html><body><h1>400 Bad Request</h1></body></html>',
    });
  });

  test('401, 403 and 413 fail; a body-less one says so', () => {
    assert.deepEqual(amplitude.judge(answer(401, '{"code":401,"error":"Invalid API key"}')), { status: 'failed', error: 'Amplitude 401: Invalid API key' });
    assert.deepEqual(amplitude.judge(answer(403)), { status: 'failed', error: 'Amplitude 403: no error message' });
    assert.deepEqual(amplitude.judge(answer(413, '{"code":413,"error":"Payload too large"}')), { status: 'failed', error: 'Amplitude 413: Payload too large' });
    assert.deepEqual(amplitude.judge(answer(413)), { status: 'failed', error: 'Amplitude 413: payload too large' });
  });

  test('429: retried after Retry-After (seconds or a date) when sent, else after the 30 s Amplitude asks for', () => {
    const throttled = '{"code":429,"error":"Too many requests for some devices and users","eps_threshold":30}';
    assert.deepEqual(amplitude.judge(answer(429, throttled, { 'retry-after': '12' })), {
      status: 'retry', error: 'Amplitude 429: Too many requests for some devices and users', retryAfterMs: 12_000,
    });
    const date = amplitude.judge(answer(429, throttled, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }));
    assert.ok(date.status === 'retry' && date.retryAfterMs !== undefined && date.retryAfterMs > 55_000 && date.retryAfterMs <= 60_000, JSON.stringify(date));
    assert.deepEqual(amplitude.judge(answer(429, throttled)), { status: 'retry', error: 'Amplitude 429: Too many requests for some devices and users', retryAfterMs: 30_000 });
  });

  test('500, 502, 503 and 504 are retried (insert_id keeps a copy Amplitude already took from counting twice)', () => {
    for (const status of [500, 502, 503, 504]) assert.deepEqual(amplitude.judge(answer(status, 'upstream error')), { status: 'retry', error: `Amplitude ${status}: upstream error` });
    assert.deepEqual(amplitude.judge(answer(503, '', { 'retry-after': '5' })), { status: 'retry', error: 'Amplitude 503: no error message', retryAfterMs: 5000 });
  });
});
