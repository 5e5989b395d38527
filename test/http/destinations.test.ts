import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NetworkPolicy } from '../../src/webhooks/network-policy.js';
import { DeliveryWorker } from '../../src/webhooks/worker.js';
import { startAdjustFake } from '../destinations/fakes/adjust.js';
import { startAmplitudeFake } from '../destinations/fakes/amplitude.js';
import type { ToolFake } from '../destinations/fakes/fake.js';
import {
  createTestContext, DATABASES, envelope, GRANT_PATH, IDENTIFIERS_PATH, onDatabase, PROFILE_PATH, queryRows, send, subscriptionBody,
  type Tenant, type TestContext, TRANSACTION_PATH,
} from '../helpers.js';
import { auditRows, keyOf } from '../keys-support.js';

const DESTINATIONS = '/crosswalk/v1/destinations/';
const DELIVERIES = `${DESTINATIONS}deliveries/`;
const ENDPOINTS = '/crosswalk/v1/webhooks/endpoints/';
const API_KEY = 'amplitude-key-0123456789abcdef';

for (const kind of DATABASES) {
  describe(`destinations API (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let strict: TestContext;
    let amplitude: ToolFake;
    let adjust: ToolFake;
    let worker: DeliveryWorker;

    before(async () => {
      // The fakes are on loopback: this app allows it; `strict` keeps the default rule.
      ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      strict = await createTestContext(kind);
      amplitude = await startAmplitudeFake();
      adjust = await startAdjustFake();
      worker = new DeliveryWorker(ctx.store.webhooks, {
        network: new NetworkPolicy(ctx.config.webhooks),
        timeoutMs: 2_000,
        pollIntervalMs: 60_000,
        concurrency: 8,
        retentionMs: 0,
      });
    });
    after(async () => {
      for (const row of await queryRows(ctx.database, `select url from webhook_endpoints where kind = 'destination'`)) {
        assert.equal(new URL(String(row.url)).hostname, '127.0.0.1', `${row.url} is on loopback`);
      }
      await worker.stop(0);
      await amplitude.close();
      await adjust.close();
      await ctx.close();
      await strict.close();
    });

    const amplitudeBody = (changes: Record<string, unknown> = {}) => ({ type: 'amplitude', config: amplitude.config, base_url: amplitude.baseUrl, ...changes });
    async function add(tenant: Tenant, body: unknown) {
      const res = await send(ctx.app, 'POST', DESTINATIONS, tenant.auth, body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json().data;
    }
    const list = async (tenant: Tenant) => (await send(ctx.app, 'GET', DESTINATIONS, tenant.auth)).json().data as Record<string, any>[];
    const deliveries = async (tenant: Tenant, query = '') => {
      const res = await send(ctx.app, 'GET', `${DELIVERIES}?limit=100${query}`, tenant.auth);
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data as Record<string, any>[];
    };
    /** Runs the worker until nothing is due. */
    async function drain() {
      while ((await worker.runOnce()).length > 0);
    }

    test('adding answers 201 with the credentials once; the listing shows hints, the defaults, and nothing of the webhooks', async () => {
      const tenant = await ctx.newTenant();
      const created = await add(tenant, { type: 'amplitude', config: { api_key: API_KEY }, base_url: `${amplitude.baseUrl}/` });
      assert.match(created.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(
        { ...created, id: undefined, created_at: undefined },
        {
          id: undefined,
          type: 'amplitude',
          base_url: amplitude.baseUrl,
          config: { api_key: API_KEY },
          event_names: { trial: 'trial_started', purchase: 'purchase_completed', renewal: 'subscription_renewed', refund: 'purchase_refunded', access_level: 'access_level_changed' },
          events: ['transaction.recorded'],
          include_sandbox: false,
          created_at: undefined,
        },
      );
      const listed = (await list(tenant))[0]!;
      assert.equal(listed.id, created.id);
      assert.deepEqual(listed.config, { api_key: 'ampl…' });
      assert.ok(!JSON.stringify(await list(tenant)).includes(API_KEY));
      // A destination is not a webhook endpoint.
      assert.deepEqual((await send(ctx.app, 'GET', ENDPOINTS, tenant.auth)).json().data, []);
      // Event names of its own, over the defaults; both event types.
      const named = await add(tenant, amplitudeBody({ event_names: { purchase: 'Subscription Purchased' }, events: ['access_level.updated', 'transaction.recorded'], include_sandbox: true }));
      assert.equal(named.event_names.purchase, 'Subscription Purchased');
      assert.equal(named.event_names.renewal, 'subscription_renewed');
      assert.deepEqual(named.events, ['transaction.recorded', 'access_level.updated']);
      assert.equal(named.include_sandbox, true);
      // The audit trail names the type and the origin, never the credentials.
      const audit = (await auditRows(ctx, tenant.appId)).filter((row) => row.action === 'destination.add');
      assert.equal(audit.length, 2);
      assert.deepEqual(audit[0]!.detail, { type: 'amplitude', base_url_origin: amplitude.baseUrl, events: ['transaction.recorded'] });
      assert.ok(!JSON.stringify(audit).includes(API_KEY));
    });

    test('bad bodies get every problem in the envelope, and nothing is stored', async () => {
      const tenant = await ctx.newTenant();
      const cases: [unknown, ReturnType<typeof envelope>][] = [
        [{ type: 'segment', config: {} }, envelope(400, 'validation_error', ['type', 'Must be one of: amplitude, mixpanel, posthog, firebase, appsflyer, adjust.'])],
        [{ type: 'amplitude', config: {} }, envelope(400, 'validation_error', ['config.api_key', 'This field is required.'])],
        [
          { type: 'amplitude', config: { api_key: API_KEY, project_token: 'x' } },
          envelope(400, 'validation_error', ['config.project_token', 'Unknown config field for amplitude; expected: api_key, min_id_length.']),
        ],
        [
          { type: 'appsflyer', config: { app_id: 'id123456789', s2s_key: 'appsflyer-key-0123' }, events: ['access_level.updated'] },
          envelope(400, 'validation_error', ['events', 'appsflyer takes only: transaction.recorded.']),
        ],
        [
          { type: 'amplitude', config: { api_key: 'key\u0000-0123456789' }, event_names: { purchase: 'bad\ud800' } },
          envelope(
            400, 'validation_error',
            ['config.api_key', 'Must not contain the NUL character (U+0000).'],
            ['event_names.purchase', 'Must be valid Unicode text (it holds a lone surrogate).'],
          ),
        ],
        [amplitudeBody({ base_url: 'ftp://example.com' }), envelope(400, 'validation_error', ['base_url', 'Enter an absolute http:// or https:// URL.'])],
        [amplitudeBody({ base_url: `${amplitude.baseUrl}/?key=1` }), envelope(400, 'validation_error', ['base_url', 'A base URL has no query or fragment.'])],
      ];
      for (const [body, expected] of cases) {
        const res = await send(ctx.app, 'POST', DESTINATIONS, tenant.auth, body);
        assert.equal(res.statusCode, 400, res.body);
        assert.deepEqual(res.json(), expected, JSON.stringify(body));
      }
      const notObject = await send(ctx.app, 'POST', DESTINATIONS, tenant.auth, [1]);
      assert.equal(notObject.statusCode, 400);
      assert.equal(notObject.json().error_code, 'validation_error');
      const badNames = await send(ctx.app, 'POST', DESTINATIONS, tenant.auth, amplitudeBody({ event_names: { upgrade: 'x' } }));
      assert.deepEqual(
        badNames.json(),
        envelope(400, 'validation_error', ['event_names.upgrade', 'Unknown kind; expected one of: trial, purchase, renewal, refund, access_level.']),
      );
      assert.deepEqual(await list(tenant), []);
    });

    test('a base URL on a private network is refused by default, like a webhook endpoint', async () => {
      const tenant = await strict.newTenant();
      const res = await send(strict.app, 'POST', DESTINATIONS, tenant.auth, amplitudeBody());
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().errors[0].source, 'base_url');
      assert.match(res.json().errors[0].errors[0], /127\.0\.0\.1/);
      assert.deepEqual((await send(strict.app, 'GET', DESTINATIONS, tenant.auth)).json().data, []);
    });

    test('the network rule holds at every attempt: a loopback base URL is refused once private networks are not allowed', async (t) => {
      const tenant = await ctx.newTenant();
      const destination = await add(tenant, amplitudeBody());
      const user = { ...tenant.auth, 'adapty-customer-user-id': 'refused' };
      await send(ctx.app, 'POST', PROFILE_PATH, user, {});
      await send(ctx.app, 'POST', IDENTIFIERS_PATH, user, { amplitude_user_id: 'amp-refused' });
      const recent = new Date(Date.now() - 3_600_000).toISOString();
      await send(ctx.app, 'POST', TRANSACTION_PATH, user, subscriptionBody('n-tx-1', { purchased_at: recent, originally_purchased_at: recent }));
      const requests = amplitude.requests.length;
      const strictWorker = new DeliveryWorker(ctx.store.webhooks, {
        network: new NetworkPolicy({ allowPrivateNetworks: false, allowedNetworks: [] }),
        timeoutMs: 2_000,
        pollIntervalMs: 60_000,
        concurrency: 8,
        retentionMs: 0,
      });
      t.after(() => strictWorker.stop(0));
      await strictWorker.runOnce();
      const [delivery] = await deliveries(tenant, `&destination_id=${destination.id}`);
      assert.equal(delivery!.status, 'pending', 'refused before anything was sent: tried again later');
      assert.match(delivery!.reason, /127\.0\.0\.1 is a loopback address/);
      assert.equal(amplitude.requests.length, requests, 'nothing reached the tool');
    });

    test('every operation needs an admin key: 401 without one, 403 forbidden for read and write keys, and nothing written', async () => {
      const tenant = await ctx.newTenant();
      const existing = await add(tenant, amplitudeBody());
      const operations: [string, string, unknown?][] = [
        ['POST', DESTINATIONS, amplitudeBody()],
        ['GET', DESTINATIONS],
        ['DELETE', `${DESTINATIONS}${existing.id}/`],
        ['POST', `${DESTINATIONS}${existing.id}/test/`],
        ['GET', DELIVERIES],
        ['POST', `${DELIVERIES}1/redeliver/`],
      ];
      for (const scope of ['read', 'write'] as const) {
        const key = await keyOf(ctx, tenant.appId, scope);
        for (const [method, path, body] of operations) {
          const res = await send(ctx.app, method as 'GET', path, key.auth, body);
          assert.equal(res.statusCode, 403, `${scope} ${method} ${path}: ${res.body}`);
          assert.equal(res.json().error_code, 'forbidden');
        }
      }
      for (const [method, path, body] of operations) assert.equal((await send(ctx.app, method as 'GET', path, {}, body)).statusCode, 401);
      assert.deepEqual((await list(tenant)).map((d) => d.id), [existing.id]);
      assert.equal(amplitude.requests.filter((r) => r.body.includes(existing.id)).length, 0);
    });

    test('a test send reaches the tool and reports its answer; a refusal and a missing event token are reported too', async () => {
      const tenant = await ctx.newTenant();
      const destination = await add(tenant, amplitudeBody());
      const before = amplitude.counted().length;
      const ok = await send(ctx.app, 'POST', `${DESTINATIONS}${destination.id}/test/`, tenant.auth);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual({ ...ok.json().data, answer: undefined }, { status: 'succeeded', status_code: 200, error: null, answer: undefined });
      const [event] = amplitude.counted().slice(before);
      assert.equal(event!.eventName, 'purchase_completed');
      assert.equal(event!.revenue, 0.01);
      assert.match(event!.userId, /^crosswalk-test-[0-9a-f]{32}$/);

      amplitude.failNext([400]);
      const refused = (await send(ctx.app, 'POST', `${DESTINATIONS}${destination.id}/test/`, tenant.auth)).json().data;
      assert.equal(refused.status, 'failed');
      assert.equal(refused.status_code, 400);
      assert.match(refused.error, /^Amplitude 400: /);

      const tokens = await add(tenant, { type: 'adjust', config: adjust.config, base_url: adjust.baseUrl });
      const skipped = (await send(ctx.app, 'POST', `${DESTINATIONS}${tokens.id}/test/`, tenant.auth)).json().data;
      assert.deepEqual(skipped, { status: 'skipped', status_code: null, error: 'no Adjust event token for purchase (event_names.purchase)', answer: null });

      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
        const res = await send(ctx.app, 'POST', `${DESTINATIONS}${id}/test/`, tenant.auth);
        assert.deepEqual([res.statusCode, res.json()], [404, envelope(404, 'not_found', [null, 'Destination not found'])]);
      }
    });

    test('deliveries: one per revenue event and destination, skipped with the reason, filtered, paged; redelivered with the same event', async () => {
      const tenant = await ctx.newTenant();
      const plain = await add(tenant, amplitudeBody());
      const levels = await add(tenant, amplitudeBody({ events: ['transaction.recorded', 'access_level.updated'], include_sandbox: true }));
      const user = (id: string) => ({ ...tenant.auth, 'adapty-customer-user-id': id });
      // A profile with an Amplitude id, one without, and a sandbox purchase.
      const withId = (await send(ctx.app, 'POST', PROFILE_PATH, user('with-id'), {})).json().data.profile_id;
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, user('with-id'), { amplitude_user_id: 'amp-with-id' })).statusCode, 200);
      const without = (await send(ctx.app, 'POST', PROFILE_PATH, user('without'), {})).json().data.profile_id;
      const recent = new Date(Date.now() - 3_600_000).toISOString();
      for (const [id, tx, environment] of [['with-id', 'd-tx-1', 'Production'], ['without', 'd-tx-2', 'Production'], ['with-id', 'd-tx-3', 'Sandbox']]) {
        const body = subscriptionBody(tx!, { purchased_at: recent, originally_purchased_at: recent, environment });
        assert.equal((await send(ctx.app, 'POST', TRANSACTION_PATH, user(id!), body)).statusCode, 200);
      }
      assert.equal((await send(ctx.app, 'POST', GRANT_PATH, user('with-id'), { access_level_id: 'vip' })).statusCode, 200);
      await drain();

      const all = await deliveries(tenant);
      // plain: three transactions; levels: three transactions and the access level changes.
      assert.equal(all.filter((d) => d.destination_id === plain.id).length, 3);
      const reasons = (destinationId: string) =>
        all.filter((d) => d.destination_id === destinationId).map((d) => [d.profile_id === withId ? 'with-id' : 'without', d.event_type, d.status, d.reason]);
      assert.deepEqual(reasons(plain.id).reverse(), [
        ['with-id', 'transaction.recorded', 'succeeded', null],
        ['without', 'transaction.recorded', 'skipped', 'no amplitude_user_id or amplitude_device_id on the profile'],
        ['with-id', 'transaction.recorded', 'skipped', 'a sandbox transaction: the destination does not take them (include_sandbox is false)'],
      ]);
      const ofLevels = reasons(levels.id).reverse();
      assert.deepEqual(ofLevels.filter(([, type]) => type === 'transaction.recorded').map(([, , status]) => status), ['succeeded', 'skipped', 'succeeded']);
      assert.ok(ofLevels.some(([who, type, status]) => who === 'with-id' && type === 'access_level.updated' && status === 'succeeded'));

      // Filters and paging.
      assert.deepEqual((await deliveries(tenant, '&status=skipped')).map((d) => d.status).filter((s) => s !== 'skipped'), []);
      assert.ok((await deliveries(tenant, `&destination_id=${plain.id}`)).every((d) => d.destination_id === plain.id));
      assert.ok((await deliveries(tenant, `&profile_id=${without}`)).every((d) => d.profile_id === without));
      const first = (await send(ctx.app, 'GET', `${DELIVERIES}?limit=2`, tenant.auth)).json();
      assert.equal(first.data.length, 2);
      const second = (await send(ctx.app, 'GET', `${DELIVERIES}?limit=100&cursor=${first.next_cursor}`, tenant.auth)).json();
      assert.deepEqual([...first.data, ...second.data].map((d: { id: number }) => d.id), all.map((d) => d.id));
      const bad = await send(ctx.app, 'GET', `${DELIVERIES}?status=done`, tenant.auth);
      assert.deepEqual(bad.json(), envelope(400, 'validation_error', ['status', 'Must be one of: pending, succeeded, failed, skipped, cancelled.']));
      // Not among the webhook deliveries.
      assert.deepEqual((await send(ctx.app, 'GET', '/crosswalk/v1/webhooks/deliveries/', tenant.auth)).json().data, []);

      // Redelivered: a new pending delivery of the same event, sent with the same dedup key.
      const sent = all.find((d) => d.destination_id === plain.id && d.status === 'succeeded')!;
      const counted = amplitude.counted().length;
      const again = await send(ctx.app, 'POST', `${DELIVERIES}${sent.id}/redeliver/`, tenant.auth);
      assert.equal(again.statusCode, 202, again.body);
      assert.equal(again.json().data.event_id, sent.event_id);
      assert.equal(again.json().data.status, 'pending');
      await drain();
      assert.equal(amplitude.counted().length, counted, 'the tool drops the copy by its dedup key');
      assert.equal((await deliveries(tenant, `&status=succeeded&destination_id=${plain.id}`)).length, 2);
      for (const id of ['999999999', 'x']) assert.equal((await send(ctx.app, 'POST', `${DELIVERIES}${id}/redeliver/`, tenant.auth)).statusCode, 404);
    });

    test('removing: 204, gone, its pending deliveries cancelled; unknown ids are 404; another app sees nothing', async () => {
      const tenant = await ctx.newTenant();
      const other = await ctx.newTenant();
      const destination = await add(tenant, amplitudeBody());
      const user = { ...tenant.auth, 'adapty-customer-user-id': 'removed' };
      await send(ctx.app, 'POST', PROFILE_PATH, user, {});
      await send(ctx.app, 'POST', TRANSACTION_PATH, user, subscriptionBody('r-tx-1'));
      assert.equal((await send(ctx.app, 'GET', DESTINATIONS, other.auth)).json().data.length, 0);
      assert.equal((await send(ctx.app, 'DELETE', `${DESTINATIONS}${destination.id}/`, other.auth)).statusCode, 404);
      assert.equal((await send(ctx.app, 'GET', DELIVERIES, other.auth)).json().data.length, 0);
      const res = await send(ctx.app, 'DELETE', `${DESTINATIONS}${destination.id}/`, tenant.auth);
      assert.equal(res.statusCode, 204);
      assert.deepEqual(await list(tenant), []);
      const [cancelled] = await deliveries(tenant);
      assert.deepEqual([cancelled!.status, cancelled!.reason, cancelled!.destination_type], ['cancelled', 'destination removed', 'amplitude']);
      for (const id of [destination.id, 'nope']) {
        assert.deepEqual((await send(ctx.app, 'DELETE', `${DESTINATIONS}${id}/`, tenant.auth)).json(), envelope(404, 'not_found', [null, 'Destination not found']));
      }
      assert.deepEqual((await auditRows(ctx, tenant.appId)).map((row) => row.action), ['destination.add', 'destination.remove']);
    });

    test('completed deliveries to destinations, skipped ones included, are pruned after the retention', async () => {
      const tenant = await ctx.newTenant();
      await add(tenant, amplitudeBody());
      const user = { ...tenant.auth, 'adapty-customer-user-id': 'pruned' };
      await send(ctx.app, 'POST', PROFILE_PATH, user, {});
      await send(ctx.app, 'POST', TRANSACTION_PATH, user, subscriptionBody('p-tx-1'));
      await drain();
      assert.deepEqual((await deliveries(tenant)).map((d) => d.status), ['skipped']);
      await ctx.store.webhooks.prune(Date.now() + 1_000);
      assert.deepEqual(await deliveries(tenant), []);
    });
  });
}
