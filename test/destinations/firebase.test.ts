import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firebase } from '../../src/destinations/firebase.js';
import type { DestinationSettings, RevenueEvent, ToolRequest } from '../../src/destinations/types.js';
import { startFirebaseFake } from './fakes/firebase.js';
import { accessLevelChange, answer, eventOf, fakeSettings, identifiers, recentSale, requestOf, send, settingsOf, suiteFake } from './support.js';

const INSTANCE = '9e0760e46feb482484d37dd092e0c8f3';

/** A purchase on Google Play a minute ago, under app instance INSTANCE; `overrides` change any field. */
function revenueEvent(overrides: Partial<RevenueEvent> = {}): RevenueEvent {
  const sale = recentSale({ identifiers: identifiers({ firebase_app_instance_id: INSTANCE }), store: 'play_store', storeTransactionIds: ['GPA.3372-1234-5678-90123', 'GPA.3372-1234-5678-90123'] });
  return { ...eventOf('purchase', sale), ...overrides };
}

function settings(overrides: Partial<DestinationSettings> = {}): DestinationSettings {
  return settingsOf(firebase, { config: { api_secret: 'secret-value', firebase_app_id: '1:123456789012:android:0123456789abcdef' }, ...overrides });
}

function request(event: RevenueEvent, destination = settings()): ToolRequest {
  return requestOf(firebase.build(event, destination));
}

interface Body {
  app_instance_id: string;
  user_id?: string;
  timestamp_micros?: number;
  events: { name: string; params: Record<string, unknown> }[];
}

function body(req: ToolRequest): Body {
  const parsed = JSON.parse(req.body) as Body;
  assert.equal(parsed.events.length, 1);
  return parsed;
}

describe('firebase (GA4 Measurement Protocol): building the request', () => {
  test('a purchase: POST /mp/collect with the secret and app id in the query, a GA4 purchase event under the app instance', () => {
    const event = revenueEvent();
    const req = request(event);
    const url = new URL(req.url);
    assert.equal(url.origin + url.pathname, 'https://www.google-analytics.com/mp/collect');
    assert.equal(url.searchParams.get('api_secret'), 'secret-value');
    assert.equal(url.searchParams.get('firebase_app_id'), '1:123456789012:android:0123456789abcdef');
    assert.equal(req.headers['content-type'], 'application/json');
    const sent = body(req);
    assert.equal(sent.app_instance_id, INSTANCE);
    assert.equal(sent.user_id, undefined, 'no user_id unless send_user_id is true');
    assert.equal(sent.timestamp_micros, event.occurredAt * 1000);
    const [purchase] = sent.events;
    assert.equal(purchase!.name, 'purchase');
    assert.equal(purchase!.params.currency, 'USD');
    assert.equal(purchase!.params.value, 4.99);
    assert.equal(purchase!.params.transaction_id, 'GPA.3372-1234-5678-90123');
    assert.deepEqual(purchase!.params.items, [{ item_id: 'premium_monthly', price: 4.99, quantity: 1 }]);
    assert.equal(purchase!.params.crosswalk_kind, 'purchase');
  });

  test('with send_user_id true, the customer user id goes as user_id', () => {
    const destination = settings({ config: { ...settings().config, send_user_id: 'true' } });
    assert.equal(body(request(revenueEvent(), destination)).user_id, 'user-42');
  });

  test('a renewal is a purchase event (kind renewal); a trial is start_trial with its value', () => {
    const renewal = body(request(revenueEvent({ kind: 'renewal' }))).events[0]!;
    assert.equal(renewal.name, 'purchase');
    assert.equal(renewal.params.crosswalk_kind, 'renewal');
    assert.equal(renewal.params.value, 4.99);
    const trial = body(request(revenueEvent({ kind: 'trial', revenue: 0 }))).events[0]!;
    assert.equal(trial.name, 'start_trial');
    assert.equal(trial.params.value, 0);
    assert.equal(trial.params.currency, 'USD');
  });

  test('a refund is a refund event: the amount refunded as a positive value, the same transaction_id, no items', () => {
    const refund = body(request(revenueEvent({ kind: 'refund', revenue: -4.99 }))).events[0]!;
    assert.equal(refund.name, 'refund');
    assert.equal(refund.params.value, 4.99);
    assert.equal(refund.params.currency, 'USD');
    assert.equal(refund.params.transaction_id, 'GPA.3372-1234-5678-90123');
    assert.equal(refund.params.items, undefined);
  });

  test("an access level's change is access_level_changed, without value or currency", () => {
    const change = body(request(revenueEvent(accessLevelChange({ id: 'premium', change: 'revoked', isActive: false, expiresAt: null })))).events[0]!;
    assert.equal(change.name, 'access_level_changed');
    assert.deepEqual(change.params, {
      crosswalk_kind: 'access_level',
      crosswalk_event_id: 'd1f0b7a2-8c55-4a57-9a3e-5b8f2f0c7e11',
      access_level_id: 'premium',
      access_level_change: 'revoked',
      access_level_is_active: 'false',
    });
  });

  test('an event older than GA4 takes backdated is sent without timestamp_micros, its time in occurred_at', () => {
    const occurredAt = Date.now() - 5 * 86_400_000;
    const sent = body(request(revenueEvent({ occurredAt })));
    assert.equal(sent.timestamp_micros, undefined);
    assert.equal(sent.events[0]!.params.occurred_at, new Date(occurredAt).toISOString());
  });

  test('string values are cut to the 100 characters GA4 keeps', () => {
    const event = revenueEvent();
    event.transaction!.storeProductId = 'p'.repeat(150);
    const items = body(request(event)).events[0]!.params.items as { item_id: string }[];
    assert.equal(items[0]!.item_id, 'p'.repeat(100));
  });

  test('without a firebase_app_instance_id, or with one GA4 would drop, the event is skipped with the reason', () => {
    for (const id of [null, '']) {
      assert.deepEqual(firebase.build(revenueEvent({ identifiers: identifiers({ firebase_app_instance_id: id, mixpanel_user_id: 'm' }) }), settings()), {
        skip: 'no firebase_app_instance_id on the profile',
      });
    }
    assert.deepEqual(firebase.build(revenueEvent({ identifiers: identifiers({ firebase_app_instance_id: `${INSTANCE}}` }) }), settings()), {
      skip: 'the firebase_app_instance_id is not the 32 hexadecimal digits GA4 takes',
    });
  });

  test("the destination's event names are used; a name GA4 refuses or a kind without a name is skipped", () => {
    const named = (eventNames: DestinationSettings['eventNames']) => settings({ eventNames: { ...firebase.defaultEventNames, ...eventNames } });
    assert.equal(body(request(revenueEvent({ kind: 'trial', revenue: 0 }), named({ trial: 'trial_started' }))).events[0]!.name, 'trial_started');
    assert.deepEqual(firebase.build(revenueEvent(), named({ purchase: 'Subscription Purchased' })), {
      skip: 'the event name "Subscription Purchased" must be at most 40 letters, digits and underscores, starting with a letter',
    });
    assert.deepEqual(firebase.build(revenueEvent(), named({ purchase: 'first_open' })), { skip: 'the event name "first_open" is reserved by Google Analytics' });
    assert.ok('skip' in firebase.build(revenueEvent(), named({ purchase: `p${'x'.repeat(40)}` })), 'a 41-character name');
    const { refund: _, ...withoutRefund } = firebase.defaultEventNames;
    assert.deepEqual(firebase.build(revenueEvent({ kind: 'refund', revenue: -4.99 }), settings({ eventNames: withoutRefund })), {
      skip: 'no Google Analytics event name for refund events',
    });
  });
});

describe('firebase (GA4 Measurement Protocol): judging the answer', () => {
  test('2xx succeeds: GA4 answers it to every request it receives', () => {
    assert.deepEqual(firebase.judge(answer(204)), { status: 'succeeded' });
    assert.deepEqual(firebase.judge(answer(200)), { status: 'succeeded' });
  });

  test('another 4xx fails for good with the start of its body', () => {
    assert.deepEqual(firebase.judge(answer(400, 'Bad request:\n invalid body')), { status: 'failed', error: 'HTTP 400: Bad request: invalid body' });
    assert.deepEqual(firebase.judge(answer(401)), { status: 'failed', error: 'HTTP 401' });
    assert.deepEqual(firebase.judge(answer(413, 'Request Entity Too Large')), { status: 'failed', error: 'HTTP 413: Request Entity Too Large' });
  });

  test('429 and 5xx are retried, after Retry-After when given (seconds or a date)', () => {
    assert.deepEqual(firebase.judge(answer(429)), { status: 'retry', error: 'HTTP 429' });
    assert.deepEqual(firebase.judge(answer(429, '', { 'retry-after': '12' })), { status: 'retry', error: 'HTTP 429', retryAfterMs: 12_000 });
    const dated = firebase.judge(answer(429, '', { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }));
    assert.ok(dated.status === 'retry' && dated.retryAfterMs !== undefined && dated.retryAfterMs > 55_000 && dated.retryAfterMs <= 60_000, JSON.stringify(dated));
    for (const status of [500, 503]) assert.deepEqual(firebase.judge(answer(status)), { status: 'retry', error: `HTTP ${status}` });
  });
});

describe('firebase (GA4 Measurement Protocol): against the fake', () => {
  const { fake } = suiteFake(firebase, startFirebaseFake);

  const toFake = (overrides: Partial<DestinationSettings> = {}) => fakeSettings(firebase, fake, overrides);
  const mine = (instance: string) => fake.counted().filter((counted) => counted.userId === instance);

  test('the built request is taken (204) and counted under the app instance with its revenue and currency', async () => {
    const instance = 'a'.repeat(32);
    const reply = await send(request(revenueEvent({ identifiers: identifiers({ firebase_app_instance_id: instance }) }), toFake()));
    assert.equal(reply.statusCode, 204);
    assert.deepEqual(firebase.judge(reply), { status: 'succeeded' });
    const counted = mine(instance);
    assert.equal(counted.length, 1);
    assert.equal(counted[0]!.eventName, 'purchase');
    assert.equal(counted[0]!.revenue, 4.99);
    assert.equal(counted[0]!.currency, 'USD');
    assert.equal(counted[0]!.raw.transaction_id, 'GPA.3372-1234-5678-90123');
  });

  test('every kind the module builds is taken; a refund takes its value off', async () => {
    const instance = 'b'.repeat(32);
    const user = identifiers({ firebase_app_instance_id: instance });
    const events = [
      revenueEvent({ identifiers: user, kind: 'trial', revenue: 0 }),
      revenueEvent({ identifiers: user }),
      revenueEvent({ identifiers: user, kind: 'renewal' }),
      revenueEvent({ identifiers: user, kind: 'refund', revenue: -4.99 }),
      revenueEvent({ identifiers: user, ...accessLevelChange({ id: 'premium', change: 'granted', isActive: true, expiresAt: null }) }),
      revenueEvent({ identifiers: user, occurredAt: Date.now() - 10 * 86_400_000 }),
    ];
    for (const event of events) assert.equal((await send(request(event, toFake()))).statusCode, 204);
    assert.deepEqual(
      mine(instance).map((counted) => [counted.eventName, counted.revenue]),
      [['start_trial', 0], ['purchase', 4.99], ['purchase', 4.99], ['refund', -4.99], ['access_level_changed', null], ['purchase', 4.99]],
    );
  });

  test('the same event sent twice is counted twice: GA4 deduplicates transaction ids for web streams only', async () => {
    const instance = 'c'.repeat(32);
    const req = request(revenueEvent({ identifiers: identifiers({ firebase_app_instance_id: instance }) }), toFake());
    await send(req);
    await send(req);
    assert.equal(mine(instance).length, 2);
    assert.equal(mine(instance)[0]!.dedupKey, null);
  });

  test('a wrong secret or app id is answered 204 all the same, and not counted', async () => {
    const instance = 'd'.repeat(32);
    const event = revenueEvent({ identifiers: identifiers({ firebase_app_instance_id: instance }) });
    const wrongSecret = await send(request(event, toFake({ config: { ...fake.config, api_secret: 'not-the-secret' } })));
    const wrongApp = await send(request(event, toFake({ config: { ...fake.config, firebase_app_id: '1:1:android:ff' } })));
    assert.equal(wrongSecret.statusCode, 204);
    assert.equal(wrongApp.statusCode, 204);
    assert.deepEqual(firebase.judge(wrongSecret), { status: 'succeeded' }, 'nothing in the answer tells: hence the validation server');
    assert.equal(mine(instance).length, 0);
    assert.deepEqual(fake.dropped.slice(-2), ['wrong api_secret', 'wrong firebase_app_id']);
  });

  test('malformed payloads are answered 204 and dropped: value without currency, a bad app instance, not JSON', async () => {
    const instance = 'e'.repeat(32);
    const req = request(revenueEvent({ identifiers: identifiers({ firebase_app_instance_id: instance }) }), toFake());
    const sent = body(req);
    const noCurrency = { ...sent, events: [{ name: 'purchase', params: { ...sent.events[0]!.params, currency: undefined } }] };
    const badInstance = { ...sent, app_instance_id: 'not-hex' };
    const tooOld = { ...sent, timestamp_micros: (Date.now() - 4 * 86_400_000) * 1000 };
    for (const text of [JSON.stringify(noCurrency), JSON.stringify(badInstance), JSON.stringify(tooOld), 'not json']) {
      assert.equal((await send({ ...req, body: text })).statusCode, 204);
    }
    assert.equal(mine(instance).length, 0);
    assert.deepEqual(fake.dropped.slice(-4), [
      'purchase: value is set without an ISO 4217 currency',
      'app_instance_id is not a 32-digit hexadecimal number',
      'timestamp_micros is outside the last 72 hours',
      'the body is not a JSON object',
    ]);
  });

  test('forced failures: 429 with Retry-After and 503 are retried', async () => {
    fake.failNext([429], 7);
    fake.failNext([503]);
    const limited = await send(request(revenueEvent(), toFake()));
    assert.deepEqual(firebase.judge(limited), { status: 'retry', error: 'HTTP 429: Request refused', retryAfterMs: 7_000 });
    const unavailable = await send(request(revenueEvent(), toFake()));
    assert.deepEqual(firebase.judge(unavailable), { status: 'retry', error: 'HTTP 503: Service Unavailable' });
  });
});
