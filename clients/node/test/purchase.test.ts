import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AccessLevel,
  CrosswalkAccessLevelError,
  CrosswalkClient,
  CrosswalkError,
  CrosswalkNotFoundError,
  CrosswalkTransactionError,
  CrosswalkValidationError,
  type NonSubscription,
  type Profile,
  type RefundSaverSettingsRequest,
  type Subscription,
  type SubscriptionTransaction,
  type TransactionRequest,
} from '../src/index.js';
import { subscriptionBody } from '../../../test/helpers.js';
import { type Crosswalk, failure, startCrosswalk, userId } from './support.js';

/**
 * Never called: `tsc --noEmit -p clients/node/tsconfig.json` checks that the types refuse what
 * they should (each @ts-expect-error fails the type check if its line compiles).
 */
export function typeChecks(client: CrosswalkClient, profile: Profile, error: CrosswalkTransactionError): void {
  const address = { customerUserId: 'u' };
  const price = { country: 'US', currency: 'USD', value: 1 };
  const oneTime = {
    purchase_type: 'one_time_purchase',
    store: 'my_store',
    store_product_id: 'p',
    store_transaction_id: 't',
    store_original_transaction_id: 't',
    price,
    purchased_at: '2024-01-01T00:00:00Z',
  } as const;
  void client.setTransaction(address, oneTime);
  // @ts-expect-error a subscription needs expires_at, originally_purchased_at and renew_status
  void client.setTransaction(address, { ...oneTime, purchase_type: 'subscription' });
  // @ts-expect-error purchase_type is one of two
  void client.setTransaction(address, { ...oneTime, purchase_type: 'consumable' });
  // @ts-expect-error environment is Production or Sandbox
  void client.setTransaction(address, { ...oneTime, environment: 'Staging' });
  // @ts-expect-error an offer's type is one of the vendor's
  void client.setTransaction(address, { ...oneTime, offer: { category: 'introductory', type: 'discount' } });
  // @ts-expect-error the access level is named
  void client.grantAccessLevel(address, { expires_at: null });
  // @ts-expect-error revoke takes revoke_at, not expires_at
  void client.revokeAccessLevel(address, { access_level_id: 'premium', expires_at: null });
  // @ts-expect-error at least one setting is given
  void client.setRefundSaverSettings(address, {});
  // @ts-expect-error custom_preference is grant, no_preference or decline
  void client.setRefundSaverSettings(address, { custom_preference: 'maybe' });
  void client.setRefundSaverSettings(address, { consent: null, custom_preference: 'decline' });
  const level: AccessLevel | undefined = profile.access_levels[0];
  const subscription: Subscription | undefined = profile.subscriptions[0];
  const purchase: NonSubscription | undefined = profile.non_subscriptions[0];
  void [level?.expires_at satisfies string | null | undefined, subscription?.environment, purchase?.is_refund];
  // @ts-expect-error the transaction error's code is one of the transaction codes
  const code: 'validation_error' = error.errorCode;
  void code;
}

/** A monthly subscription period that is active now, with a transaction id of its own. */
const subscription = (transactionId: string, changes: Partial<SubscriptionTransaction> = {}): SubscriptionTransaction =>
  subscriptionBody(transactionId, changes);

describe('purchase operations against the real server', () => {
  let server: Crosswalk;
  let client: CrosswalkClient;
  before(async () => {
    server = await startCrosswalk();
    client = server.client();
  });
  after(() => server?.stop());

  /** A new profile of the suite's app, by customer user id. */
  async function newProfile(label: string) {
    const address = { customerUserId: userId(label) };
    const profile = await client.createProfile(address);
    return { address, profile };
  }

  test('setTransaction records a subscription and a one-time purchase; sent again, it counts once', async () => {
    const { address, profile } = await newProfile('transaction');
    const recorded = await client.setTransaction(address, subscription('sub-1'));
    assert.equal(recorded.profile_id, profile.profile_id);
    assert.equal(recorded.total_revenue_usd, 9.99);
    // What the access level and the subscription both say of the transaction.
    const period = {
      store: 'app_store',
      store_product_id: 'monthly',
      store_base_plan_id: null,
      store_transaction_id: 'sub-1',
      store_original_transaction_id: 'sub-1',
      offer: null,
      purchased_at: '2024-01-01T00:00:00.000Z',
      originally_purchased_at: '2024-01-01T00:00:00.000Z',
      expires_at: '2099-01-01T00:00:00.000Z',
      renewal_cancelled_at: null,
      billing_issue_detected_at: null,
      is_in_grace_period: false,
      cancellation_reason: null,
      is_active: true,
    };
    assert.deepEqual(recorded.access_levels, [
      { ...period, access_level_id: 'premium', is_lifetime: false, starts_at: '2024-01-01T00:00:00.000Z' } satisfies AccessLevel,
    ]);
    assert.deepEqual(recorded.subscriptions, [{ ...period, environment: 'Production' } satisfies Subscription]);

    const again = await client.setTransaction(address, subscription('sub-1'));
    assert.equal(again.total_revenue_usd, 9.99);

    const coins: TransactionRequest = {
      purchase_type: 'one_time_purchase',
      store: 'my_store',
      environment: 'Production',
      store_product_id: 'coins',
      store_transaction_id: 'buy-1',
      store_original_transaction_id: 'buy-1',
      price: { country: 'US', currency: 'usd', value: 0.5 },
      purchased_at: '2024-02-01T12:00:00',
    };
    const both = await client.setTransaction(address, coins);
    assert.equal(both.total_revenue_usd, 10.49);
    assert.equal(both.non_subscriptions.length, 1);
    const [purchase] = both.non_subscriptions as [NonSubscription];
    assert.match(purchase.purchase_id, /^[0-9a-f-]{36}$/);
    assert.deepEqual({ ...purchase, purchase_id: 'id' }, {
      purchase_id: 'id',
      store: 'my_store',
      store_product_id: 'coins',
      store_base_plan_id: null,
      store_transaction_id: 'buy-1',
      store_original_transaction_id: 'buy-1',
      purchased_at: '2024-02-01T12:00:00.000Z',
      environment: 'Production',
      is_refund: false,
      is_consumable: false,
    } satisfies NonSubscription);
    // What the write answered is what a read answers.
    assert.deepEqual({ ...(await client.getProfile(address)), timestamp: 0 }, { ...both, timestamp: 0 });
  });

  test('setTransaction: a rule broken is a CrosswalkTransactionError naming the field; a missing profile is a 400 CrosswalkNotFoundError', async () => {
    const { address } = await newProfile('transaction-error');
    const trial = await failure(
      client.setTransaction(address, subscription('trial-1', { offer: { category: 'introductory', type: 'free_trial' } })),
    );
    assert.ok(trial instanceof CrosswalkTransactionError);
    assert.equal(trial.status, 400);
    assert.equal(trial.errorCode, 'free_trial_price_error');
    assert.deepEqual(trial.errors, [{ source: 'price.value', errors: ['A free trial must have a price of 0.'] }]);

    const refund = await failure(client.setTransaction(address, subscription('refund-1', { refunded_at: '2024-01-02T00:00:00Z' })));
    assert.ok(refund instanceof CrosswalkTransactionError);
    assert.equal(refund.errorCode, 'refund_fields_error');
    assert.deepEqual(refund.messagesFor('refunded_at'), ['refunded_at and cancellation_reason "refund" must be given together.']);
    // Nothing was recorded by the refused calls.
    assert.deepEqual((await client.getProfile(address)).subscriptions, []);

    const missing = await failure(client.setTransaction({ customerUserId: userId('nobody') }, subscription('ghost-1')));
    assert.ok(missing instanceof CrosswalkNotFoundError);
    assert.equal(missing.status, 400);
    assert.equal(missing.errorCode, 'profile_does_not_exist');
    assert.deepEqual(missing.body, {
      errors: [{ source: 'non_field_errors', errors: ['Profile not found'] }],
      error_code: 'profile_does_not_exist',
      status_code: 400,
    });
  });

  test('grantAccessLevel gives a level for a span or for life; expires_at before starts_at is a CrosswalkValidationError', async () => {
    const { address } = await newProfile('grant');
    const span = await client.grantAccessLevel(address, { access_level_id: 'gold', expires_at: '2099-06-01T00:00:00Z' });
    const [gold] = span.access_levels as [AccessLevel];
    assert.deepEqual(
      [gold.access_level_id, gold.store, gold.is_active, gold.is_lifetime, gold.expires_at, gold.store_transaction_id],
      ['gold', 'adapty', true, false, '2099-06-01T00:00:00.000Z', ''],
    );
    assert.equal(span.total_revenue_usd, 0);
    const lifetime = await client.grantAccessLevel(address, { access_level_id: 'gold', starts_at: null, expires_at: null });
    assert.deepEqual(
      lifetime.access_levels.map((level) => [level.access_level_id, level.is_active, level.is_lifetime, level.expires_at]),
      [['gold', true, true, null]],
    );

    const backwards = await failure(
      client.grantAccessLevel(address, { access_level_id: 'gold', starts_at: '2099-01-02T00:00:00Z', expires_at: '2099-01-01T00:00:00Z' }),
    );
    assert.ok(backwards instanceof CrosswalkValidationError);
    assert.equal(backwards.errorCode, 'validation_error');
    assert.deepEqual(backwards.messagesFor('non_field_errors'), ['expires_at must be later than starts_at.']);

    const missing = await failure(client.grantAccessLevel({ customerUserId: userId('nobody') }, { access_level_id: 'gold' }));
    assert.ok(missing instanceof CrosswalkNotFoundError);
    assert.equal(missing.status, 400);
  });

  test('revokeAccessLevel ends a level now or later; its refusals are typed', async () => {
    const { address } = await newProfile('revoke');
    await client.grantAccessLevel(address, { access_level_id: 'silver', expires_at: '2099-06-01T00:00:00Z' });
    const later = await client.revokeAccessLevel(address, { access_level_id: 'silver', revoke_at: '2098-01-01T00:00:00Z' });
    assert.deepEqual(
      later.access_levels.map((level) => [level.is_active, level.expires_at, level.cancellation_reason]),
      [[true, '2098-01-01T00:00:00.000Z', 'adapty_revoked']],
    );

    const tooLate = await failure(client.revokeAccessLevel(address, { access_level_id: 'silver', revoke_at: '2099-01-01T00:00:00Z' }));
    assert.ok(tooLate instanceof CrosswalkAccessLevelError);
    assert.equal(tooLate.errorCode, 'revocation_date_more_than_expiration_date');
    assert.deepEqual(tooLate.messagesFor('revoke_at'), ['Must not be later than the access level expires.']);

    const past = await failure(client.revokeAccessLevel(address, { access_level_id: 'silver', revoke_at: '2020-01-01T00:00:00Z' }));
    assert.ok(past instanceof CrosswalkValidationError);
    assert.equal(past.errorCode, 'value_error');
    assert.deepEqual(past.errors, [{ source: null, errors: ['Must be greater than the current time or null'] }]);

    const unknown = await failure(client.revokeAccessLevel(address, { access_level_id: 'no-such-level' }));
    assert.ok(unknown instanceof CrosswalkAccessLevelError);
    assert.equal(unknown.errorCode, 'paid_access_level_does_not_exist');
    assert.deepEqual(unknown.messagesFor('non_field_errors'), ['Paid access level `no-such-level` does not exist']);

    const other = await newProfile('revoke-other');
    const notHeld = await failure(client.revokeAccessLevel(other.address, { access_level_id: 'silver' }));
    assert.ok(notHeld instanceof CrosswalkAccessLevelError);
    assert.equal(notHeld.errorCode, 'profile_paid_access_level_does_not_exist');

    const now = await client.revokeAccessLevel(address, { access_level_id: 'silver' });
    assert.deepEqual(now.access_levels.map((level) => [level.access_level_id, level.is_active]), [['silver', false]]);
  });

  test('Refund Saver settings: defaults, one setting at a time, and their refusals', async () => {
    const { address, profile } = await newProfile('refund-saver');
    assert.deepEqual(await client.getRefundSaverSettings(address), {
      profile_id: profile.profile_id,
      settings: { consent: false, custom_preference: 'no_preference' },
    });
    assert.deepEqual(await client.setRefundSaverSettings(address, { consent: true }), {
      profile_id: profile.profile_id,
      settings: { consent: true, custom_preference: 'no_preference' },
    });
    const both = await client.setRefundSaverSettings({ profileId: profile.profile_id }, { consent: null, custom_preference: 'decline' });
    assert.deepEqual(both.settings, { consent: true, custom_preference: 'decline' });
    assert.deepEqual((await client.getRefundSaverSettings(address)).settings, { consent: true, custom_preference: 'decline' });

    const none = await failure(client.setRefundSaverSettings(address, {} as RefundSaverSettingsRequest));
    assert.ok(none instanceof CrosswalkValidationError);
    assert.deepEqual(none.messagesFor('non_field_errors'), ['Set consent, custom_preference, or both.']);

    const missing = { customerUserId: userId('nobody') };
    for (const call of [() => client.getRefundSaverSettings(missing), () => client.setRefundSaverSettings(missing, { consent: true })]) {
      const error = await failure(call());
      assert.ok(error instanceof CrosswalkNotFoundError);
      assert.equal(error.status, 400);
      assert.equal(error.message, '400 profile_does_not_exist: Profile does not exist');
    }
  });
});

describe('purchase operations on the wire', () => {
  test('each operation uses the vendor path with its trailing slash and sends its body as given', async () => {
    const sent: { method: string; url: string; body: string | undefined; cuid: string | null }[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      sent.push({ method: init!.method!, url: String(input), body: init!.body as string | undefined, cuid: new Headers(init!.headers).get('adapty-customer-user-id') });
      return new Response('{"data":{}}', { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const client = new CrosswalkClient({ baseUrl: 'https://api.example.test', apiKey: 'wire-key-0123456789', fetch });
    const address = { customerUserId: 'u-1' };
    await client.setTransaction(address, subscription('t-1'));
    await client.grantAccessLevel(address, { access_level_id: 'premium' });
    await client.revokeAccessLevel(address, { access_level_id: 'premium', revoke_at: null });
    await client.getRefundSaverSettings(address);
    await client.setRefundSaverSettings(address, { custom_preference: 'grant' });
    const purchase = 'https://api.example.test/api/v2/server-side-api/purchase/';
    assert.deepEqual(sent, [
      { method: 'POST', url: `${purchase}set/transaction/`, body: JSON.stringify(subscription('t-1')), cuid: 'u-1' },
      { method: 'POST', url: `${purchase}profile/grant/access-level/`, body: '{"access_level_id":"premium"}', cuid: 'u-1' },
      { method: 'POST', url: `${purchase}profile/revoke/access-level/`, body: '{"access_level_id":"premium","revoke_at":null}', cuid: 'u-1' },
      { method: 'GET', url: `${purchase}profile/refund-saver/settings/`, body: undefined, cuid: 'u-1' },
      { method: 'POST', url: `${purchase}profile/refund-saver/settings/`, body: '{"custom_preference":"grant"}', cuid: 'u-1' },
    ]);
  });

  test('every purchase error code is read as its typed error', async () => {
    const expected: [string, new (...args: never[]) => CrosswalkError][] = [
      ...[
        'store_transaction_id_error', 'one_time_purchase_trial_error', 'free_trial_price_error', 'family_share_price_error',
        'missing_offer_id', 'originally_purchased_date_error', 'expires_date_error', 'renew_status_changed_date_error',
        'billing_issue_detected_at_date_comparison_error', 'grace_period_billing_error', 'grace_period_expires_date_error',
        'refund_fields_error', 'refund_date_error',
      ].map((code): [string, typeof CrosswalkTransactionError] => [code, CrosswalkTransactionError]),
      ...['paid_access_level_does_not_exist', 'profile_paid_access_level_does_not_exist', 'revocation_date_more_than_expiration_date'].map(
        (code): [string, typeof CrosswalkAccessLevelError] => [code, CrosswalkAccessLevelError],
      ),
      ['value_error', CrosswalkValidationError],
      ['profile_does_not_exist', CrosswalkNotFoundError],
    ];
    for (const [code, type] of expected) {
      const body = { errors: [{ source: 'x', errors: ['m'] }], error_code: code, status_code: 400 };
      const fetch: typeof globalThis.fetch = async () => new Response(JSON.stringify(body), { status: 400 });
      const client = new CrosswalkClient({ baseUrl: 'https://api.example.test', apiKey: 'wire-key-0123456789', fetch });
      const error = await failure(client.setTransaction({ profileId: 'p' }, subscription('t')));
      assert.equal((error as Error).constructor, type, code);
      assert.equal((error as CrosswalkError).errorCode, code);
      assert.equal((error as CrosswalkError).status, 400);
    }
  });
});
