import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliOn as cli, ndjson, readLines, summaryOf } from './cli-helpers.js';
import {
  addressing,
  createTestContext,
  DATABASES,
  onDatabase,
  GRANT_PATH,
  PROFILE_PATH,
  queryRows,
  REFUND_SAVER_PATH,
  REVOKE_PATH,
  send,
  subscriptionBody,
  type Tenant,
  type TestContext,
  type TestDatabase,
  TRANSACTION_PATH,
} from './helpers.js';

/**
 * Transactions, access grants and Refund Saver settings through `crosswalk export` and `crosswalk
 * import`, on every database and from SQLite to PostgreSQL: written through the API, exported,
 * imported into a fresh database, and compared as the API answers them.
 */

const REVENUE = '/crosswalk/v1/revenue/';
const ENDPOINTS = '/crosswalk/v1/webhooks/endpoints/';

const DAY = 86_400_000;
const iso = (time: number) => new Date(time).toISOString();

const P1 = '5e0f0000-0000-4000-8000-000000000001';
const P2 = '5e0f0000-0000-4000-8000-000000000002';
const P3 = '5e0f0000-0000-4000-8000-000000000003';

/** A one-time purchase: subscriptionBody's common fields, a lifetime product bought for 19.99 USD on 2024-03-01. */
function oneTime(id: string, changes: Record<string, unknown> = {}) {
  const { originally_purchased_at: _start, expires_at: _end, renew_status: _renews, ...common } = subscriptionBody(id);
  const purchase = { purchase_type: 'one_time_purchase', store: 'play_store', store_product_id: 'lifetime', purchased_at: '2024-03-01T12:00:00Z' };
  return { ...common, ...purchase, price: { country: 'DE', currency: 'USD', value: 19.99 }, ...changes };
}

async function ok(ctx: TestContext, method: 'POST' | 'PUT', url: string, headers: Record<string, string>, body?: unknown) {
  const res = await send(ctx.app, method, url, headers, body);
  assert.ok(res.statusCode === 200 || res.statusCode === 201, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** What the API answers of a profile's revenue half, and its Refund Saver settings. */
async function revenueOf(ctx: TestContext, tenant: Tenant, customerUserId: string) {
  const headers = { ...tenant.auth, 'adapty-customer-user-id': customerUserId };
  const profile = await send(ctx.app, 'GET', PROFILE_PATH, headers);
  assert.equal(profile.statusCode, 200, profile.body);
  const { profile_id, total_revenue_usd, access_levels, subscriptions, non_subscriptions } = profile.json().data;
  const refundSaver = await send(ctx.app, 'GET', REFUND_SAVER_PATH, headers);
  assert.equal(refundSaver.statusCode, 200, refundSaver.body);
  return { profile_id, total_revenue_usd, access_levels, subscriptions, non_subscriptions, refund_saver: refundSaver.json() };
}

/** The access-level clock of an app: when each level of each profile is looked at again. */
async function clockOf(database: TestDatabase, appId: string) {
  const rows = await queryRows(database, `select profile_id, access_level_id, due_at from access_level_clock where app_id = '${appId}' order by profile_id, access_level_id`);
  return rows.map((row) => ({ profile_id: row.profile_id, access_level_id: row.access_level_id, due_at: Number(row.due_at) }));
}

/** A database with the server's app on it, an app (tenant) and a webhook endpoint subscribed to the revenue events. */
async function freshCopy(kind: 'sqlite' | 'postgres') {
  // The endpoint is on loopback: allowed only because this test says so.
  const ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
  const tenant = await ctx.newTenant();
  await ok(ctx, 'POST', ENDPOINTS, tenant.auth, { url: 'http://127.0.0.1:9/hooks', event_types: ['transaction.recorded', 'access_level.updated'] });
  return { ctx, tenant };
}

const revenueEvents = (database: TestDatabase, appId: string) =>
  queryRows(database, `select type from webhook_events where app_id = '${appId}' and type in ('transaction.recorded', 'access_level.updated')`);

for (const kind of DATABASES) {
  describe(`crosswalk export and import keep revenue (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let dir: string;
    const file = (name: string) => path.join(dir, name);
    const { byUser, byBoth } = addressing(() => tenant);
    // Far enough from every boundary that nothing starts or ends while the test runs.
    const now = Date.now();
    const futureStart = Math.floor((now + 30 * DAY) / 1000) * 1000;
    const revokeAt = now + 90 * DAY;

    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-revenue-'));

      await ok(ctx, 'PUT', `${REVENUE}currency-rates/EUR/`, tenant.auth, { usd_per_unit: 1.08 });
      await ok(ctx, 'PUT', `${REVENUE}products/coins_100/`, tenant.auth, { access_level_id: null, is_consumable: true });
      await ok(ctx, 'PUT', `${REVENUE}products/pro_monthly/`, tenant.auth, { access_level_id: 'pro', is_consumable: false });

      // P1: a subscription and its renewal, a refunded one-time purchase, a sandbox one in a
      // currency without a rate, one in euros; a lifetime grant, a revoked one and one to come;
      // premium revoked at a later moment; Refund Saver settings.
      await ok(ctx, 'POST', PROFILE_PATH, byBoth(P1, 'rev-1'), { first_name: 'Ann' });
      const first = subscriptionBody('sub-1', { expires_at: '2024-02-01T00:00:00Z', renew_status: false, renew_status_changed_at: '2024-01-20T00:00:00Z' });
      await ok(ctx, 'POST', TRANSACTION_PATH, byUser('rev-1'), first);
      await ok(ctx, 'POST', TRANSACTION_PATH, byUser('rev-1'), subscriptionBody('sub-2', {
        store_original_transaction_id: 'sub-1',
        purchased_at: '2024-02-01T00:00:00Z',
        offer: { category: 'promotional', type: 'pay_up_front', id: 'spring' },
      }));
      await ok(ctx, 'POST', TRANSACTION_PATH, byUser('rev-1'), oneTime('otp-1'));
      await ok(ctx, 'POST', TRANSACTION_PATH, byUser('rev-1'), oneTime('otp-1', { refunded_at: '2024-03-05T00:00:00Z', cancellation_reason: 'refund' }));
      await ok(ctx, 'POST', TRANSACTION_PATH, byUser('rev-1'), subscriptionBody('sbx-1', {
        environment: 'Sandbox',
        store_product_id: 'pro_monthly',
        price: { country: 'JP', currency: 'JPY', value: 1200 },
      }));
      await ok(ctx, 'POST', TRANSACTION_PATH, byUser('rev-1'), oneTime('eur-1', {
        store: 'app_store',
        store_product_id: 'coins_100',
        price: { country: 'FR', currency: 'eur', value: 4.99 },
        variation_id: 'paywall-a',
      }));
      await ok(ctx, 'POST', GRANT_PATH, byUser('rev-1'), { access_level_id: 'vip' });
      await ok(ctx, 'POST', GRANT_PATH, byUser('rev-1'), { access_level_id: 'gold', expires_at: iso(now + 365 * DAY) });
      await ok(ctx, 'POST', REVOKE_PATH, byUser('rev-1'), { access_level_id: 'gold' });
      await ok(ctx, 'POST', GRANT_PATH, byUser('rev-1'), { access_level_id: 'silver', starts_at: iso(futureStart), expires_at: iso(futureStart + 30 * DAY) });
      await ok(ctx, 'POST', REVOKE_PATH, byUser('rev-1'), { access_level_id: 'premium', revoke_at: iso(revokeAt) });
      await ok(ctx, 'POST', REFUND_SAVER_PATH, byUser('rev-1'), { consent: true, custom_preference: 'grant' });
      // P2: Refund Saver settings only; P3: no revenue at all.
      await ok(ctx, 'POST', PROFILE_PATH, byBoth(P2, 'rev-2'), {});
      await ok(ctx, 'POST', REFUND_SAVER_PATH, byUser('rev-2'), { custom_preference: 'decline' });
      await ok(ctx, 'POST', PROFILE_PATH, byBoth(P3, 'rev-3'), { last_name: 'Plain' });
    });
    after(async () => {
      await ctx.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Imports the first export into a fresh database (of `target`), and checks it holds the same revenue. */
    async function roundTrip(target: 'sqlite' | 'postgres', name: string) {
      const copy = await freshCopy(target);
      try {
        const imported = await cli(copy.ctx.database, 'import', file('first.ndjson'), '--app', copy.tenant.appId, '--rejects', file(`${name}.rejects.ndjson`));
        assert.equal(imported.code, 0, imported.stderr);
        assert.deepEqual(summaryOf(imported.stdout), { read: 3, imported: 3, rejected: 0 });
        for (const user of ['rev-1', 'rev-2', 'rev-3']) {
          assert.deepEqual(await revenueOf(copy.ctx, copy.tenant, user), await revenueOf(ctx, tenant, user), user);
        }
        // The clock: premium's revocation, pro's expiry and the future grant's start are still ahead, and will be reported.
        const clock = await clockOf(copy.ctx.database, copy.tenant.appId);
        assert.deepEqual(clock, [
          { profile_id: P1, access_level_id: 'premium', due_at: revokeAt },
          { profile_id: P1, access_level_id: 'pro', due_at: Date.parse('2099-01-01T00:00:00Z') },
          { profile_id: P1, access_level_id: 'silver', due_at: futureStart },
        ]);
        assert.deepEqual(clock, await clockOf(ctx.database, tenant.appId));
        // An import restores state: no old purchase is sent to the tools again.
        assert.deepEqual(await revenueEvents(copy.ctx.database, copy.tenant.appId), []);

        const second = await cli(copy.ctx.database, 'export', '--app', copy.tenant.appId, '--output', file(`${name}.ndjson`));
        assert.equal(second.code, 0, second.stderr);
        assert.equal(fs.readFileSync(file(`${name}.ndjson`), 'utf8'), fs.readFileSync(file('first.ndjson'), 'utf8'));

        // Importing the same file again changes nothing.
        const again = await cli(copy.ctx.database, 'import', file('first.ndjson'), '--app', copy.tenant.appId, '--rejects', file(`${name}.rejects.ndjson`));
        assert.deepEqual(summaryOf(again.stdout), { read: 3, imported: 3, rejected: 0 });
        const third = await cli(copy.ctx.database, 'export', '--app', copy.tenant.appId);
        assert.equal(third.stdout, fs.readFileSync(file('first.ndjson'), 'utf8'));
      } finally {
        await copy.ctx.close();
      }
    }

    test('export writes transactions, grants and Refund Saver settings; a fresh database imports the same revenue', async () => {
      const exported = await cli(ctx.database, 'export', '--app', tenant.appId, '--output', file('first.ndjson'));
      assert.equal(exported.code, 0, exported.stderr);
      const lines = readLines(file('first.ndjson'));
      const line = (customerUserId: string) => lines.find((l) => l.customer_user_id === customerUserId)!;
      assert.deepEqual(Object.keys(line('rev-1')), ['profile_id', 'customer_user_id', 'first_name', 'transactions', 'access_grants', 'refund_saver']);
      assert.deepEqual(Object.keys(line('rev-2')), ['profile_id', 'customer_user_id', 'refund_saver']);
      assert.deepEqual(Object.keys(line('rev-3')), ['profile_id', 'customer_user_id', 'last_name']);
      assert.deepEqual(line('rev-2').refund_saver, { consent: false, custom_preference: 'decline' });
      assert.deepEqual(line('rev-1').refund_saver, { consent: true, custom_preference: 'grant' });

      // Oldest purchase first, each with what it unlocked, its dollars and its times.
      const transactions = line('rev-1').transactions as Record<string, unknown>[];
      // (sbx-1 and sub-1 were bought at the same moment in the same store: by transaction id.)
      assert.deepEqual(transactions.map((t) => t.store_transaction_id), ['sbx-1', 'sub-1', 'sub-2', 'eur-1', 'otp-1']);
      const byId = (id: string) => transactions.find((t) => t.store_transaction_id === id)!;
      assert.deepEqual(
        transactions.map((t) => [t.store_transaction_id, t.access_level_id, t.is_consumable, t.price_usd, t.environment]),
        [
          ['sbx-1', 'pro', false, null, 'Sandbox'],
          ['sub-1', 'premium', false, 9.99, 'Production'],
          ['sub-2', 'premium', false, 9.99, 'Production'],
          ['eur-1', null, true, 5.3892, 'Production'],
          ['otp-1', 'premium', false, 19.99, 'Production'],
        ],
      );
      assert.deepEqual(byId('eur-1').price, { country: 'FR', currency: 'EUR', value: 4.99 });
      assert.equal(byId('otp-1').refunded_at, '2024-03-05T00:00:00.000Z');
      assert.equal(byId('sub-2').access_ends_at, iso(revokeAt));
      assert.equal(byId('eur-1').access_ends_at, null);
      assert.deepEqual(Object.keys(byId('sub-1')).slice(-4), ['is_consumable', 'access_ends_at', 'created_at', 'updated_at']);
      assert.match(String(byId('sub-1').purchase_id), /^[0-9a-f-]{36}$/);
      const grants = line('rev-1').access_grants as Record<string, unknown>[];
      assert.deepEqual(grants.map((g) => [g.access_level_id, g.starts_at, g.expires_at === null, g.access_ends_at === null]), [
        ['gold', null, false, false],
        ['silver', iso(futureStart), false, true],
        ['vip', null, true, true],
      ]);
      assert.deepEqual(Object.keys(grants[0]!), ['access_level_id', 'starts_at', 'expires_at', 'access_ends_at', 'granted_at']);

      await roundTrip(kind, `copy-${kind}`);
    });

    if (kind === 'sqlite') {
      test('an export of SQLite imported into PostgreSQL gives the same revenue', onDatabase('postgres'), async () => {
        await roundTrip('postgres', 'copy-sqlite-to-postgres');
      });
    }

    test('a plain set-transaction body is decided with the app configuration, as the operation decides it', async () => {
      const lines = [
        {
          customer_user_id: 'plain-1',
          transactions: [
            oneTime('plain-eur', { store_product_id: 'coins_100', price: { country: 'FR', currency: 'EUR', value: 10 } }),
            subscriptionBody('plain-pro', { store_product_id: 'pro_monthly' }),
            oneTime('plain-usd'),
          ],
          access_grants: [{ access_level_id: 'bronze', expires_at: '2099-01-01T00:00:00Z' }],
          refund_saver: { consent: true },
        },
      ];
      fs.writeFileSync(file('plain.ndjson'), ndjson(lines));
      const before = Date.now();
      const imported = await cli(ctx.database, 'import', file('plain.ndjson'), '--app', tenant.appId);
      assert.equal(imported.code, 0, imported.stderr);
      assert.deepEqual(summaryOf(imported.stdout), { read: 1, imported: 1, rejected: 0 });

      const exported = await cli(ctx.database, 'export', '--app', tenant.appId);
      const line = exported.stdout.trim().split('\n').map((text) => JSON.parse(text)).find((l) => l.customer_user_id === 'plain-1');
      assert.deepEqual(
        line.transactions.map((t: Record<string, unknown>) => [t.store_transaction_id, t.access_level_id, t.is_consumable, t.price_usd, t.access_ends_at]),
        [
          ['plain-pro', 'pro', false, 9.99, null],
          ['plain-eur', null, true, 10.8, null],
          ['plain-usd', 'premium', false, 19.99, null],
        ],
      );
      for (const transaction of line.transactions) {
        assert.match(transaction.purchase_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.ok(Date.parse(transaction.created_at) >= before - 1000 && transaction.created_at === transaction.updated_at);
      }
      assert.equal(line.access_grants[0].access_level_id, 'bronze');
      assert.equal(line.access_grants[0].starts_at, null);
      assert.ok(Date.parse(line.access_grants[0].granted_at) >= before - 1000);
      assert.deepEqual(line.refund_saver, { consent: true, custom_preference: 'no_preference' });
      const answer = await revenueOf(ctx, tenant, 'plain-1');
      assert.equal(answer.total_revenue_usd, 40.78);
      assert.deepEqual(answer.access_levels.map((level: { access_level_id: string; is_active: boolean }) => [level.access_level_id, level.is_active]), [
        ['bronze', true],
        ['premium', true],
        ['pro', true],
      ]);
      // The access levels named are configured, as the operations configure them.
      const levels = await send(ctx.app, 'GET', `${REVENUE}access-levels/`, tenant.auth);
      assert.ok(levels.json().data.some((level: { access_level_id: string }) => level.access_level_id === 'bronze'));
    });

    test('a line with a bad transaction, grant or Refund Saver settings is rejected with the field named, and writes nothing', async () => {
      const good = oneTime('good-1');
      const lines = [
        // Validation: the transaction's schema, the vendor's rules, the stored fields, repeats.
        { customer_user_id: 'bad-1', transactions: [good, { ...good, store_transaction_id: 'bad-1a', price: { country: 'US', currency: 'US', value: 1 } }] },
        { customer_user_id: 'bad-2', transactions: [oneTime('bad-2a', { store_original_transaction_id: 'other' })] },
        { customer_user_id: 'bad-3', transactions: [{ ...oneTime('bad-3a'), purchase_id: 'nope', price_usd: -1, created_at: 'yesterday' }] },
        { customer_user_id: 'bad-4', transactions: [oneTime('bad-4a'), oneTime('bad-4a')] },
        { customer_user_id: 'bad-5', transactions: { store: 'app_store' }, access_grants: [{ access_level_id: 'x', starts_at: '2030-01-01T00:00:00Z', expires_at: '2029-01-01T00:00:00Z' }] },
        { customer_user_id: 'bad-6', access_grants: [{ access_level_id: 'y' }, { access_level_id: 'y' }, { access_level_id: 'z', granted_at: null }], refund_saver: {} },
        // Refused when written: a production price without a rate, a transaction of another profile.
        { customer_user_id: 'bad-7', first_name: 'Never', transactions: [oneTime('bad-7a', { price: { country: 'JP', currency: 'JPY', value: 100 } })] },
        { customer_user_id: 'bad-8', transactions: [oneTime('eur-1', { store: 'app_store', store_product_id: 'coins_100' })] },
        { customer_user_id: 'bad-9', transactions: [{ ...oneTime('bad-9a'), access_level_id: 'brand-new' }] },
      ];
      await ok(ctx, 'PUT', `${REVENUE}settings/`, tenant.auth, { unknown_access_levels: 'reject' });
      try {
        fs.writeFileSync(file('bad.ndjson'), ndjson(lines));
        const imported = await cli(ctx.database, 'import', file('bad.ndjson'), '--app', tenant.appId);
        assert.equal(imported.code, 0, imported.stderr);
        assert.deepEqual(summaryOf(imported.stdout), { read: 9, imported: 0, rejected: 9 });
      } finally {
        await ok(ctx, 'PUT', `${REVENUE}settings/`, tenant.auth, { unknown_access_levels: 'create' });
      }
      const reasons = readLines(`${file('bad.ndjson')}.rejects.ndjson`).map((reject) => [reject.line, reject.reason]);
      assert.deepEqual(reasons, [
        [1, 'transactions.1.price.currency: Must be a three-letter ISO 4217 currency code.'],
        [2, 'transactions.0.store_transaction_id: A one-time purchase must have store_transaction_id equal to store_original_transaction_id.'],
        [3, 'transactions.0.purchase_id: Must be a valid UUID.; transactions.0.price_usd: Must be a number from 0, or null.; transactions.0.created_at: Must be a date-time such as 2024-01-15T10:30:00Z.'],
        [4, 'transactions.1.store_transaction_id: This transaction is on the line already (transactions.0).'],
        [5, 'transactions: Must be a list of transactions.; access_grants.0: expires_at must be later than starts_at.'],
        [
          6,
          'access_grants.2.granted_at: Must be a date-time such as 2024-01-15T10:30:00Z.; ' +
            'access_grants.1.access_level_id: A grant of this access level is on the line already (access_grants.0).; ' +
            'refund_saver: Set consent, custom_preference, or both.',
        ],
        [7, 'transactions.0.price.currency: No exchange rate to USD is set for JPY; set one with `crosswalk revenue rates set` or the currency-rates API.'],
        [8, 'transactions.0.store_transaction_id: This transaction is recorded for another profile of this app.'],
        [9, 'transactions.0.access_level_id: Paid access level `brand-new` does not exist'],
      ]);
      for (let i = 1; i <= 9; i++) assert.equal(await ctx.store.findProfile(tenant.appId, { customerUserId: `bad-${i}` }), null, `bad-${i}`);
      const written = await queryRows(ctx.database, `select store_transaction_id, profile_id from transactions where app_id = '${tenant.appId}' and (store_transaction_id like 'bad-%' or store_transaction_id = 'good-1' or store_transaction_id = 'eur-1')`);
      assert.deepEqual(written, [{ store_transaction_id: 'eur-1', profile_id: P1 }]);
    });
  });
}
