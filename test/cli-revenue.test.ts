import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, DATABASES, onDatabase, envelope, profileOk, send, type TestContext, TRANSACTION_PATH } from './helpers.js';
import { runCliProcess } from './process-helpers.js';
import { databaseUrl } from './webhooks/support.js';


for (const kind of DATABASES) {
  describe(`crosswalk revenue (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    before(async () => (ctx = await createTestContext(kind)));
    after(() => ctx.close());

    /** A new app of its own, and `crosswalk revenue …` on it: as run, as printed (exit code 0), as JSON. */
    async function newApp() {
      const tenant = await ctx.newTenant();
      const name = (await ctx.store.findApp(tenant.appId))!.name;
      const cli = (...args: string[]) => runCliProcess(['--database-url', databaseUrl(ctx.database), 'revenue', ...args, '--app', tenant.appId]);
      const printed = async (...args: string[]) => {
        const run = await cli(...args);
        assert.equal(run.code, 0, run.stderr);
        return run.stdout;
      };
      const json = async (...args: string[]) => JSON.parse(await printed(...args, '--json'));
      return { tenant, name, cli, printed, json };
    }

    test('access levels: add (twice changes nothing), list, remove', async () => {
      const { name, printed, json } = await newApp();
      assert.equal(await printed('access-levels', 'add', 'vip'), `added access level "vip" to app "${name}"\n`);
      const again = await json('access-levels', 'add', 'vip');
      assert.equal(again.created, false);
      assert.equal(again.accessLevel.id, 'vip');
      assert.deepEqual(await json('access-levels', 'list'), [again.accessLevel]);
      assert.match(await printed('access-levels', 'list'), /^ACCESS LEVEL +CREATED\nvip +\d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
      assert.equal(await printed('access-levels', 'remove', 'vip'), 'removed access level "vip"\n');
      assert.equal(await printed('access-levels', 'list'), '(none)\n');
    });

    test('products: set with an access level or none, list, remove', async () => {
      const { name, printed, json } = await newApp();
      assert.equal(
        await printed('products', 'set', 'pro_monthly', '--access-level', 'pro'),
        `product "pro_monthly" of app "${name}" unlocks access level "pro"\naccess level "pro" was configured with it\n`,
      );
      const coins = await json('products', 'set', 'coins_100', '--no-access-level', '--consumable');
      assert.deepEqual(coins, { product: { storeProductId: 'coins_100', accessLevelId: null, isConsumable: true }, accessLevelCreated: false });
      assert.equal(await printed('products', 'list'), 'STORE PRODUCT ID  ACCESS LEVEL  CONSUMABLE\ncoins_100         (none)        yes\npro_monthly       pro           no\n');
      assert.deepEqual(await json('products', 'list'), [coins.product, { storeProductId: 'pro_monthly', accessLevelId: 'pro', isConsumable: false }]);
      assert.equal(await printed('products', 'remove', 'pro_monthly'), 'removed product "pro_monthly"\n');
      assert.deepEqual((await json('products', 'list')).map((product: { storeProductId: string }) => product.storeProductId), ['coins_100']);
    });

    test('products, rates and unknown-access-levels set with the CLI take effect on the next request', async () => {
      const { tenant, printed, json } = await newApp();
      await printed('products', 'set', 'coins_100', '--no-access-level', '--consumable');
      const rate = await json('rates', 'set', 'eur', '1.08');
      assert.equal(rate.currency, 'EUR');
      assert.equal(rate.usdPerUnit, 1.08);
      assert.match(await printed('rates', 'set', 'JPY', '6.7e-3'), /^1 JPY = 0\.0067 USD for app /);
      assert.match(await printed('rates', 'list'), /^CURRENCY +USD PER UNIT +UPDATED\nEUR +1\.08 +\S+\nJPY +0\.0067 +\S+\n$/);
      assert.equal(await printed('rates', 'remove', 'jpy'), 'removed the rate of JPY\n');

      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'cli-revenue' };
      await profileOk(ctx.app, 'POST', headers, {});
      const body = (id: string, productId: string) => ({
        purchase_type: 'one_time_purchase', store: 'app_store', store_product_id: productId, store_transaction_id: id,
        store_original_transaction_id: id, price: { country: 'DE', currency: 'EUR', value: 10 }, purchased_at: '2026-11-15T10:30:00Z',
      });
      const first = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, body('c1', 'coins_100'));
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(first.json().data.total_revenue_usd, 10.8);
      assert.deepEqual(first.json().data.access_levels, []);

      assert.match(await printed('unknown-access-levels'), /: create: an access level id never configured is configured on first use\n$/);
      assert.deepEqual(await json('unknown-access-levels', 'reject'), { unknownAccessLevels: 'reject' });
      const refused = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, body('c2', 'not_configured'));
      assert.deepEqual(refused.json(), envelope(400, 'paid_access_level_does_not_exist', ['non_field_errors', 'Paid access level `premium` does not exist']));
      assert.deepEqual(await json('unknown-access-levels'), { unknownAccessLevels: 'reject' });
    });

    test('mistakes are one clear line and exit code 1, and change nothing', async () => {
      const { tenant, name: app, cli, printed } = await newApp();
      await printed('unknown-access-levels', 'reject');
      // What the admin API answers for the same app, before and after.
      const configuration = () =>
        Promise.all(['access-levels', 'products', 'currency-rates', 'settings'].map(async (part) => (await send(ctx.app, 'GET', `/crosswalk/v1/revenue/${part}/`, tenant.auth)).json()));
      const before = await configuration();
      const cases: [string[], string][] = [
        [['access-levels', 'add', 'x'.repeat(101)], '<access_level_id>: Ensure this field has no more than 100 characters.'],
        [['access-levels', 'remove', 'never'], `app "${app}" has no access level "never" (see "crosswalk revenue access-levels list")`],
        [['products', 'set', 'p1'], 'say what the product unlocks: --access-level <access_level_id> or --no-access-level'],
        [['products', 'set', 'p1', '--access-level', ''], '--access-level: Must be a non-empty string.'],
        [['products', 'set', 'p1', '--access-level', 'gold'], '--access-level: Paid access level `gold` does not exist, and this app refuses access levels it does not know: add it first.'],
        [['products', 'set', 'p'.repeat(257), '--no-access-level'], '<store_product_id>: Ensure this field has no more than 256 characters.'],
        [['products', 'remove', 'never'], `app "${app}" has no product "never" (see "crosswalk revenue products list")`],
        [['rates', 'set', 'USD', '1'], '<currency>: USD needs no rate: it is always 1 US dollar per unit.'],
        [['rates', 'set', 'EURO', '1'], '<currency>: Must be a three-letter ISO 4217 currency code.'],
        [['rates', 'set', 'CHF', '0'], '<usd_per_unit>: Must be a number greater than 0 and at most 1000000: US dollars for one unit of the currency.'],
        [['rates', 'set', 'CHF', '1,1'], '<usd_per_unit>: Must be a number greater than 0 and at most 1000000: US dollars for one unit of the currency.'],
        [['rates', 'remove', 'chf'], `app "${app}" has no rate for CHF (see "crosswalk revenue rates list")`],
        [['unknown-access-levels', 'ignore'], '<mode>: Must be one of: create, reject.'],
      ];
      for (const [args, expected] of cases) {
        const run = await cli(...args);
        assert.equal(run.code, 1, args.join(' '));
        assert.equal(run.stderr, `crosswalk: ${expected}\n`, args.join(' '));
      }
      assert.deepEqual(await configuration(), before);
    });
  });
}
