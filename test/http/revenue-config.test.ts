import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, DATABASES, onDatabase, envelope, profileOk, send, type Tenant, type TestContext, TRANSACTION_PATH } from '../helpers.js';

const BASE = '/crosswalk/v1/revenue/';
const LEVELS = `${BASE}access-levels/`;
const PRODUCTS = `${BASE}products/`;
const RATES = `${BASE}currency-rates/`;
const SETTINGS = `${BASE}settings/`;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const NON_EMPTY = 'Must be a non-empty string.';
const BAD_RATE = 'Must be a number greater than 0 and at most 1000000: US dollars for one unit of the currency.';
const BAD_CURRENCY = 'Must be a three-letter ISO 4217 currency code.';

const transaction = (id: string, productId: string, price: { currency: string; value: number }) => ({
  purchase_type: 'one_time_purchase',
  store: 'app_store',
  store_product_id: productId,
  store_transaction_id: id,
  store_original_transaction_id: id,
  price: { country: 'DE', ...price },
  purchased_at: '2026-11-15T10:30:00Z',
});

for (const kind of DATABASES) {
  describe(`revenue configuration API (${kind})`, onDatabase(kind), () => {
    // Each test configures an app of its own.
    let ctx: TestContext;
    before(async () => (ctx = await createTestContext(kind)));
    after(() => ctx.close());

    /** A request that must answer `status`; returns the parsed body. */
    const ok = async (tenant: Tenant, method: 'GET' | 'PUT' | 'DELETE', url: string, body?: unknown, status = 200) => {
      const res = await send(ctx.app, method, url, tenant.auth, body);
      assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
      return status === 204 ? res.body : res.json();
    };
    const refused = async (tenant: Tenant, method: 'PUT' | 'DELETE', url: string, body?: unknown) => (await send(ctx.app, method, url, tenant.auth, body)).json();
    const invalid = (source: string, message: string) => envelope(400, 'validation_error', [source, message]);

    test('every operation needs a key', async () => {
      const operations = [['GET', LEVELS], ['PUT', `${LEVELS}x/`], ['DELETE', `${LEVELS}x/`], ['GET', PRODUCTS], ['PUT', `${PRODUCTS}x/`],
        ['DELETE', `${PRODUCTS}x/`], ['GET', RATES], ['PUT', `${RATES}EUR/`], ['DELETE', `${RATES}EUR/`], ['GET', SETTINGS], ['PUT', SETTINGS]] as const;
      for (const [method, url] of operations) {
        const res = await send(ctx.app, method, url, {}, method === 'PUT' ? {} : undefined);
        assert.deepEqual(res.json(), envelope(401, 'not_authenticated', ['non_field_errors', 'Authentication credentials were not provided.']), `${method} ${url}`);
      }
    });

    test('access levels: PUT configures (again: nothing changes), GET lists by id, DELETE removes', async () => {
      const a = await ctx.newTenant();
      const vip = await ok(a, 'PUT', `${LEVELS}vip/`);
      assert.deepEqual(Object.keys(vip.data).sort(), ['access_level_id', 'created_at']);
      assert.equal(vip.data.access_level_id, 'vip');
      assert.match(vip.data.created_at, ISO);
      assert.deepEqual(await ok(a, 'PUT', `${LEVELS}vip/`), vip);
      // Any storable text of 1 to 100 characters, percent-encoded in the path.
      const long = 'ü'.repeat(99) + '/';
      assert.equal((await ok(a, 'PUT', `${LEVELS}${encodeURIComponent(long)}/`)).data.access_level_id, long);
      assert.deepEqual((await ok(a, 'GET', LEVELS)).data.map((level: { access_level_id: string }) => level.access_level_id), ['vip', long]);

      assert.equal(await ok(a, 'DELETE', `${LEVELS}${encodeURIComponent(long)}/`, undefined, 204), '');
      assert.deepEqual(await refused(a, 'DELETE', `${LEVELS}${encodeURIComponent(long)}/`), envelope(404, 'not_found', [null, `Access level \`${long}\` is not configured.`]));
      assert.deepEqual((await ok(a, 'GET', LEVELS)).data, [vip.data]);
    });

    test('access level ids are checked: 1 to 100 characters of storable text', async () => {
      const a = await ctx.newTenant();
      const tooLong = invalid('access_level_id', 'Ensure this field has no more than 100 characters.');
      assert.deepEqual(await refused(a, 'PUT', `${LEVELS}${'x'.repeat(101)}/`), tooLong);
      assert.deepEqual(await refused(a, 'DELETE', `${LEVELS}${'x'.repeat(101)}/`), tooLong);
      assert.deepEqual(await refused(a, 'PUT', `${LEVELS}a%00b/`), invalid('access_level_id', 'Must not contain the NUL character (U+0000).'));
      assert.deepEqual(await refused(a, 'PUT', `${PRODUCTS}p/`, { access_level_id: '' }), invalid('access_level_id', NON_EMPTY));
      assert.deepEqual(await refused(a, 'PUT', `${PRODUCTS}p/`, { access_level_id: 7 }), invalid('access_level_id', 'Must be a string or null.'));
      assert.deepEqual(await ok(a, 'GET', LEVELS), { data: [] });
    });

    test('products: PUT creates or replaces (configuring its access level), DELETE removes; an access level in use stays', async () => {
      const a = await ctx.newTenant();
      const pro = await ok(a, 'PUT', `${PRODUCTS}pro_monthly/`, { access_level_id: 'pro' });
      assert.deepEqual(pro, { data: { store_product_id: 'pro_monthly', access_level_id: 'pro', is_consumable: false } });
      assert.deepEqual(await ok(a, 'PUT', `${PRODUCTS}pro_monthly/`, { access_level_id: 'pro' }), pro);
      assert.ok((await ok(a, 'GET', LEVELS)).data.some((level: { access_level_id: string }) => level.access_level_id === 'pro'));
      const coins = { store_product_id: 'coins/100', access_level_id: null, is_consumable: true };
      assert.deepEqual(await ok(a, 'PUT', `${PRODUCTS}coins%2F100/`, { access_level_id: null, is_consumable: true }), { data: coins });
      const longest = 'p'.repeat(256);
      await ok(a, 'PUT', `${PRODUCTS}${longest}/`, { access_level_id: 'pro' });
      assert.deepEqual(await ok(a, 'GET', PRODUCTS), {
        data: [coins, { store_product_id: longest, access_level_id: 'pro', is_consumable: false }, pro.data],
      });

      assert.deepEqual(
        await refused(a, 'DELETE', `${LEVELS}pro/`),
        invalid('access_level_id', `Products \`${longest}\`, \`pro_monthly\` unlock this access level: set them to another access level (or none), or remove them, first.`),
      );
      assert.equal(await ok(a, 'DELETE', `${PRODUCTS}${longest}/`, undefined, 204), '');
      assert.deepEqual(await refused(a, 'DELETE', `${PRODUCTS}${longest}/`), envelope(404, 'not_found', [null, `Product \`${longest}\` is not configured.`]));
      // Replaced: pro_monthly now unlocks nothing, so `pro` can go.
      await ok(a, 'PUT', `${PRODUCTS}pro_monthly/`, { access_level_id: null });
      await ok(a, 'DELETE', `${LEVELS}pro/`, undefined, 204);
    });

    test('product bodies and ids are checked', async () => {
      const a = await ctx.newTenant();
      assert.deepEqual(await refused(a, 'PUT', `${PRODUCTS}p/`, {}), invalid('access_level_id', 'This field is required.'));
      assert.deepEqual(await refused(a, 'PUT', `${PRODUCTS}p/`, []), invalid('non_field_errors', 'Expected a JSON object.'));
      assert.deepEqual(
        await refused(a, 'PUT', `${PRODUCTS}p/`, { access_level_id: 'x'.repeat(101), is_consumable: 'yes' }),
        envelope(400, 'validation_error', ['access_level_id', 'Ensure this field has no more than 100 characters.'], ['is_consumable', 'Must be a boolean.']),
      );
      assert.deepEqual(
        await refused(a, 'PUT', `${PRODUCTS}${'p'.repeat(257)}/`, { access_level_id: null }),
        invalid('store_product_id', 'Ensure this field has no more than 256 characters.'),
      );
      assert.deepEqual(await refused(a, 'DELETE', `${PRODUCTS}%00/`), invalid('store_product_id', 'Must not contain the NUL character (U+0000).'));
    });

    test('currency rates: any case in, upper case kept; PUT again replaces; DELETE removes', async () => {
      const a = await ctx.newTenant();
      const eur = await ok(a, 'PUT', `${RATES}eur/`, { usd_per_unit: 1.08 });
      assert.equal(eur.data.currency, 'EUR');
      assert.equal(eur.data.usd_per_unit, 1.08);
      assert.match(eur.data.updated_at, ISO);
      assert.equal((await ok(a, 'PUT', `${RATES}EUR/`, { usd_per_unit: 1.1 })).data.usd_per_unit, 1.1);
      await ok(a, 'PUT', `${RATES}JPY/`, { usd_per_unit: 0.0067 });
      const list = (await ok(a, 'GET', RATES)).data;
      assert.deepEqual(list.map((rate: { currency: string; usd_per_unit: number }) => [rate.currency, rate.usd_per_unit]), [['EUR', 1.1], ['JPY', 0.0067]]);

      assert.equal(await ok(a, 'DELETE', `${RATES}jpy/`, undefined, 204), '');
      assert.deepEqual(await refused(a, 'DELETE', `${RATES}JPY/`), envelope(404, 'not_found', [null, 'No rate is set for JPY.']));
    });

    test('currency codes and rates are checked', async () => {
      const a = await ctx.newTenant();
      assert.deepEqual(await refused(a, 'PUT', `${RATES}usd/`, { usd_per_unit: 1 }), invalid('currency', 'USD needs no rate: it is always 1 US dollar per unit.'));
      for (const code of ['EU', 'EURO', 'E1R']) assert.deepEqual(await refused(a, 'PUT', `${RATES}${code}/`, { usd_per_unit: 1 }), invalid('currency', BAD_CURRENCY), code);
      assert.deepEqual(await refused(a, 'DELETE', `${RATES}EU/`), invalid('currency', BAD_CURRENCY));
      for (const rate of [0, -1, '1.08', null]) assert.deepEqual(await refused(a, 'PUT', `${RATES}CHF/`, { usd_per_unit: rate }), invalid('usd_per_unit', BAD_RATE), String(rate));
      assert.deepEqual(await refused(a, 'PUT', `${RATES}CHF/`, {}), invalid('usd_per_unit', 'This field is required.'));
      assert.deepEqual(await ok(a, 'GET', RATES), { data: [] });
    });

    test('settings: create by default, reject set with PUT; bad values are refused', async () => {
      const fresh = await ctx.newTenant();
      assert.deepEqual(await ok(fresh, 'GET', SETTINGS), { data: { unknown_access_levels: 'create' } });
      assert.deepEqual(await ok(fresh, 'PUT', SETTINGS, { unknown_access_levels: 'reject' }), { data: { unknown_access_levels: 'reject' } });
      assert.deepEqual(await ok(fresh, 'PUT', SETTINGS, { unknown_access_levels: 'reject' }), { data: { unknown_access_levels: 'reject' } });
      assert.deepEqual(await ok(fresh, 'GET', SETTINGS), { data: { unknown_access_levels: 'reject' } });
      assert.deepEqual(await refused(fresh, 'PUT', SETTINGS, { unknown_access_levels: 'ignore' }), invalid('unknown_access_levels', 'Must be one of: create, reject.'));
      assert.deepEqual(await refused(fresh, 'PUT', SETTINGS), invalid('non_field_errors', 'Expected a JSON object.'));
      // Under reject, a product naming an access level never configured is refused like a transaction would be.
      assert.deepEqual(
        await refused(fresh, 'PUT', `${PRODUCTS}gold_yearly/`, { access_level_id: 'gold' }),
        envelope(400, 'paid_access_level_does_not_exist', ['access_level_id', 'Paid access level `gold` does not exist, and this app refuses access levels it does not know: add it first.']),
      );
      assert.deepEqual((await ok(fresh, 'GET', PRODUCTS)).data, []);
      await ok(fresh, 'PUT', `${LEVELS}gold/`);
      await ok(fresh, 'PUT', `${PRODUCTS}gold_yearly/`, { access_level_id: 'gold' });
    });

    test("tenancy: one app's key neither sees nor changes another app's configuration", async () => {
      const mine = await ctx.newTenant();
      const theirs = await ctx.newTenant();
      await ok(mine, 'PUT', `${PRODUCTS}secret_product/`, { access_level_id: 'secret_level' });
      await ok(mine, 'PUT', `${RATES}GBP/`, { usd_per_unit: 1.27 });
      await ok(mine, 'PUT', SETTINGS, { unknown_access_levels: 'reject' });
      assert.deepEqual(await ok(theirs, 'GET', LEVELS), { data: [] });
      assert.deepEqual(await ok(theirs, 'GET', PRODUCTS), { data: [] });
      assert.deepEqual(await ok(theirs, 'GET', RATES), { data: [] });
      assert.deepEqual(await ok(theirs, 'GET', SETTINGS), { data: { unknown_access_levels: 'create' } });
      assert.equal((await send(ctx.app, 'DELETE', `${PRODUCTS}secret_product/`, theirs.auth)).statusCode, 404);
      assert.equal((await send(ctx.app, 'DELETE', `${LEVELS}secret_level/`, theirs.auth)).statusCode, 404);
      assert.equal((await send(ctx.app, 'DELETE', `${RATES}GBP/`, theirs.auth)).statusCode, 404);
      // Their GBP transaction finds no rate: mine is not theirs.
      const headers = { ...theirs.auth, 'adapty-customer-user-id': 'theirs' };
      await profileOk(ctx.app, 'POST', headers, {});
      assert.equal((await send(ctx.app, 'POST', TRANSACTION_PATH, headers, transaction('t-gbp', 'x', { currency: 'GBP', value: 1 }))).statusCode, 400);
      assert.equal((await ok(mine, 'GET', PRODUCTS)).data.length, 1);
      assert.equal((await ok(mine, 'GET', RATES)).data.length, 1);
    });

    test('end to end: what the admin API configures decides what a transaction unlocks and counts for', async () => {
      const tenant = await ctx.newTenant();
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'buyer' };
      await profileOk(ctx.app, 'POST', headers, {});
      const record = async (body: unknown) => {
        const res = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, body);
        assert.equal(res.statusCode, 200, res.body);
        return res.json().data;
      };

      // No rate for EUR yet: a production transaction is refused, and says how to set one.
      assert.deepEqual(
        (await send(ctx.app, 'POST', TRANSACTION_PATH, headers, transaction('t0', 'coins_100', { currency: 'EUR', value: 4.99 }))).json(),
        envelope(400, 'validation_error', ['price.currency', 'No exchange rate to USD is set for EUR; set one with `crosswalk revenue rates set` or the currency-rates API.']),
      );

      // A consumable that unlocks nothing, at a rate: converted revenue, no access level.
      await ok(tenant, 'PUT', `${PRODUCTS}coins_100/`, { access_level_id: null, is_consumable: true });
      await ok(tenant, 'PUT', `${RATES}eur/`, { usd_per_unit: 1.08 });
      let profile = await record(transaction('t1', 'coins_100', { currency: 'EUR', value: 4.99 }));
      assert.deepEqual(profile.access_levels, []);
      assert.equal(profile.total_revenue_usd, 5.39);
      assert.equal(profile.non_subscriptions[0].is_consumable, true);

      // A product configured with an access level unlocks it; one not configured unlocks premium.
      await ok(tenant, 'PUT', `${PRODUCTS}lifetime_vip/`, { access_level_id: 'vip' });
      profile = await record(transaction('t2', 'lifetime_vip', { currency: 'USD', value: 20 }));
      assert.deepEqual(profile.access_levels.map((level: { access_level_id: string; is_active: boolean }) => [level.access_level_id, level.is_active]), [['vip', true]]);
      profile = await record(transaction('t3', 'unconfigured', { currency: 'USD', value: 1 }));
      assert.deepEqual(profile.access_levels.map((level: { access_level_id: string }) => level.access_level_id), ['premium', 'vip']);
      assert.equal(profile.total_revenue_usd, 26.39);

      // Reject: an access level never configured is refused; configured, it is accepted.
      await ok(tenant, 'DELETE', `${LEVELS}premium/`, undefined, 204);
      await ok(tenant, 'PUT', SETTINGS, { unknown_access_levels: 'reject' });
      assert.deepEqual(
        (await send(ctx.app, 'POST', TRANSACTION_PATH, headers, transaction('t4', 'another_unconfigured', { currency: 'USD', value: 1 }))).json(),
        envelope(400, 'paid_access_level_does_not_exist', ['non_field_errors', 'Paid access level `premium` does not exist']),
      );
      await ok(tenant, 'PUT', `${LEVELS}premium/`);
      profile = await record(transaction('t4', 'another_unconfigured', { currency: 'USD', value: 1 }));
      assert.equal(profile.total_revenue_usd, 27.39);
    });
  });
}
