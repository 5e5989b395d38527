import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, DATABASES, onDatabase, GRANT_PATH, PROFILE_PATH, send, subscriptionBody, type TestContext, TRANSACTION_PATH } from '../helpers.js';

// /metrics counts transactions by store (bounded labels) and events recorded for delivery by type.


function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((pair) => l.includes(pair)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

for (const kind of DATABASES) {
  describe(`revenue metrics (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    before(async () => {
      // The endpoint below is on loopback: allowed only because this test says so.
      ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    });
    after(() => ctx?.close());

    test('transactions by store, other stores as "other"; events by type, counted once committed', async () => {
      const tenant = await ctx.newTenant();
      // An endpoint on loopback that nothing delivers to here: events are recorded, not sent.
      const endpoint = await send(ctx.app, 'POST', '/crosswalk/v1/webhooks/endpoints/', tenant.auth, {
        url: 'http://127.0.0.1:9/hooks',
        event_types: ['transaction.recorded', 'access_level.updated'],
      });
      assert.equal(endpoint.statusCode, 201, endpoint.body);
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'metrics-buyer' };
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
      for (const [id, store] of [['m-1', 'app_store'], ['m-2', 'app_store'], ['m-3', 'my-own-store']] as const) {
        const res = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, subscriptionBody(id, { store, store_original_transaction_id: id }));
        assert.equal(res.statusCode, 200, res.body);
      }
      // Refused: not counted, no event.
      const refused = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, subscriptionBody('m-4', { expires_at: '2000-01-01T00:00:00Z' }));
      assert.equal(refused.statusCode, 400);
      assert.equal((await send(ctx.app, 'POST', GRANT_PATH, headers, { access_level_id: 'vip' })).statusCode, 200);

      const text = (await send(ctx.app, 'GET', '/metrics', {})).body;
      assert.equal(sample(text, 'crosswalk_transactions_total', { store: 'app_store' }), 2);
      assert.equal(sample(text, 'crosswalk_transactions_total', { store: 'other' }), 1);
      assert.doesNotMatch(text, /my-own-store/);
      // Three transactions recorded; premium granted by the first (the later ones extend or keep
      // it: two updates), vip granted.
      assert.equal(sample(text, 'crosswalk_webhook_events_total', { type: 'transaction.recorded' }), 3);
      const accessEvents = sample(text, 'crosswalk_webhook_events_total', { type: 'access_level.updated' }) ?? 0;
      const rows = await ctx.store.webhooks.listDeliveries(tenant.appId, { limit: 100 });
      const stored = rows.deliveries.filter((delivery) => delivery.eventType === 'access_level.updated').length;
      assert.equal(accessEvents, stored);
      assert.ok(accessEvents >= 2, `access_level.updated events: ${accessEvents}`);
    });
  });
}
