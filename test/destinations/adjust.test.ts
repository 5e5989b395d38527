import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adjust } from '../../src/destinations/adjust.js';
import type { RevenueEvent, ToolAnswer, ToolRequest } from '../../src/destinations/types.js';
import { startAdjustFake } from './fakes/adjust.js';
import { accessLevelChange, eventOf, fakeSettings, requestOf, SALE, type Sale, send, suiteFake, type TransactionKind } from './support.js';

const ADID = '18546f6171f67e29d1cb983322ad1329';
// Adjust refuses events older than 58 days, so the events here are recent.
const PURCHASED_AT = Math.floor(Date.now() / 1000 - 3 * 86_400) * 1000 + 250;

/** A yearly subscription on Google Play for 9.99 EUR three days ago, refunded a day later. */
const YEARLY: Sale = {
  ...SALE,
  eventId: '8e2c1f4a-0b7d-4c36-9f5e-2a1d6c8b9e30', store: 'play_store', storeProductId: 'premium_yearly',
  storeTransactionIds: ['GPA.3345-0000-0000-00001', 'GPA.3345-0000-0000-00001..1'], price: { value: 9.99, currency: 'EUR', country: 'DE' }, priceUsd: 9.99 * 1.1,
  purchasedAt: PURCHASED_AT, refundedAt: PURCHASED_AT + 86_400_000, expiresAt: null, dedupKey: '5b0f3c1e-0d7a-5a2b-8c4d-1e2f3a4b5c6d',
};

/**
 * One transaction's revenue event, as readRevenueEvent makes them, recorded a second after it
 * happened; `changes` change the sale (`adid` its Adjust device id, `occurredAt` when it happened).
 */
function revenueEvent(kind: TransactionKind, { adid = ADID, occurredAt, ...changes }: Partial<Sale> & { adid?: string | null; occurredAt?: number } = {}): RevenueEvent {
  const event = eventOf(kind, { ...YEARLY, identifiers: { appsflyer_id: null, adjust_device_id: adid }, ...changes });
  const at = occurredAt ?? event.occurredAt;
  return { ...event, occurredAt: at, recordedAt: at + 1_000 };
}

const paramsOf = (request: ToolRequest) => Object.fromEntries(new URLSearchParams(request.body));

describe('Adjust destination', () => {
  const { fake, settings: destination } = suiteFake(adjust, startAdjustFake);
  /** A fake of its own per test that sends, so that Adjust's per-device time order starts afresh. */
  const fresh = async (options?: Parameters<typeof startAdjustFake>[0]) => {
    const own = await startAdjustFake(options);
    return { own, settings: fakeSettings(adjust, own) };
  };

  test('a purchase is one form-encoded POST to /event with the Bearer token, under the adid', () => {
    const request = requestOf(adjust.build(revenueEvent('purchase'), destination));
    assert.equal(request.url, `${fake.baseUrl}/event`);
    assert.deepEqual(request.headers, { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${fake.config.s2s_token}` });
    assert.deepEqual(paramsOf(request), {
      s2s: '1',
      app_token: fake.config.app_token,
      event_token: fake.eventNames.purchase,
      adid: ADID,
      created_at_unix: String(Math.floor(PURCHASED_AT / 1000)),
      environment: 'production',
      revenue: '9.99',
      currency: 'EUR',
      callback_params: JSON.stringify({ store_transaction_id: 'GPA.3345-0000-0000-00001', store_product_id: 'premium_yearly', customer_user_id: 'user-42' }),
    });
  });

  test('a renewal uses its own token; a trial goes without revenue (Adjust takes at least 0.001)', () => {
    const renewal = paramsOf(requestOf(adjust.build(revenueEvent('renewal'), destination)));
    assert.deepEqual([renewal.event_token, renewal.revenue, renewal.currency], [fake.eventNames.renewal, '9.99', 'EUR']);
    const trial = paramsOf(requestOf(adjust.build(revenueEvent('trial'), destination)));
    assert.equal(trial.event_token, fake.eventNames.trial);
    assert.equal('revenue' in trial || 'currency' in trial, false);
  });

  test('a refund is its own event without revenue; the refunded amount goes in the callback parameters', () => {
    const refund = paramsOf(requestOf(adjust.build(revenueEvent('refund'), destination)));
    assert.equal(refund.event_token, fake.eventNames.refund);
    assert.equal('revenue' in refund, false);
    assert.equal(refund.created_at_unix, String(Math.floor((PURCHASED_AT + 86_400_000) / 1000)));
    assert.deepEqual(JSON.parse(refund.callback_params!), {
      store_transaction_id: 'GPA.3345-0000-0000-00001',
      store_product_id: 'premium_yearly',
      customer_user_id: 'user-42',
      refunded_amount: '9.99',
      refunded_currency: 'EUR',
    });
  });

  test('a sandbox transaction is sent with environment=sandbox', () => {
    assert.equal(paramsOf(requestOf(adjust.build(revenueEvent('purchase', { environment: 'Sandbox' }), destination))).environment, 'sandbox');
  });

  test('without s2s_token no Authorization header is sent; a trailing slash of base_url is dropped', () => {
    const { s2s_token: _, ...config } = destination.config;
    const request = requestOf(adjust.build(revenueEvent('purchase', { customerUserId: null }), { ...destination, config, baseUrl: `${fake.baseUrl}/` }));
    assert.equal(request.url, `${fake.baseUrl}/event`);
    assert.deepEqual(request.headers, { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal('customer_user_id' in JSON.parse(paramsOf(request).callback_params!), false);
  });

  test('no default tokens: a kind without one is skipped with a reason; tokens set per kind are used', () => {
    assert.deepEqual(adjust.defaultEventNames, {});
    assert.deepEqual(adjust.build(revenueEvent('renewal'), { ...destination, eventNames: { purchase: 'abc123' } }), {
      skip: 'no Adjust event token for renewal (event_names.renewal)',
    });
    const request = requestOf(adjust.build(revenueEvent('purchase'), { ...destination, eventNames: { purchase: 'abc123' } }));
    assert.equal(paramsOf(request).event_token, 'abc123');
  });

  test('without an adjust_device_id the event is skipped with the exact reason; access level events are not taken', () => {
    assert.deepEqual(adjust.build(revenueEvent('purchase', { adid: null }), destination), { skip: 'no adjust_device_id on the profile' });
    assert.deepEqual(adjust.eventTypes, ['transaction.recorded']);
    assert.deepEqual(adjust.identifierKeys, ['adjust_device_id']);
    const level: RevenueEvent = { ...revenueEvent('purchase'), ...accessLevelChange({ id: 'premium', change: 'granted', isActive: true, expiresAt: null }) };
    assert.ok('skip' in adjust.build(level, destination));
  });

  test('the built requests are accepted over HTTP and counted under the adid with their revenue and currency', async () => {
    const { own, settings } = await fresh();
    try {
      for (const kind of ['trial', 'purchase', 'renewal', 'refund'] as const) {
        const answer = await send(requestOf(adjust.build(revenueEvent(kind), settings)));
        assert.deepEqual([answer.statusCode, answer.body], [200, 'OK'], kind);
        assert.deepEqual(adjust.judge(answer), { status: 'succeeded' });
      }
      await send(requestOf(adjust.build(revenueEvent('purchase', { environment: 'Sandbox' }), settings)));
      assert.deepEqual(
        own.counted().map((event) => [event.userId, event.eventName, event.revenue, event.currency, event.dedupKey, event.raw.environment]),
        [
          [ADID, own.eventNames.trial, null, null, null, 'production'],
          [ADID, own.eventNames.purchase, 9.99, 'EUR', null, 'production'],
          [ADID, own.eventNames.renewal, 9.99, 'EUR', null, 'production'],
          [ADID, own.eventNames.refund, null, null, null, 'production'],
          [ADID, own.eventNames.purchase, 9.99, 'EUR', null, 'sandbox'],
        ],
      );
    } finally {
      await own.close();
    }
  });

  test('no deduplication id: the same event sent twice is counted twice', async () => {
    const { own, settings } = await fresh();
    try {
      const request = requestOf(adjust.build(revenueEvent('purchase'), settings));
      assert.deepEqual(adjust.judge(await send(request)), { status: 'succeeded' });
      assert.deepEqual(adjust.judge(await send(request)), { status: 'succeeded' });
      assert.equal(own.counted().length, 2);
    } finally {
      await own.close();
    }
  });

  test('a unique event token counts once per device: the repeat is answered 400 and taken as done', async () => {
    const { own, settings } = await fresh({ uniqueEventTokens: ['pu7c4s'] });
    try {
      const request = requestOf(adjust.build(revenueEvent('purchase'), settings));
      assert.deepEqual(adjust.judge(await send(request)), { status: 'succeeded' });
      const repeat = await send(request);
      assert.deepEqual([repeat.statusCode, JSON.parse(repeat.body)], [400, { error: 'Event request failed (Ignoring event, earlier unique event tracked)' }]);
      assert.deepEqual(adjust.judge(repeat), { status: 'succeeded' });
      assert.equal(own.counted().length, 1);
    } finally {
      await own.close();
    }
  });

  test('events of one device and token must come in time order: an earlier one after a later one is refused', async () => {
    const { own, settings } = await fresh();
    try {
      await send(requestOf(adjust.build(revenueEvent('renewal', { occurredAt: PURCHASED_AT + 60_000 }), settings)));
      const earlier = await send(requestOf(adjust.build(revenueEvent('renewal'), settings)));
      assert.deepEqual(adjust.judge(earlier), { status: 'failed', error: 'Adjust answered 400: Bad event state' });
      const old = await send(requestOf(adjust.build(revenueEvent('purchase', { occurredAt: Date.now() - 59 * 86_400_000 }), settings)));
      assert.deepEqual(adjust.judge(old), { status: 'failed', error: 'Adjust answered 400: Bad event state' });
      assert.equal(own.counted().length, 1);
    } finally {
      await own.close();
    }
  });

  test('the fake refuses a missing or wrong token and malformed parameters with the documented answers', async () => {
    const good = requestOf(adjust.build(revenueEvent('purchase'), destination));
    const before = fake.counted().length;
    const withParams = (changes: Record<string, string | null>): ToolRequest => {
      const params = new URLSearchParams(good.body);
      for (const [name, value] of Object.entries(changes)) {
        if (value === null) params.delete(name);
        else params.set(name, value);
      }
      return { ...good, body: params.toString() };
    };
    const cases: [ToolRequest, number, string][] = [
      [{ ...good, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 401, 'Failed to authorize request'],
      [{ ...good, headers: { ...good.headers, authorization: 'Bearer wrong' } }, 401, 'Failed to authorize request'],
      [withParams({ event_token: 'zzzzzz' }), 400, 'Invalid event token'],
      [withParams({ app_token: 'unknown00000' }), 404, 'App token not found'],
      [withParams({ adid: null }), 404, 'Device not found'],
      [withParams({ revenue: '0' }), 400, 'Invalid revenue'],
      [withParams({ revenue: '-9.99' }), 400, 'Invalid revenue'],
      [withParams({ callback_params: '{"a": 1' }), 400, 'Invalid callback parameters'],
    ];
    for (const [request, status, reason] of cases) {
      const answer = await send(request);
      assert.deepEqual([answer.statusCode, JSON.parse(answer.body)], [status, { error: `Event request failed (${reason})` }], reason);
      assert.deepEqual(adjust.judge(answer), { status: 'failed', error: `Adjust answered ${status}: ${reason}` });
    }
    assert.equal(fake.counted().length, before, 'nothing refused is counted');
  });

  test('judge: 200 succeeds, a 202 refusing the token fails; 400, 401, 403, 404, 413 and 451 fail with the reason; 429 and 5xx are retried', () => {
    const answer = (statusCode: number, reason?: string, headers: Record<string, string> = {}): ToolAnswer => ({
      statusCode,
      headers,
      body: reason === undefined ? '' : JSON.stringify({ error: `Event request failed (${reason})` }),
    });
    assert.deepEqual(adjust.judge({ statusCode: 200, headers: {}, body: 'OK' }), { status: 'succeeded' });
    assert.deepEqual(adjust.judge({ statusCode: 200, headers: {}, body: '{"status": "OK"}' }), { status: 'succeeded' });
    assert.deepEqual(adjust.judge({ statusCode: 202, headers: {}, body: 'Missing authentication token' }), { status: 'failed', error: 'Adjust answered 202: Missing authentication token' });
    assert.deepEqual(adjust.judge({ statusCode: 202, headers: {}, body: 'Wrong authentication token' }), { status: 'failed', error: 'Adjust answered 202: Wrong authentication token' });
    assert.deepEqual(adjust.judge(answer(400, 'Invalid revenue')), { status: 'failed', error: 'Adjust answered 400: Invalid revenue' });
    assert.deepEqual(adjust.judge(answer(401, 'Failed to authorize request')), { status: 'failed', error: 'Adjust answered 401: Failed to authorize request' });
    assert.deepEqual(adjust.judge(answer(403, 'App is inactive')), { status: 'failed', error: 'Adjust answered 403: App is inactive' });
    assert.deepEqual(adjust.judge(answer(404, 'Device not found')), { status: 'failed', error: 'Adjust answered 404: Device not found' });
    assert.deepEqual(adjust.judge(answer(413, 'Request size too large')), { status: 'failed', error: 'Adjust answered 413: Request size too large' });
    assert.deepEqual(adjust.judge(answer(451, 'Device is opted out')), { status: 'failed', error: 'Adjust answered 451: Device is opted out' });
    assert.deepEqual(adjust.judge(answer(429, 'Too many requests', { 'retry-after': '12' })), { status: 'retry', error: 'Adjust answered 429: Too many requests', retryAfterMs: 12_000 });
    assert.deepEqual(adjust.judge(answer(429)), { status: 'retry', error: 'Adjust answered 429' });
    assert.deepEqual(adjust.judge(answer(500, 'Internal error, contact support@adjust.com')), { status: 'retry', error: 'Adjust answered 500: Internal error, contact support@adjust.com' });
    assert.deepEqual(adjust.judge({ statusCode: 503, headers: {}, body: '<html>Service Unavailable</html>' }), { status: 'retry', error: 'Adjust answered 503' });
  });

  test('forced failures from the fake are judged as their status says', async () => {
    const request = requestOf(adjust.build(revenueEvent('renewal', { occurredAt: Date.now() - 1_000 }), destination));
    fake.failNext([503, 429, 451], 5);
    assert.deepEqual(adjust.judge(await send(request)), { status: 'retry', error: 'Adjust answered 503: Service unavailable', retryAfterMs: 5_000 });
    assert.deepEqual(adjust.judge(await send(request)), { status: 'retry', error: 'Adjust answered 429: Too many requests', retryAfterMs: 5_000 });
    assert.deepEqual(adjust.judge(await send(request)), { status: 'failed', error: 'Adjust answered 451: Device is opted out' });
    assert.deepEqual(adjust.judge(await send(request)), { status: 'succeeded' });
  });

  test('config fields: app_token is required, the secret s2s_token optional', () => {
    assert.deepEqual(
      adjust.config.map(({ name, required, secret }) => ({ name, required, secret })),
      [
        { name: 'app_token', required: true, secret: false },
        { name: 's2s_token', required: false, secret: true },
      ],
    );
    assert.equal(adjust.defaultBaseUrl, 'https://s2s.adjust.com');
  });
});
