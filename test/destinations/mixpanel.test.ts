import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { insertIdFor, mixpanel } from '../../src/destinations/mixpanel.js';
import type { DestinationSettings, RevenueEvent, ToolRequest } from '../../src/destinations/types.js';
import { startMixpanelFake } from './fakes/mixpanel.js';
import { accessLevelChange, answer, eventOf, fakeSettings, identifiers, recentSale, readStored, requestOf, send, settingsOf, storedTransaction, suiteFake } from './support.js';

/** A purchase a minute ago, under mixpanel_user_id `mp-user-1`; `overrides` change any field. */
function revenueEvent(overrides: Partial<RevenueEvent> = {}): RevenueEvent {
  return { ...eventOf('purchase', recentSale({ identifiers: identifiers({ mixpanel_user_id: 'mp-user-1' }) })), ...overrides };
}

function settings(overrides: Partial<DestinationSettings> = {}): DestinationSettings {
  return settingsOf(mixpanel, { config: { project_token: 'fakeprojecttoken0123456789abcdef' }, ...overrides });
}

function request(event: RevenueEvent, destination = settings()): ToolRequest {
  return requestOf(mixpanel.build(event, destination));
}

/** The one event of a built request's body. */
function record(req: ToolRequest): { event: string; properties: Record<string, unknown> } {
  const batch = JSON.parse(req.body) as { event: string; properties: Record<string, unknown> }[];
  assert.equal(batch.length, 1);
  return batch[0]!;
}

describe('mixpanel: building the request', () => {
  test('a purchase: POST /import?strict=1, Basic auth with the token and an empty password, one event in a JSON array', () => {
    const event = revenueEvent();
    const req = request(event);
    assert.equal(req.url, 'https://api.mixpanel.com/import?strict=1');
    assert.equal(req.headers['content-type'], 'application/json');
    const [scheme, credentials] = req.headers.authorization!.split(' ');
    assert.equal(scheme, 'Basic');
    assert.equal(Buffer.from(credentials!, 'base64').toString('utf8'), 'fakeprojecttoken0123456789abcdef:');
    const { event: name, properties } = record(req);
    assert.equal(name, 'purchase');
    assert.equal(properties.distinct_id, 'mp-user-1');
    assert.equal(properties.time, event.occurredAt, 'the time of the purchase in ms, the same on every resend');
    assert.equal(properties.$insert_id, event.dedupKey);
    assert.equal(properties.revenue, 4.99);
    assert.equal(properties.currency, 'USD');
    assert.equal(properties.revenue_usd, 4.99);
    assert.equal(properties.product_id, 'premium_monthly');
    assert.equal(properties.transaction_id, '1000000123456789');
    assert.equal(properties.store, 'app_store');
    assert.equal(properties.customer_user_id, 'user-42');
    assert.equal(properties.crosswalk_kind, 'purchase');
    assert.equal(properties.access_level_id, undefined);
  });

  test('renewal and trial have their own names and carry their revenue', () => {
    const renewal = record(request(revenueEvent({ kind: 'renewal', dedupKey: 'a3c1d9a5-3b1e-5f4a-9d2c-0e8b6f4a1c34' })));
    assert.equal(renewal.event, 'renewal');
    assert.equal(renewal.properties.revenue, 4.99);
    const trial = record(request(revenueEvent({ kind: 'trial', revenue: 0 })));
    assert.equal(trial.event, 'trial_started');
    assert.equal(trial.properties.revenue, 0);
    assert.equal(trial.properties.currency, 'USD');
  });

  test('a refund is a negative amount, in the store currency and in USD, at the time of the refund', () => {
    const refundedAt = Date.now() - 30_000;
    const { event, properties } = record(request(revenueEvent({ kind: 'refund', revenue: -4.99, occurredAt: refundedAt })));
    assert.equal(event, 'refund');
    assert.equal(properties.revenue, -4.99);
    assert.equal(properties.revenue_usd, -4.99);
    assert.equal(properties.time, refundedAt);
  });

  test("an access level's change is an event without revenue, with the level, the change and is_active", () => {
    const expiresAt = Date.UTC(2027, 0, 2, 9, 14, 58);
    const level = accessLevelChange({ id: 'premium', change: 'granted', isActive: true, expiresAt });
    const { event, properties } = record(request(revenueEvent({ ...level, dedupKey: '8e2c1f4a-0b7d-4c36-9f5e-2a1d6c8b9e30' })));
    assert.equal(event, 'access_level_changed');
    assert.equal(properties.access_level_id, 'premium');
    assert.equal(properties.access_level_change, 'granted');
    assert.equal(properties.access_level_is_active, true);
    assert.equal(properties.access_level_expires_at, '2027-01-02T09:14:58.000Z');
    assert.equal(properties.revenue, undefined);
    assert.equal(properties.$insert_id, '8e2c1f4a-0b7d-4c36-9f5e-2a1d6c8b9e30');
  });

  test('without a mixpanel_user_id the event is skipped with the reason', () => {
    for (const id of [null, '']) {
      assert.deepEqual(mixpanel.build(revenueEvent({ identifiers: identifiers({ mixpanel_user_id: id, amplitude_user_id: 'a' }) }), settings()), {
        skip: 'no mixpanel_user_id on the profile',
      });
    }
  });

  test("the destination's event names are used; a kind without a name is skipped", () => {
    const destination = settings({ eventNames: { ...mixpanel.defaultEventNames, purchase: 'Subscription Purchased' } });
    assert.equal(record(request(revenueEvent(), destination)).event, 'Subscription Purchased');
    const { renewal: _, ...withoutRenewal } = mixpanel.defaultEventNames;
    assert.deepEqual(mixpanel.build(revenueEvent({ kind: 'renewal' }), settings({ eventNames: withoutRenewal })), { skip: 'no Mixpanel event name for renewal events' });
  });

  test('the base URL may end with a slash; $insert_id always fits the 36-character rule', () => {
    assert.equal(request(revenueEvent(), settings({ baseUrl: 'https://api-eu.mixpanel.com/' })).url, 'https://api-eu.mixpanel.com/import?strict=1');
    assert.equal(insertIdFor('7c1d9a52-3b1e-5f4a-9d2c-0e8b6f4a1c33'), '7c1d9a52-3b1e-5f4a-9d2c-0e8b6f4a1c33');
    const hashed = insertIdFor('not a uuid: far too long for mixpanel, with spaces');
    assert.match(hashed, /^[0-9a-f]{36}$/);
    assert.equal(insertIdFor('not a uuid: far too long for mixpanel, with spaces'), hashed, 'the same key gives the same id');
  });

  test('a stored revenue event (the example of docs/webhooks.md) becomes the same request', () => {
    const stored = storedTransaction(identifiers({ mixpanel_user_id: 'mp-user-42' }), { purchased_at: new Date(Date.now() - 5_000).toISOString(), expires_at: null });
    const payload = { ...stored, created_at: new Date().toISOString() };
    const event = readStored(payload);
    const { event: name, properties } = record(request(event));
    assert.equal(name, 'purchase');
    assert.equal(properties.distinct_id, 'mp-user-42');
    assert.equal(properties.$insert_id, event.dedupKey);
    assert.match(String(properties.$insert_id), /^[0-9a-f-]{36}$/);
  });
});

describe('mixpanel: judging the answer', () => {
  test('2xx succeeds (strict mode answers 400 when a record fails)', () => {
    assert.deepEqual(mixpanel.judge(answer(200, '{"code":200,"num_records_imported":1,"status":"OK"}')), { status: 'succeeded' });
  });

  test("a 400 fails for good with the failed record's field and message", () => {
    const body = JSON.stringify({
      code: 400,
      error: 'some data points in the request failed validation',
      failed_records: [{ index: 0, insert_id: 'x', field: 'properties.time', message: "'properties.time' is invalid: must be specified as seconds since epoch" }],
      num_records_imported: 0,
      status: 'Bad Request',
    });
    assert.deepEqual(mixpanel.judge(answer(400, body)), {
      status: 'failed',
      error: "HTTP 400: properties.time: 'properties.time' is invalid: must be specified as seconds since epoch",
    });
  });

  test("401 and 413 fail for good with Mixpanel's error; a body that is not JSON is kept as text", () => {
    assert.deepEqual(mixpanel.judge(answer(401, '{"code":401,"error":"Invalid credentials","status":"Unauthorized"}')), { status: 'failed', error: 'HTTP 401: Invalid credentials' });
    assert.deepEqual(mixpanel.judge(answer(413, '{"code":413,"error":"request exceeds max limit of 2097152 bytes","status":"Request Entity Too Large"}')), {
      status: 'failed',
      error: 'HTTP 413: request exceeds max limit of 2097152 bytes',
    });
    assert.deepEqual(mixpanel.judge(answer(403, '<html>\n forbidden \n</html>')), { status: 'failed', error: 'HTTP 403: <html> forbidden </html>' });
  });

  test('429 is retried, after Retry-After when one is given (Mixpanel sends none); 5xx is retried', () => {
    const limited = '{"code":429,"error":"Project exceeded rate limits. Please retry the request with exponential backoff.","status":"Too Many Requests"}';
    assert.deepEqual(mixpanel.judge(answer(429, limited)), { status: 'retry', error: 'HTTP 429: Project exceeded rate limits. Please retry the request with exponential backoff.' });
    assert.deepEqual(mixpanel.judge(answer(429, '', { 'retry-after': '30' })), { status: 'retry', error: 'HTTP 429', retryAfterMs: 30_000 });
    for (const status of [500, 502, 503]) assert.deepEqual(mixpanel.judge(answer(status)), { status: 'retry', error: `HTTP ${status}` });
  });
});

describe('mixpanel: against the fake Import API', () => {
  const { fake } = suiteFake(mixpanel, startMixpanelFake);

  const toFake = (overrides: Partial<DestinationSettings> = {}) => fakeSettings(mixpanel, fake, overrides);

  test('the built request is accepted and counted under the distinct_id with its revenue and currency', async () => {
    const before = fake.counted().length;
    const event = revenueEvent({ identifiers: identifiers({ mixpanel_user_id: 'mp-counted' }) });
    const reply = await send(request(event, toFake()));
    assert.equal(reply.statusCode, 200);
    assert.deepEqual(mixpanel.judge(reply), { status: 'succeeded' });
    const counted = fake.counted().slice(before);
    assert.equal(counted.length, 1);
    assert.equal(counted[0]!.userId, 'mp-counted');
    assert.equal(counted[0]!.eventName, 'purchase');
    assert.equal(counted[0]!.revenue, 4.99);
    assert.equal(counted[0]!.currency, 'USD');
    assert.equal(counted[0]!.dedupKey, event.dedupKey);
  });

  test('the same event sent twice is counted once; a refund of it is counted apart, negative', async () => {
    const user = identifiers({ mixpanel_user_id: 'mp-twice' });
    const event = revenueEvent({ identifiers: user, dedupKey: '1d2c3b4a-5e6f-5a7b-8c9d-0e1f2a3b4c5d' });
    for (let i = 0; i < 2; i += 1) assert.equal((await send(request(event, toFake()))).statusCode, 200);
    const refund = revenueEvent({ identifiers: user, kind: 'refund', revenue: -4.99, dedupKey: '9f8e7d6c-5b4a-5c3d-8e2f-1a0b9c8d7e6f' });
    assert.equal((await send(request(refund, toFake()))).statusCode, 200);
    const mine = fake.counted().filter((counted) => counted.userId === 'mp-twice');
    assert.deepEqual(
      mine.map((counted) => [counted.eventName, counted.revenue]),
      [['purchase', 4.99], ['refund', -4.99]],
    );
  });

  test('a wrong token is refused with 401, which fails for good', async () => {
    const reply = await send(request(revenueEvent(), toFake({ config: { project_token: 'wrongtoken' } })));
    assert.equal(reply.statusCode, 401);
    assert.deepEqual(mixpanel.judge(reply), { status: 'failed', error: 'HTTP 401: Invalid credentials' });
  });

  test('strict mode refuses a record without $insert_id, with a time over an hour ahead, or with a long $insert_id', async () => {
    const valid = record(request(revenueEvent(), toFake()));
    const req = request(revenueEvent(), toFake());
    const variants: [Record<string, unknown>, string][] = [
      [{ ...valid.properties, $insert_id: undefined }, 'properties.$insert_id'],
      [{ ...valid.properties, time: Date.now() + 2 * 3_600_000 }, 'properties.time'],
      [{ ...valid.properties, $insert_id: 'x'.repeat(37) }, 'properties.$insert_id'],
      [{ ...valid.properties, distinct_id: undefined }, 'properties.distinct_id'],
    ];
    const before = fake.counted().length;
    for (const [properties, field] of variants) {
      const reply = await send({ ...req, body: JSON.stringify([{ event: 'purchase', properties }]) });
      assert.equal(reply.statusCode, 400, field);
      const verdict = mixpanel.judge(reply);
      assert.equal(verdict.status, 'failed');
      assert.ok('error' in verdict && verdict.error.startsWith(`HTTP 400: ${field}: `), JSON.stringify(verdict));
    }
    const notJson = await send({ ...req, body: '{not json' });
    assert.equal(notJson.statusCode, 400);
    assert.equal(fake.counted().length, before, 'nothing refused was counted');
  });

  test("forced failures carry Mixpanel's bodies: 429 without Retry-After is retried, 503 too", async () => {
    fake.failNext([429, 503], 5);
    const limited = await send(request(revenueEvent(), toFake()));
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['retry-after'], undefined);
    assert.deepEqual(mixpanel.judge(limited), { status: 'retry', error: 'HTTP 429: Project exceeded rate limits. Please retry the request with exponential backoff.' });
    const unavailable = await send(request(revenueEvent(), toFake()));
    assert.deepEqual(mixpanel.judge(unavailable), { status: 'retry', error: 'HTTP 503' });
  });
});
