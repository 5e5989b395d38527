import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, DATABASES, envelope, onDatabase, PROFILE_PATH, send, type Tenant, type TestContext } from '../helpers.js';
import { auditRows, forbiddenBody, keyOf, type TestKey } from '../keys-support.js';

const AUDIT = '/crosswalk/v1/audit/';
const ENDPOINTS = '/crosswalk/v1/webhooks/endpoints/';
const DELIVERIES = '/crosswalk/v1/webhooks/deliveries/';
const REVENUE = '/crosswalk/v1/revenue/';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const SIGNING_SECRET = 'whsec_0123456789abcdef0123456789abcdef';

for (const kind of DATABASES) {
  describe(`audit trail over HTTP (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    before(async () => {
      ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    });
    after(() => ctx.close());

    /** An app with an admin key of its own besides the test key. */
    async function newApp(): Promise<{ tenant: Tenant; admin: TestKey }> {
      const tenant = await ctx.newTenant();
      return { tenant, admin: await keyOf(ctx, tenant.appId, 'admin') };
    }

    const call = async (auth: Record<string, string>, method: string, url: string, body: unknown, status: number) => {
      const res = await send(ctx.app, method as 'POST', url, auth, body);
      assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
      return res;
    };

    test('every management change over HTTP is recorded with the key that made it, and no secret', async () => {
      const { tenant, admin } = await newApp();
      const endpoint = (await call(admin.auth, 'POST', ENDPOINTS, { url: 'http://127.0.0.1:9/hooks/T0KEN-in-path?token=also-secret', secret: SIGNING_SECRET, event_types: ['profile.created'] }, 201)).json().data;
      await call({ ...tenant.auth, 'adapty-customer-user-id': 'audited' }, 'POST', PROFILE_PATH, {}, 200);
      const [delivery] = (await call(admin.auth, 'GET', `${DELIVERIES}?endpoint_id=${endpoint.id}`, undefined, 200)).json().data;
      const redelivery = (await call(admin.auth, 'POST', `${DELIVERIES}${delivery.id}/redeliver/`, undefined, 202)).json().data;
      await call(admin.auth, 'PUT', `${REVENUE}access-levels/gold/`, undefined, 200);
      await call(admin.auth, 'PUT', `${REVENUE}products/gold_monthly/`, { access_level_id: 'vip' }, 200);
      await call(admin.auth, 'DELETE', `${REVENUE}products/gold_monthly/`, undefined, 204);
      await call(admin.auth, 'DELETE', `${REVENUE}access-levels/gold/`, undefined, 204);
      await call(admin.auth, 'PUT', `${REVENUE}currency-rates/eur/`, { usd_per_unit: 1.08 }, 200);
      await call(admin.auth, 'DELETE', `${REVENUE}currency-rates/EUR/`, undefined, 204);
      await call(admin.auth, 'PUT', `${REVENUE}settings/`, { unknown_access_levels: 'reject' }, 200);
      await call(tenant.auth, 'DELETE', `${ENDPOINTS}${endpoint.id}/`, undefined, 204);

      const testKey = (await ctx.store.listApiKeys(tenant.appId)).find((key) => key.name === 'test')!;
      assert.deepEqual(await auditRows(ctx, tenant.appId), [
        { actor: admin.id, action: 'webhook_endpoint.add', target_id: endpoint.id, detail: { url_origin: 'http://127.0.0.1:9', event_types: ['profile.created'] } },
        { actor: admin.id, action: 'webhook_delivery.redeliver', target_id: String(redelivery.id), detail: { redelivery_of: String(delivery.id), endpoint_id: endpoint.id, event_id: delivery.event_id } },
        { actor: admin.id, action: 'access_level.add', target_id: 'gold', detail: {} },
        { actor: admin.id, action: 'product.set', target_id: 'gold_monthly', detail: { access_level_id: 'vip', is_consumable: false, access_level_created: true } },
        { actor: admin.id, action: 'product.remove', target_id: 'gold_monthly', detail: {} },
        { actor: admin.id, action: 'access_level.remove', target_id: 'gold', detail: {} },
        { actor: admin.id, action: 'currency_rate.set', target_id: 'EUR', detail: { usd_per_unit: 1.08 } },
        { actor: admin.id, action: 'currency_rate.remove', target_id: 'EUR', detail: {} },
        { actor: admin.id, action: 'revenue_settings.set', target_id: null, detail: { unknown_access_levels: 'reject' } },
        { actor: testKey.id, action: 'webhook_endpoint.remove', target_id: endpoint.id, detail: {} },
      ]);
      const text = JSON.stringify(await auditRows(ctx, tenant.appId));
      for (const secret of [SIGNING_SECRET, 'T0KEN', 'also-secret', tenant.key, admin.secret]) assert.ok(!text.includes(secret), `the trail holds ${secret}`);
    });

    test('GET /crosswalk/v1/audit/: newest first, paged by cursor, only the key’s own app', async () => {
      const { tenant, admin } = await newApp();
      const other = await newApp();
      for (const currency of ['AAA', 'BBB', 'CCC', 'DDD', 'EEE']) await call(admin.auth, 'PUT', `${REVENUE}currency-rates/${currency}/`, { usd_per_unit: 2 }, 200);
      await call(other.admin.auth, 'PUT', `${REVENUE}currency-rates/ZZZ/`, { usd_per_unit: 3 }, 200);

      const first = (await call(admin.auth, 'GET', `${AUDIT}?limit=2`, undefined, 200)).json();
      assert.deepEqual(Object.keys(first), ['data', 'next_cursor']);
      assert.deepEqual(first.data.map((entry: { target_id: string }) => entry.target_id), ['EEE', 'DDD']);
      const [newest] = first.data;
      assert.deepEqual(Object.keys(newest), ['id', 'actor', 'action', 'target_id', 'detail', 'created_at']);
      assert.equal(newest.actor, admin.id);
      assert.equal(newest.action, 'currency_rate.set');
      assert.deepEqual(newest.detail, { usd_per_unit: 2 });
      assert.match(newest.created_at, ISO);
      assert.equal(typeof newest.id, 'string');
      assert.equal(first.next_cursor, first.data[1].id);
      const second = (await call(tenant.auth, 'GET', `${AUDIT}?limit=2&cursor=${first.next_cursor}`, undefined, 200)).json();
      assert.deepEqual(second.data.map((entry: { target_id: string }) => entry.target_id), ['CCC', 'BBB']);
      const last = (await call(tenant.auth, 'GET', `${AUDIT}?limit=2&cursor=${second.next_cursor}`, undefined, 200)).json();
      assert.deepEqual(last.data.map((entry: { target_id: string }) => entry.target_id), ['AAA']);
      assert.equal(last.next_cursor, null);
      const all = (await call(admin.auth, 'GET', AUDIT, undefined, 200)).json();
      assert.equal(all.data.length, 5);
      assert.deepEqual((await call(other.admin.auth, 'GET', AUDIT, undefined, 200)).json().data.map((entry: { target_id: string }) => entry.target_id), ['ZZZ']);
    });

    test('the listing is for admin keys; a bad page is a 400 naming the parameter', async () => {
      const { tenant } = await newApp();
      for (const scope of ['read', 'write'] as const) {
        const key = await keyOf(ctx, tenant.appId, scope);
        const res = await call(key.auth, 'GET', AUDIT, undefined, 403);
        assert.deepEqual(res.json(), forbiddenBody(scope, 'admin'));
      }
      const limit = await call(tenant.auth, 'GET', `${AUDIT}?limit=0`, undefined, 400);
      assert.deepEqual(limit.json(), envelope(400, 'validation_error', ['limit', 'Must be a whole number from 1 to 500.']));
      const cursor = await call(tenant.auth, 'GET', `${AUDIT}?cursor=abc`, undefined, 400);
      assert.deepEqual(cursor.json(), envelope(400, 'validation_error', ['cursor', 'Not a cursor this API gave out: pass next_cursor from the previous page unchanged.']));
    });

    test('a refused or failed change, and one that changes nothing, leave no entry', async () => {
      const { tenant, admin } = await newApp();
      const writer = await keyOf(ctx, tenant.appId, 'write');
      await call(admin.auth, 'PUT', `${REVENUE}access-levels/gold/`, undefined, 200);
      await call(admin.auth, 'PUT', `${REVENUE}products/gold_monthly/`, { access_level_id: 'gold' }, 200);
      await call(admin.auth, 'PUT', `${REVENUE}currency-rates/EUR/`, { usd_per_unit: 1.08 }, 200);
      await call(admin.auth, 'PUT', `${REVENUE}settings/`, { unknown_access_levels: 'reject' }, 200);
      const before = await auditRows(ctx, tenant.appId);
      assert.equal(before.length, 4);
      // Refused for its scope (403), refused by a rule (400), nothing there (404), already so (200).
      await call(writer.auth, 'PUT', `${REVENUE}access-levels/silver/`, undefined, 403);
      await call(writer.auth, 'POST', ENDPOINTS, { url: 'http://127.0.0.1:9/writer' }, 403);
      await call(admin.auth, 'DELETE', `${REVENUE}access-levels/gold/`, undefined, 400);
      await call(admin.auth, 'PUT', `${REVENUE}products/silver_monthly/`, { access_level_id: 'silver' }, 400);
      await call(admin.auth, 'PUT', `${REVENUE}currency-rates/EUR/`, { usd_per_unit: -1 }, 400);
      await call(admin.auth, 'DELETE', `${REVENUE}products/nothing/`, undefined, 404);
      await call(admin.auth, 'DELETE', `${ENDPOINTS}00000000-0000-4000-8000-000000000000/`, undefined, 404);
      await call(admin.auth, 'POST', `${DELIVERIES}999999/redeliver/`, undefined, 404);
      await call(admin.auth, 'PUT', `${REVENUE}access-levels/gold/`, undefined, 200);
      await call(admin.auth, 'PUT', `${REVENUE}products/gold_monthly/`, { access_level_id: 'gold' }, 200);
      await call(admin.auth, 'PUT', `${REVENUE}currency-rates/EUR/`, { usd_per_unit: 1.08 }, 200);
      await call(admin.auth, 'PUT', `${REVENUE}settings/`, { unknown_access_levels: 'reject' }, 200);
      for (let i = 0; i < 20; i++) await call(admin.auth, 'POST', ENDPOINTS, { url: `http://127.0.0.1:9/${i}` }, 201);
      const full = await auditRows(ctx, tenant.appId);
      await call(admin.auth, 'POST', ENDPOINTS, { url: 'http://127.0.0.1:9/one-too-many' }, 400);
      assert.deepEqual(await auditRows(ctx, tenant.appId), full);
      assert.deepEqual(full.slice(0, 4), before);
      assert.equal(full.length, 24);
    });
  });
}
