/**
 * Tenancy on the purchase routes: one app's key never reads or changes another app's profile, its
 * transactions, access levels or Refund Saver settings. Another app's profile is, to the key, a
 * profile that does not exist (400 profile_does_not_exist, as these routes answer it), however it
 * is addressed, and nothing of either app changes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { GRANT_PATH, REFUND_SAVER_PATH, REVOKE_PATH, TRANSACTION_PATH } from '../../src/http/routes/purchase.js';
import { createTestContext, DATABASES, onDatabase, envelope, PROFILE_PATH, send, subscriptionBody, type Tenant, type TestContext } from '../helpers.js';
import { addressingsOf, snapshot } from '../reliability/support.js';

interface Operation {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  /** A body that would succeed on the owner's profile. */
  body?: unknown;
  /** The words of a missing profile on this route. */
  message: 'Profile not found' | 'Profile does not exist';
}

const OPERATIONS: readonly Operation[] = [
  { name: 'set transaction', method: 'POST', path: TRANSACTION_PATH, body: subscriptionBody('intruder-tx'), message: 'Profile not found' },
  { name: 'grant access level', method: 'POST', path: GRANT_PATH, body: { access_level_id: 'gold' }, message: 'Profile not found' },
  { name: 'revoke access level', method: 'POST', path: REVOKE_PATH, body: { access_level_id: 'gold' }, message: 'Profile not found' },
  { name: 'get Refund Saver settings', method: 'GET', path: REFUND_SAVER_PATH, message: 'Profile does not exist' },
  { name: 'set Refund Saver settings', method: 'POST', path: REFUND_SAVER_PATH, body: { consent: false, custom_preference: 'decline' }, message: 'Profile does not exist' },
];

for (const kind of DATABASES) {
  describe(`purchase routes keep apps apart (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let owner: Tenant;
    let intruder: Tenant;

    before(async () => {
      ctx = await createTestContext(kind);
      owner = await ctx.newTenant();
      intruder = await ctx.newTenant();
    });
    after(() => ctx.close());

    /** A profile of the owner with a transaction, a grant of `gold` and Refund Saver settings. */
    async function ownerProfile() {
      const cuid = `owner-${randomUUID()}`;
      const transactionId = `owner-tx-${randomUUID().slice(0, 8)}`;
      const headers = { ...owner.auth, 'adapty-customer-user-id': cuid };
      const created = await send(ctx.app, 'POST', PROFILE_PATH, headers, {});
      assert.equal(created.statusCode, 200, created.body);
      for (const [path, body] of [
        [TRANSACTION_PATH, subscriptionBody(transactionId)],
        [GRANT_PATH, { access_level_id: 'gold', expires_at: '2099-01-01T00:00:00Z' }],
        [REFUND_SAVER_PATH, { consent: true, custom_preference: 'grant' }],
      ] as const) {
        const res = await send(ctx.app, 'POST', path, headers, body);
        assert.equal(res.statusCode, 200, res.body);
      }
      return { cuid, headers, transactionId, profileId: (created.json() as { data: { profile_id: string } }).data.profile_id };
    }

    /** The owner's profile as its own key reads it, and its Refund Saver settings. */
    async function ownerView(headers: Record<string, string>) {
      const profile = await send(ctx.app, 'GET', PROFILE_PATH, headers);
      const settings = await send(ctx.app, 'GET', REFUND_SAVER_PATH, headers);
      assert.equal(profile.statusCode, 200, profile.body);
      assert.equal(settings.statusCode, 200, settings.body);
      const { timestamp: _time, ...data } = (profile.json() as { data: Record<string, unknown> }).data;
      return { data, settings: settings.json() as unknown };
    }

    for (const operation of OPERATIONS) {
      test(`${operation.name} with another app's key: 400 profile_does_not_exist however the profile is named, and nothing changes`, async () => {
        const v = await ownerProfile();
        const seen = await ownerView(v.headers);
        const expected = envelope(400, 'profile_does_not_exist', ['non_field_errors', operation.message]);
        for (const addressing of addressingsOf(v)) {
          const before = await snapshot(ctx.database);
          const res = await send(ctx.app, operation.method, operation.path, { ...intruder.auth, ...addressing.headers }, operation.body);
          assert.equal(res.statusCode, 400, `${addressing.name}: ${res.body}`);
          assert.deepEqual(res.json(), expected, addressing.name);
          assert.deepEqual(await snapshot(ctx.database), before, `${addressing.name}: the database changed`);
        }
        assert.deepEqual(await ownerView(v.headers), seen, "the owner's profile changed");
      });
    }

    test("the intruder's own profile with the same customer user id sees only its own purchases, access levels and settings", async () => {
      const v = await ownerProfile();
      const seen = await ownerView(v.headers);
      const mine = { ...intruder.auth, 'adapty-customer-user-id': v.cuid };
      const created = await send(ctx.app, 'POST', PROFILE_PATH, mine, {});
      assert.equal(created.statusCode, 200, created.body);
      const myId = (created.json() as { data: { profile_id: string } }).data.profile_id;
      assert.notEqual(myId, v.profileId);

      // Nothing of the owner's shows: no access level, no revenue, default settings.
      const settings = await send(ctx.app, 'GET', REFUND_SAVER_PATH, mine);
      assert.deepEqual(settings.json(), { profile_id: myId, settings: { consent: false, custom_preference: 'no_preference' } });
      const profile = (await send(ctx.app, 'GET', PROFILE_PATH, mine)).json() as { data: { access_levels: unknown[]; total_revenue_usd: number } };
      assert.deepEqual([profile.data.access_levels, profile.data.total_revenue_usd], [[], 0]);
      // The owner's access level is not one of this app's.
      const revoke = await send(ctx.app, 'POST', REVOKE_PATH, mine, { access_level_id: 'gold' });
      assert.deepEqual(revoke.json(), envelope(400, 'paid_access_level_does_not_exist', ['non_field_errors', 'Paid access level `gold` does not exist']));

      // The owner's transaction id is free in this app: recorded here, for this profile only.
      const transaction = await send(ctx.app, 'POST', TRANSACTION_PATH, mine, subscriptionBody(v.transactionId));
      assert.equal(transaction.statusCode, 200, transaction.body);
      const data = (transaction.json() as { data: { profile_id: string; app_id: string; total_revenue_usd: number; subscriptions: unknown[] } }).data;
      assert.deepEqual([data.profile_id, data.app_id, data.total_revenue_usd, data.subscriptions.length], [myId, intruder.appId, 9.99, 1]);
      const rows = (await snapshot(ctx.database, ['transactions'])).transactions as { app_id: string; profile_id: string; store_transaction_id: string }[];
      assert.deepEqual(
        rows.filter((row) => row.store_transaction_id === v.transactionId).map((row) => [row.app_id, row.profile_id]).sort(),
        [[owner.appId, v.profileId], [intruder.appId, myId]].sort(),
      );
      assert.deepEqual(await ownerView(v.headers), seen, "the owner's profile changed");
    });
  });
}
