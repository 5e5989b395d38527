import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, DATABASES, onDatabase, GRANT_PATH, PROFILE_PATH, send, subscriptionBody, type Tenant, type TestContext, TRANSACTION_PATH } from './helpers.js';
import { runCliProcess } from './process-helpers.js';

// `crosswalk stats` counts an app's transactions per store and environment, its grants, and its
// revenue: what the profiles' total_revenue_usd add up to.


for (const kind of DATABASES) {
  describe(`crosswalk stats: revenue (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    const url = () => (ctx.database.config.kind === 'sqlite' ? `sqlite:${ctx.database.config.file}` : ctx.database.config.url);
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
      await ctx.store.revenue.setRate(tenant.appId, 'EUR', 1.1);
      const record = async (user: string, body: unknown) => {
        const headers = { ...tenant.auth, 'adapty-customer-user-id': user };
        const res = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, body);
        assert.equal(res.statusCode, 200, res.body);
        return res.json().data.total_revenue_usd as number;
      };
      for (const user of ['a', 'b']) assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, { ...tenant.auth, 'adapty-customer-user-id': user }, {})).statusCode, 200);
      let total = await record('a', subscriptionBody('st-1'));
      total += await record('b', subscriptionBody('st-2', { store: 'play_store', price: { country: 'DE', currency: 'EUR', value: 10 } }));
      await record('b', subscriptionBody('st-3', { environment: 'Sandbox' }));
      // Refunded: counted as a transaction, not as revenue.
      await record('a', subscriptionBody('st-4', { refunded_at: '2024-01-02T00:00:00Z', cancellation_reason: 'refund' }));
      assert.equal(total, 9.99 + 11);
      const grant = await send(ctx.app, 'POST', GRANT_PATH, { ...tenant.auth, 'adapty-customer-user-id': 'a' }, { access_level_id: 'vip' });
      assert.equal(grant.statusCode, 200);
    });
    after(() => ctx?.close());

    test('--json has the counts; the text names them', async () => {
      const json = await runCliProcess(['--database-url', url(), 'stats', '--app', tenant.appId, '--json']);
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout);
      assert.deepEqual(report.revenue, {
        transactions: [
          { store: 'app_store', environment: 'Production', count: 2, refunded: 1, revenueUsd: 9.99 },
          { store: 'app_store', environment: 'Sandbox', count: 1, refunded: 0, revenueUsd: 9.99 },
          { store: 'play_store', environment: 'Production', count: 1, refunded: 0, revenueUsd: 11 },
        ],
        grants: 1,
        revenueUsd: 20.99,
      });
      const text = await runCliProcess(['--database-url', url(), 'stats', '--app', tenant.appId]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^transactions 4; grants 1; revenue 20\.99 USD \(production, not refunded\)$/m);
      assert.match(text.stdout, /^ {2}play_store Production: 1 \(0 refunded\), 11\.00 USD$/m);
    });
  });
}
