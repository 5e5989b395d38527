import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { appsflyer, eventTime } from '../../src/destinations/appsflyer.js';
import type { DestinationSettings, RevenueEvent, RevenueKind, ToolRequest } from '../../src/destinations/types.js';
import { startAppsFlyerFake } from './fakes/appsflyer.js';
import { accessLevelChange, answer, eventOf, readStored, requestOf, SALE, type Sale, send, storedTransaction, suiteFake, type TransactionKind } from './support.js';

const APPSFLYER_ID = '1712345678901-1234567';
const PURCHASED_AT = Date.parse('2026-12-02T09:14:58.123Z');

/** The purchase behind the events here: refunded a day later, expiring after 31 days. */
const MONTHLY: Sale = {
  ...SALE,
  purchasedAt: PURCHASED_AT, refundedAt: PURCHASED_AT + 86_400_000, recordedAt: PURCHASED_AT + 2_000, expiresAt: PURCHASED_AT + 31 * 86_400_000,
  dedupKey: '5b0f3c1e-0d7a-5a2b-8c4d-1e2f3a4b5c6d',
};

/** One transaction's revenue event, as readRevenueEvent makes them; `changes` change the sale (`appsflyerId` its AppsFlyer ID). */
function revenueEvent(kind: TransactionKind, { appsflyerId = APPSFLYER_ID, ...changes }: Partial<Sale> & { appsflyerId?: string | null } = {}): RevenueEvent {
  return eventOf(kind, { ...MONTHLY, identifiers: { appsflyer_id: appsflyerId, adjust_device_id: null }, ...changes });
}

describe('AppsFlyer destination', () => {
  const { fake, settings: destination } = suiteFake(appsflyer, startAppsFlyerFake);
  const withNames = (names: Partial<Record<RevenueKind, string>>, config: Record<string, string> = {}): DestinationSettings => ({
    ...destination,
    config: { ...destination.config, ...config },
    eventNames: names,
  });

  test('a purchase is one JSON POST to /inappevent/{app_id} with the S2S key in the authentication header', () => {
    const request = requestOf(appsflyer.build(revenueEvent('purchase'), destination));
    assert.equal(request.url, `${fake.baseUrl}/inappevent/com.example.crosswalk`);
    assert.deepEqual(request.headers, { 'content-type': 'application/json', authentication: fake.config.s2s_key });
    const body = JSON.parse(request.body);
    assert.deepEqual(body, {
      appsflyer_id: APPSFLYER_ID,
      customer_user_id: 'user-42',
      eventName: 'af_purchase',
      eventValue: body.eventValue,
      eventCurrency: 'USD',
      eventTime: '2026-12-02 09:14:58.123',
      af_events_api: 'true',
    });
    assert.equal(typeof body.eventValue, 'string', 'eventValue is a string holding JSON');
    assert.deepEqual(JSON.parse(body.eventValue), {
      af_revenue: '4.99',
      af_currency: 'USD',
      af_content_id: 'premium_monthly',
      af_quantity: '1',
      af_order_id: '1000000123456789',
    });
  });

  test('trial, renewal and refund use their own default names; the refund carries negative revenue', () => {
    const values = (kind: TransactionKind) => {
      const body = JSON.parse(requestOf(appsflyer.build(revenueEvent(kind), destination)).body);
      return { eventName: body.eventName, ...JSON.parse(body.eventValue) };
    };
    assert.deepEqual(appsflyer.defaultEventNames, { trial: 'af_start_trial', purchase: 'af_purchase', renewal: 'subscription_renewed', refund: 'purchase_refunded' });
    assert.deepEqual([values('trial').eventName, values('trial').af_revenue], ['af_start_trial', '0']);
    assert.deepEqual([values('renewal').eventName, values('renewal').af_revenue, values('renewal').af_order_id], ['subscription_renewed', '4.99', '1000000123456790']);
    assert.deepEqual([values('refund').eventName, values('refund').af_revenue], ['purchase_refunded', '-4.99']);
    assert.equal(JSON.parse(requestOf(appsflyer.build(revenueEvent('refund'), destination)).body).eventTime, '2026-12-03 09:14:58.123', 'the refund is dated when it happened');
  });

  test('event names come from the destination: overrides are used and a kind without a name is skipped', () => {
    const renamed = withNames({ ...appsflyer.defaultEventNames, purchase: 'first_payment' });
    assert.equal(JSON.parse(requestOf(appsflyer.build(revenueEvent('purchase'), renamed)).body).eventName, 'first_payment');
    const { refund: _, ...noRefund } = appsflyer.defaultEventNames;
    assert.deepEqual(appsflyer.build(revenueEvent('refund'), withNames(noRefund)), { skip: 'no AppsFlyer event name for refund (event_names.refund)' });
  });

  test('without an appsflyer_id the event is skipped with the exact reason; access level events are not taken', () => {
    assert.deepEqual(appsflyer.build(revenueEvent('purchase', { appsflyerId: null }), destination), { skip: 'no appsflyer_id on the profile' });
    assert.deepEqual(appsflyer.eventTypes, ['transaction.recorded']);
    assert.deepEqual(appsflyer.identifierKeys, ['appsflyer_id']);
    const level: RevenueEvent = { ...revenueEvent('purchase'), ...accessLevelChange({ id: 'premium', change: 'granted', isActive: true, expiresAt: null }) };
    assert.ok('skip' in appsflyer.build(level, destination));
  });

  test('sandbox transactions are skipped unless send_sandbox is true (AppsFlyer has no sandbox mode)', () => {
    const sandbox = revenueEvent('purchase', { environment: 'Sandbox' });
    assert.deepEqual(appsflyer.build(sandbox, destination), {
      skip: 'a sandbox transaction: AppsFlyer has no sandbox mode (set send_sandbox to true to send them anyway)',
    });
    const sent = requestOf(appsflyer.build(sandbox, withNames(destination.eventNames, { send_sandbox: 'true' })));
    assert.equal(sent.body, requestOf(appsflyer.build(revenueEvent('purchase'), destination)).body);
  });

  test('a trailing slash of base_url is dropped, the app id is percent-encoded, and a customer user id is optional', () => {
    const request = requestOf(appsflyer.build(revenueEvent('purchase', { customerUserId: null }), { ...destination, baseUrl: `${fake.baseUrl}/`, config: { ...destination.config, app_id: 'id123 456' } }));
    assert.equal(request.url, `${fake.baseUrl}/inappevent/id123%20456`);
    assert.equal('customer_user_id' in JSON.parse(request.body), false);
  });

  test('the 1 KB payload limit: a long customer user id is left out, and an event still too big is skipped', () => {
    const long = revenueEvent('purchase', { customerUserId: 'u'.repeat(256), appsflyerId: '1'.repeat(300) });
    (long.transaction as { storeProductId: string }).storeProductId = 'p'.repeat(256);
    const body = requestOf(appsflyer.build(long, destination)).body;
    assert.ok(Buffer.byteLength(body) <= 1024);
    assert.ok(Buffer.byteLength(JSON.stringify({ ...JSON.parse(body), customer_user_id: 'u'.repeat(256) })) > 1024, 'it would not fit with it');
    assert.equal('customer_user_id' in JSON.parse(body), false);
    const tooBig = revenueEvent('purchase', { appsflyerId: '1'.repeat(512) });
    (tooBig.transaction as { storeProductId: string }).storeProductId = 'p'.repeat(256);
    const built = appsflyer.build(tooBig, destination);
    assert.ok('skip' in built && /AppsFlyer takes at most 1024/.test(built.skip), JSON.stringify(built));
  });

  test('eventTime is UTC with milliseconds', () => {
    assert.equal(eventTime(Date.UTC(2026, 0, 5, 3, 4, 5, 6)), '2026-01-05 03:04:05.006');
  });

  test('the built requests are accepted over HTTP and counted under the AppsFlyer ID with their revenue and currency', async () => {
    const before = fake.counted().length;
    for (const kind of ['trial', 'purchase', 'renewal', 'refund'] as const) {
      const answer = await send(requestOf(appsflyer.build(revenueEvent(kind), destination)));
      assert.deepEqual([answer.statusCode, answer.body], [200, 'OK'], kind);
      assert.deepEqual(appsflyer.judge(answer), { status: 'succeeded' });
    }
    const counted = fake.counted().slice(before);
    assert.deepEqual(
      counted.map((event) => [event.userId, event.eventName, event.revenue, event.currency, event.dedupKey]),
      [
        [APPSFLYER_ID, 'af_start_trial', 0, 'USD', null],
        [APPSFLYER_ID, 'af_purchase', 4.99, 'USD', null],
        [APPSFLYER_ID, 'subscription_renewed', 4.99, 'USD', null],
        [APPSFLYER_ID, 'purchase_refunded', -4.99, 'USD', null],
      ],
    );
  });

  test('an event read from a stored transaction.recorded payload (docs/webhooks.md) goes through', async () => {
    const payload = storedTransaction({ appsflyer_id: '1712345678901-1234567', adjust_device_id: null }, { price: { country: 'US', currency: 'EUR', value: 5.49 }, price_usd: 5.99 });
    const event = readStored(payload);
    const answer = await send(requestOf(appsflyer.build(event, destination)));
    assert.deepEqual(appsflyer.judge(answer), { status: 'succeeded' });
    const last = fake.counted().at(-1)!;
    assert.deepEqual([last.userId, last.eventName, last.revenue, last.currency], [APPSFLYER_ID, 'af_purchase', 5.49, 'EUR']);
  });

  test('no deduplication: AppsFlyer counts the same event sent twice twice', async () => {
    const request = requestOf(appsflyer.build(revenueEvent('renewal'), destination));
    const before = fake.counted().length;
    assert.equal((await send(request)).statusCode, 200);
    assert.equal((await send(request)).statusCode, 200);
    assert.equal(fake.counted().length - before, 2);
  });

  test('the fake refuses a missing or wrong key and malformed payloads with the documented answers', async () => {
    const good = requestOf(appsflyer.build(revenueEvent('purchase'), destination));
    const before = fake.counted().length;
    const { authentication: _, ...noKey } = good.headers;
    const cases: [ToolRequest, number, string][] = [
      [{ ...good, headers: noKey }, 400, 'Failed to Authenticate'],
      [{ ...good, headers: { ...good.headers, authentication: 'not-the-key' } }, 401, 'Unauthorized'],
      [{ ...good, body: '{"appsflyer_id": ' }, 400, 'Payload is missing or failed to parse'],
      [{ ...good, body: JSON.stringify({ ...JSON.parse(good.body), appsflyer_id: undefined }) }, 400, 'appsflyer_id is a mandatory field'],
      [{ ...good, body: JSON.stringify({ ...JSON.parse(good.body), eventValue: { af_revenue: '4.99' } }) }, 400, 'Bad request'],
      [{ ...good, body: JSON.stringify({ ...JSON.parse(good.body), eventTime: '2026-12-02T09:14:58Z' }) }, 400, 'Bad request'],
      [{ ...good, url: good.url.replace('com.example.crosswalk', 'com.example.other') }, 400, 'app_id'],
    ];
    for (const [request, status, body] of cases) {
      const answer = await send(request);
      assert.deepEqual([answer.statusCode, answer.body], [status, body], body);
      assert.deepEqual(appsflyer.judge(answer), { status: 'failed', error: `AppsFlyer answered ${status}: ${body}` });
    }
    assert.equal(fake.counted().length, before, 'nothing refused is counted');
  });

  test('an iOS app id without its id prefix is answered 200 OK and not recorded, which is why such an app_id is refused', async () => {
    const before = fake.counted().length;
    const request = requestOf(appsflyer.build(revenueEvent('purchase'), withNames(destination.eventNames, { app_id: '123456789' })));
    assert.deepEqual(appsflyer.judge(await send(request)), { status: 'succeeded' });
    assert.equal(fake.counted().length, before);
    const pattern = appsflyer.config.find((field) => field.name === 'app_id')!.pattern!;
    assert.equal(pattern.test('123456789'), false);
    for (const good of ['id123456789', 'com.example.app', 'a1b2c3d4e5f6']) assert.equal(pattern.test(good), true, good);
  });

  test('judge: 2xx succeeds; 400, 401, 403, 404 and 413 fail with the message; 429 and 5xx are retried, with Retry-After when given', () => {
    assert.deepEqual(appsflyer.judge(answer(200, 'OK')), { status: 'succeeded' });
    assert.deepEqual(appsflyer.judge(answer(400, 'appsflyer_id is a mandatory field')), { status: 'failed', error: 'AppsFlyer answered 400: appsflyer_id is a mandatory field' });
    assert.deepEqual(appsflyer.judge(answer(401, '"Unauthorized"')), { status: 'failed', error: 'AppsFlyer answered 401: Unauthorized' });
    assert.deepEqual(appsflyer.judge(answer(403, 'Forbidden')), { status: 'failed', error: 'AppsFlyer answered 403: Forbidden' });
    assert.deepEqual(appsflyer.judge(answer(404, '<html><body>Not Found</body></html>')), { status: 'failed', error: 'AppsFlyer answered 404' });
    assert.deepEqual(appsflyer.judge(answer(413, 'Payload Too Large')), { status: 'failed', error: 'AppsFlyer answered 413: Payload Too Large' });
    assert.deepEqual(appsflyer.judge(answer(429, 'Too Many Requests', { 'retry-after': '30' })), { status: 'retry', error: 'AppsFlyer answered 429: Too Many Requests', retryAfterMs: 30_000 });
    assert.deepEqual(appsflyer.judge(answer(429, 'Too Many Requests')), { status: 'retry', error: 'AppsFlyer answered 429: Too Many Requests' });
    const dated = appsflyer.judge(answer(503, '', { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }));
    assert.ok(dated.status === 'retry' && dated.retryAfterMs !== undefined && dated.retryAfterMs > 55_000 && dated.retryAfterMs <= 60_000, JSON.stringify(dated));
    assert.deepEqual(appsflyer.judge(answer(500, 'Internal Server Error')), { status: 'retry', error: 'AppsFlyer answered 500: Internal Server Error' });
    assert.deepEqual(appsflyer.judge(answer(503, 'x'.repeat(500))).status, 'retry');
    assert.ok((appsflyer.judge(answer(400, 'x'.repeat(500))) as { error: string }).error.length < 240, 'long messages are cut');
  });

  test('forced failures from the fake are judged as their status says', async () => {
    const request = requestOf(appsflyer.build(revenueEvent('purchase'), destination));
    fake.failNext([500, 429, 403], 7);
    assert.deepEqual(appsflyer.judge(await send(request)), { status: 'retry', error: 'AppsFlyer answered 500: Internal Server Error', retryAfterMs: 7_000 });
    assert.deepEqual(appsflyer.judge(await send(request)), { status: 'retry', error: 'AppsFlyer answered 429: Too Many Requests', retryAfterMs: 7_000 });
    assert.deepEqual(appsflyer.judge(await send(request)), { status: 'failed', error: 'AppsFlyer answered 403: Forbidden' });
    assert.deepEqual(appsflyer.judge(await send(request)), { status: 'succeeded' });
  });

  test('config fields: app_id and the secret s2s_key are required; send_sandbox is optional', () => {
    assert.deepEqual(
      appsflyer.config.map(({ name, required, secret }) => ({ name, required, secret })),
      [
        { name: 'app_id', required: true, secret: false },
        { name: 's2s_key', required: true, secret: true },
        { name: 'send_sandbox', required: false, secret: false },
      ],
    );
    assert.equal(appsflyer.defaultBaseUrl, 'https://api3.appsflyer.com');
  });
});
