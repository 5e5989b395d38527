import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { addressing, createTestContext, DATABASES, onDatabase, envelope, GRANT_PATH, PROFILE_PATH, REFUND_SAVER_PATH, REVOKE_PATH, send, type Tenant, type TestContext, TRANSACTION_PATH } from '../helpers.js';
import { assertVendorShape } from '../vendor-schemas.js';


const DAY = 86_400_000;
const iso = (time: number) => new Date(time).toISOString();

/** A monthly subscription bought `daysAgo` days ago, in US dollars. */
function subscription(id: string, overrides: Record<string, unknown> = {}, daysAgo = 10) {
  const purchased = Date.now() - daysAgo * DAY;
  return {
    purchase_type: 'subscription',
    store: 'app_store',
    environment: 'Production',
    store_product_id: 'premium_monthly',
    store_transaction_id: id,
    store_original_transaction_id: 'orig-1',
    price: { country: 'US', currency: 'USD', value: 4.99 },
    purchased_at: iso(purchased),
    originally_purchased_at: iso(purchased),
    expires_at: iso(purchased + 30 * DAY),
    renew_status: true,
    ...overrides,
  };
}

function oneTime(id: string, overrides: Record<string, unknown> = {}) {
  return {
    purchase_type: 'one_time_purchase',
    store: 'play_store',
    store_product_id: 'lifetime',
    store_transaction_id: id,
    store_original_transaction_id: id,
    price: { country: 'DE', currency: 'USD', value: 19.99 },
    purchased_at: iso(Date.now() - DAY),
    ...overrides,
  };
}

for (const kind of DATABASES) {
  describe(`purchase operations (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    const { byUser } = addressing(() => tenant);

    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    /** A new profile of the tenant, and the headers that address it. */
    async function newProfile() {
      const user = `user-${randomUUID()}`;
      const created = await send(ctx.app, 'POST', PROFILE_PATH, byUser(user), {});
      assert.equal(created.statusCode, 200, created.body);
      return byUser(user);
    }

    /** A call that must answer 200 with the vendor's ProfileResponse; answers the profile. */
    async function ok(path: string, headers: Record<string, string>, body: unknown) {
      const res = await send(ctx.app, 'POST', path, headers, body);
      assert.equal(res.statusCode, 200, res.body);
      const answer = res.json();
      assertVendorShape('ProfileResponse', answer);
      return answer.data;
    }

    async function profile(headers: Record<string, string>) {
      const res = await send(ctx.app, 'GET', PROFILE_PATH, headers);
      assert.equal(res.statusCode, 200, res.body);
      assertVendorShape('ProfileResponse', res.json());
      return res.json().data;
    }

    test('a subscription: the vendor Profile with its access level, subscription and revenue', async () => {
      const headers = await newProfile();
      const data = await ok(TRANSACTION_PATH, headers, subscription('s-1'));
      assert.equal(data.total_revenue_usd, 4.99);
      assert.equal(data.access_levels.length, 1);
      const [level] = data.access_levels;
      assert.equal(level.access_level_id, 'premium');
      assert.equal(level.is_active, true);
      assert.equal(level.is_lifetime, false);
      assert.equal(level.store_transaction_id, 's-1');
      assert.equal(data.subscriptions.length, 1);
      assert.equal(data.subscriptions[0].store_original_transaction_id, 'orig-1');
      assert.equal(data.subscriptions[0].environment, 'Production');
      assert.deepEqual(data.non_subscriptions, []);
      // GET answers the same revenue half.
      const read = await profile(headers);
      assert.deepEqual(read.access_levels, data.access_levels);
      assert.equal(read.total_revenue_usd, 4.99);
    });

    test('a transaction sent twice counts once; an update changes it; a renewal counts again', async () => {
      const headers = await newProfile();
      await ok(TRANSACTION_PATH, headers, subscription('tw-1'));
      let data = await ok(TRANSACTION_PATH, headers, subscription('tw-1'));
      assert.equal(data.total_revenue_usd, 4.99);
      // The same transaction with a billing issue: updated in place, counted once.
      const billing = iso(Date.now() - DAY);
      data = await ok(TRANSACTION_PATH, headers, subscription('tw-1', { billing_issue_detected_at: billing, renew_status: false, renew_status_changed_at: billing }));
      assert.equal(data.total_revenue_usd, 4.99);
      assert.equal(data.subscriptions.length, 1);
      assert.equal(data.subscriptions[0].billing_issue_detected_at, billing);
      assert.equal(data.subscriptions[0].renewal_cancelled_at, billing);
      // A renewal is a new store transaction id of the same subscription: it counts, and the
      // subscription shows the newest transaction.
      data = await ok(TRANSACTION_PATH, headers, subscription('tw-2', {}, 2));
      assert.equal(data.total_revenue_usd, 9.98);
      assert.equal(data.subscriptions.length, 1);
      assert.equal(data.subscriptions[0].store_transaction_id, 'tw-2');
      const rows = await ctx.store.revenue.stats(tenant.appId);
      assert.ok(rows.transactions.length > 0);
    });

    test('a refund takes its revenue away and ends the access it gave', async () => {
      const headers = await newProfile();
      await ok(TRANSACTION_PATH, headers, oneTime('rf-o-1'));
      let data = await ok(TRANSACTION_PATH, headers, subscription('rf-1'));
      assert.equal(data.total_revenue_usd, 24.98);
      const refunded = iso(Date.now() - 60_000);
      data = await ok(TRANSACTION_PATH, headers, subscription('rf-1', { refunded_at: refunded, cancellation_reason: 'refund' }));
      assert.equal(data.total_revenue_usd, 19.99);
      assert.equal(data.subscriptions[0].cancellation_reason, 'refund');
      assert.equal(data.subscriptions[0].is_active, false);
      // premium stays active through the one-time purchase (lifetime), which now stands for it.
      const [level] = data.access_levels;
      assert.equal(level.is_active, true);
      assert.equal(level.is_lifetime, true);
      assert.equal(level.store_transaction_id, 'rf-o-1');
      data = await ok(TRANSACTION_PATH, headers, oneTime('rf-o-1', { refunded_at: refunded, cancellation_reason: 'refund' }));
      assert.equal(data.total_revenue_usd, 0);
      assert.equal(data.access_levels[0].is_active, false);
      assert.equal(data.non_subscriptions[0].is_refund, true);
    });

    test('a one-time purchase is a non-subscription with a stable purchase id and lifetime access', async () => {
      const headers = await newProfile();
      const first = await ok(TRANSACTION_PATH, headers, oneTime('o-2'));
      const again = await ok(TRANSACTION_PATH, headers, oneTime('o-2'));
      assert.equal(first.non_subscriptions.length, 1);
      assert.equal(first.non_subscriptions[0].purchase_id, again.non_subscriptions[0].purchase_id);
      assert.equal(first.non_subscriptions[0].is_consumable, false);
      assert.equal(first.access_levels[0].expires_at, null);
      assert.equal(first.access_levels[0].is_lifetime, true);
    });

    test('sandbox never counts; other currencies convert at the app rate; a missing rate is a clear 400', async () => {
      const headers = await newProfile();
      let data = await ok(TRANSACTION_PATH, headers, oneTime('sb-1', { environment: 'Sandbox', price: { country: 'FR', currency: 'EUR', value: 5 } }));
      assert.equal(data.total_revenue_usd, 0);
      assert.equal(data.non_subscriptions[0].environment, 'Sandbox');
      const missing = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, oneTime('eur-1', { price: { country: 'FR', currency: 'eur', value: 10 } }));
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().error_code, 'validation_error');
      assert.equal(missing.json().errors[0].source, 'price.currency');
      assert.match(missing.json().errors[0].errors[0], /No exchange rate to USD is set for EUR/);
      await ctx.store.revenue.setRate(tenant.appId, 'EUR', 1.08);
      data = await ok(TRANSACTION_PATH, headers, oneTime('eur-1', { price: { country: 'FR', currency: 'eur', value: 10 } }));
      assert.equal(data.total_revenue_usd, 10.8);
      // A free price needs no rate.
      data = await ok(TRANSACTION_PATH, headers, oneTime('jpy-0', { price: { country: 'JP', currency: 'JPY', value: 0 } }));
      assert.equal(data.total_revenue_usd, 10.8);
    });

    test('a transaction held by another profile of the app is refused; another app may hold the same id', async () => {
      const owner = await newProfile();
      await ok(TRANSACTION_PATH, owner, oneTime('shared-1'));
      const other = await newProfile();
      const res = await send(ctx.app, 'POST', TRANSACTION_PATH, other, oneTime('shared-1'));
      assert.deepEqual(res.json(), envelope(400, 'validation_error', ['store_transaction_id', 'This transaction is recorded for another profile of this app.']));
      const foreign = await ctx.newTenant();
      const user = `user-${randomUUID()}`;
      const headers = { ...foreign.auth, 'adapty-customer-user-id': user };
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
      assert.equal((await send(ctx.app, 'POST', TRANSACTION_PATH, headers, oneTime('shared-1'))).statusCode, 200);
    });

    test("the vendor's rules, each with its own code, checked after the schema", async () => {
      const headers = await newProfile();
      const purchased = Date.parse(subscription('x').purchased_at);
      const before = iso(purchased - DAY);
      const cases: [Record<string, unknown>, string, string][] = [
        [oneTime('r-1', { store_original_transaction_id: 'other' }), 'store_transaction_id_error', 'store_transaction_id'],
        [oneTime('r-2', { offer: { category: 'introductory', type: 'free_trial' }, price: { country: 'US', currency: 'USD', value: 0 } }), 'one_time_purchase_trial_error', 'offer.type'],
        [subscription('r-3', { offer: { category: 'introductory', type: 'free_trial' } }), 'free_trial_price_error', 'price.value'],
        [subscription('r-4', { is_family_shared: true }), 'family_share_price_error', 'price.value'],
        [subscription('r-5', { offer: { category: 'promotional', type: 'pay_as_you_go', id: null } }), 'missing_offer_id', 'offer.id'],
        [subscription('r-6', { originally_purchased_at: iso(purchased + 1000) }), 'originally_purchased_date_error', 'originally_purchased_at'],
        [subscription('r-7', { expires_at: before }), 'expires_date_error', 'expires_at'],
        [subscription('r-8', { renew_status_changed_at: before }), 'renew_status_changed_date_error', 'renew_status_changed_at'],
        [subscription('r-9', { billing_issue_detected_at: before }), 'billing_issue_detected_at_date_comparison_error', 'billing_issue_detected_at'],
        [subscription('r-10', { grace_period_expires_at: iso(Date.now() + DAY) }), 'grace_period_billing_error', 'grace_period_expires_at'],
        [
          subscription('r-11', { billing_issue_detected_at: iso(purchased + DAY), grace_period_expires_at: iso(purchased + 2 * DAY) }),
          'grace_period_expires_date_error',
          'grace_period_expires_at',
        ],
        [subscription('r-12', { refunded_at: iso(Date.now()) }), 'refund_fields_error', 'refunded_at'],
        [subscription('r-13', { refunded_at: before, cancellation_reason: 'refund' }), 'refund_date_error', 'refunded_at'],
      ];
      for (const [body, code, source] of cases) {
        const res = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, body);
        assert.equal(res.statusCode, 400, `${code}: ${res.body}`);
        assert.equal(res.json().error_code, code, res.body);
        assert.equal(res.json().status_code, 400);
        assert.equal(res.json().errors[0].source, source, res.body);
      }
      // Nothing of it was written.
      assert.deepEqual((await profile(headers)).subscriptions, []);
    });

    test('schema problems are reported together, per field, before any rule', async () => {
      const headers = await newProfile();
      const res = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, {
        ...subscription('v-1'),
        store_transaction_id: 'x'.repeat(51),
        price: { country: 'XX', currency: 'dollars', value: -1 },
        expires_at: 'tomorrow',
        renew_status: 'yes',
        environment: 'Staging',
      });
      assert.deepEqual(res.json(), envelope(
        400,
        'validation_error',
        ['environment', 'Must be one of: Production, Sandbox.'],
        ['store_transaction_id', 'Ensure this field has no more than 50 characters.'],
        ['price.country', 'Must be a two-letter ISO 3166-1 alpha-2 country code.'],
        ['price.currency', 'Must be a three-letter ISO 4217 currency code.'],
        ['price.value', 'Must be a number from 0 to 1000000000000.'],
        ['expires_at', 'Must be a date-time such as 2024-01-15T10:30:00Z.'],
        ['renew_status', 'Must be a boolean.'],
      ));
      const missing = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, { purchase_type: 'subscription' });
      assert.equal(missing.statusCode, 400);
      const sources = missing.json().errors.map((item: { source: string }) => item.source);
      assert.deepEqual(sources, [
        'store', 'store_product_id', 'store_transaction_id', 'store_original_transaction_id', 'price', 'purchased_at',
        'originally_purchased_at', 'expires_at', 'renew_status',
      ]);
      const wrongType = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, { ...oneTime('v-2'), purchase_type: 'rental' });
      assert.deepEqual(wrongType.json(), envelope(400, 'validation_error', ['purchase_type', 'Must be one of: one_time_purchase, subscription.']));
    });

    test('every operation answers a missing profile with 400 profile_does_not_exist', async () => {
      const nobody = byUser(`nobody-${randomUUID()}`);
      const notFound = envelope(400, 'profile_does_not_exist', ['non_field_errors', 'Profile not found']);
      assert.deepEqual((await send(ctx.app, 'POST', TRANSACTION_PATH, nobody, oneTime('n-1'))).json(), notFound);
      assert.deepEqual((await send(ctx.app, 'POST', GRANT_PATH, nobody, { access_level_id: 'premium' })).json(), notFound);
      assert.deepEqual((await send(ctx.app, 'POST', REVOKE_PATH, nobody, { access_level_id: 'premium' })).json(), notFound);
      const saver = envelope(400, 'profile_does_not_exist', ['non_field_errors', 'Profile does not exist']);
      assert.deepEqual((await send(ctx.app, 'GET', REFUND_SAVER_PATH, nobody)).json(), saver);
      assert.deepEqual((await send(ctx.app, 'POST', REFUND_SAVER_PATH, nobody, { consent: true })).json(), saver);
      // The headers are checked first, as on every profile operation.
      const res = await send(ctx.app, 'POST', GRANT_PATH, tenant.auth, { access_level_id: 'premium' });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().errors[0].source, 'non_field_errors');
      assert.match(res.json().errors[0].errors[0], /adapty-customer-user-id/);
    });

    test('grants: immediate and lifetime, for a span, scheduled, already over', async () => {
      const headers = await newProfile();
      let data = await ok(GRANT_PATH, headers, { access_level_id: 'gold' });
      assert.deepEqual(
        data.access_levels.map((l: Record<string, unknown>) => [l.access_level_id, l.is_active, l.is_lifetime, l.store, l.expires_at]),
        [['gold', true, true, 'adapty', null]],
      );
      const ends = iso(Date.now() + 7 * DAY);
      data = await ok(GRANT_PATH, headers, { access_level_id: 'silver', expires_at: ends });
      const silver = data.access_levels.find((l: { access_level_id: string }) => l.access_level_id === 'silver');
      assert.equal(silver.is_active, true);
      assert.equal(silver.expires_at, ends);
      const starts = iso(Date.now() + DAY);
      data = await ok(GRANT_PATH, headers, { access_level_id: 'bronze', starts_at: starts, expires_at: ends });
      const bronze = data.access_levels.find((l: { access_level_id: string }) => l.access_level_id === 'bronze');
      assert.equal(bronze.is_active, false);
      assert.equal(bronze.starts_at, starts);
      data = await ok(GRANT_PATH, headers, { access_level_id: 'past', starts_at: iso(Date.now() - 2 * DAY), expires_at: iso(Date.now() - DAY) });
      assert.equal(data.access_levels.find((l: { access_level_id: string }) => l.access_level_id === 'past').is_active, false);
      // A grant does not count as revenue.
      assert.equal(data.total_revenue_usd, 0);
      const backwards = await send(ctx.app, 'POST', GRANT_PATH, headers, { access_level_id: 'x', starts_at: ends, expires_at: starts });
      assert.deepEqual(backwards.json(), envelope(400, 'validation_error', ['non_field_errors', 'expires_at must be later than starts_at.']));
      const blank = await send(ctx.app, 'POST', GRANT_PATH, headers, { access_level_id: '' });
      assert.deepEqual(blank.json(), envelope(400, 'validation_error', ['access_level_id', 'Must be a non-empty string.']));
    });

    test('revocations: now, later, and every refusal the vendor names', async () => {
      const headers = await newProfile();
      await ok(TRANSACTION_PATH, headers, subscription('rv-1'));
      const expires = Date.parse(subscription('rv-1').expires_at);
      const later = await send(ctx.app, 'POST', REVOKE_PATH, headers, { access_level_id: 'premium', revoke_at: iso(expires + DAY) });
      assert.deepEqual(later.json(), envelope(400, 'revocation_date_more_than_expiration_date', ['revoke_at', 'Must not be later than the access level expires.']));
      const past = await send(ctx.app, 'POST', REVOKE_PATH, headers, { access_level_id: 'premium', revoke_at: iso(Date.now() - DAY) });
      assert.deepEqual(past.json(), envelope(400, 'value_error', [null, 'Must be greater than the current time or null']));
      const unknown = await send(ctx.app, 'POST', REVOKE_PATH, headers, { access_level_id: 'never-configured' });
      assert.deepEqual(unknown.json(), envelope(400, 'paid_access_level_does_not_exist', ['non_field_errors', 'Paid access level `never-configured` does not exist']));
      await ctx.store.revenue.addAccessLevel(tenant.appId, 'platinum');
      const lacking = await send(ctx.app, 'POST', REVOKE_PATH, headers, { access_level_id: 'platinum' });
      assert.deepEqual(lacking.json(), envelope(400, 'profile_paid_access_level_does_not_exist', ['non_field_errors', 'The profile has no access level `platinum`']));

      const soon = iso(Date.now() + DAY);
      let data = await ok(REVOKE_PATH, headers, { access_level_id: 'premium', revoke_at: soon });
      assert.equal(data.access_levels[0].is_active, true);
      assert.equal(data.access_levels[0].expires_at, soon);
      data = await ok(REVOKE_PATH, headers, { access_level_id: 'premium' });
      assert.equal(data.access_levels[0].is_active, false);
      assert.equal(data.access_levels[0].cancellation_reason, 'adapty_revoked');
      // Revenue is untouched by a revocation; a later purchase gives the access again.
      assert.equal(data.total_revenue_usd, 4.99);
      data = await ok(TRANSACTION_PATH, headers, subscription('rv-2', {}, 1));
      assert.equal(data.access_levels[0].is_active, true);
    });

    test("an app that refuses unknown access levels answers paid_access_level_does_not_exist", async () => {
      const strict = await ctx.newTenant();
      await ctx.store.revenue.setUnknownAccessLevelMode(strict.appId, 'reject');
      const headers = { ...strict.auth, 'adapty-customer-user-id': 'strict-user' };
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
      const grant = await send(ctx.app, 'POST', GRANT_PATH, headers, { access_level_id: 'gold' });
      assert.deepEqual(grant.json(), envelope(400, 'paid_access_level_does_not_exist', ['non_field_errors', 'Paid access level `gold` does not exist']));
      // An unconfigured product unlocks premium, which this app has not configured either.
      const purchase = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, oneTime('strict-1'));
      assert.equal(purchase.json().error_code, 'paid_access_level_does_not_exist');
      await ctx.store.revenue.addAccessLevel(strict.appId, 'gold');
      assert.equal((await send(ctx.app, 'POST', GRANT_PATH, headers, { access_level_id: 'gold' })).statusCode, 200);
      assert.deepEqual((await ctx.store.revenue.listAccessLevels(strict.appId)).map((level) => level.id), ['gold']);
    });

    test('Refund Saver settings: defaults, partial changes, validation', async () => {
      const headers = await newProfile();
      const read = async () => {
        const res = await send(ctx.app, 'GET', REFUND_SAVER_PATH, headers);
        assert.equal(res.statusCode, 200, res.body);
        assertVendorShape('RefundSaverSettingsResponse', res.json());
        return res.json();
      };
      const initial = await read();
      assert.deepEqual(initial.settings, { consent: false, custom_preference: 'no_preference' });
      let res = await send(ctx.app, 'POST', REFUND_SAVER_PATH, headers, { custom_preference: 'grant' });
      assert.deepEqual(res.json(), { profile_id: initial.profile_id, settings: { consent: false, custom_preference: 'grant' } });
      res = await send(ctx.app, 'POST', REFUND_SAVER_PATH, headers, { consent: true, custom_preference: null });
      assert.deepEqual(res.json().settings, { consent: true, custom_preference: 'grant' });
      assert.deepEqual((await read()).settings, { consent: true, custom_preference: 'grant' });
      const neither = envelope(400, 'validation_error', ['non_field_errors', 'Set consent, custom_preference, or both.']);
      assert.deepEqual((await send(ctx.app, 'POST', REFUND_SAVER_PATH, headers, {})).json(), neither);
      assert.deepEqual((await send(ctx.app, 'POST', REFUND_SAVER_PATH, headers, { consent: null })).json(), neither);
      const bad = await send(ctx.app, 'POST', REFUND_SAVER_PATH, headers, { custom_preference: 'maybe', consent: 'yes' });
      assert.deepEqual(bad.json(), envelope(
        400,
        'validation_error',
        ['custom_preference', 'Must be one of: grant, no_preference, decline.'],
        ['consent', 'Must be a boolean or null.'],
      ));
    });

    test('deleting a profile deletes its purchases, grants and settings', async () => {
      const headers = await newProfile();
      await ok(TRANSACTION_PATH, headers, oneTime('del-1'));
      await ok(GRANT_PATH, headers, { access_level_id: 'gold' });
      assert.equal((await send(ctx.app, 'POST', REFUND_SAVER_PATH, headers, { consent: true })).statusCode, 200);
      assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, headers)).statusCode, 204);
      // The transaction id is free again for another profile.
      const other = await newProfile();
      const data = await ok(TRANSACTION_PATH, other, oneTime('del-1'));
      assert.equal(data.non_subscriptions.length, 1);
    });
  });
}
