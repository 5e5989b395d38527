import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  createTestContext,
  DATABASES,
  onDatabase,
  envelope,
  IDENTIFIERS_PATH,
  PROFILE_PATH,
  send,
  type Tenant,
  type TestContext,
} from '../helpers.js';
import { IDENTIFIER_KEYS } from '../../src/domain/identifiers.js';

// DELETE of a profile, and the separation of tenants on every profile operation.

const NOT_FOUND = envelope(404, 'profile_does_not_exist', [null, 'Profile not found']);
const IDENTIFIERS_NOT_FOUND = envelope(404, 'profile_not_found', [null, 'Profile not found']);
const NO_IDENTIFIERS = Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, null]));

for (const kind of DATABASES) {
  describe(`profile delete and tenancy (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    const as = (who: Tenant, address: { profileId?: string; customerUserId?: string }) => {
      const headers: Record<string, string> = { ...who.auth };
      if (address.profileId !== undefined) headers['adapty-profile-id'] = address.profileId;
      if (address.customerUserId !== undefined) headers['adapty-customer-user-id'] = address.customerUserId;
      return headers;
    };
    const byUser = (customerUserId: string) => as(tenant, { customerUserId });

    /** A profile with attributes, custom attributes, a device and identifiers. */
    async function populated(who: Tenant, customerUserId: string) {
      const res = await send(ctx.app, 'POST', PROFILE_PATH, as(who, { customerUserId }), {
        first_name: 'Full',
        email: 'full@example.com',
        custom_attributes: [
          { key: 'plan', value: 'pro' },
          { key: 'seats', value: 5 },
        ],
        installation_meta: { device_id: randomUUID(), platform: 'iOS' },
      });
      assert.equal(res.statusCode, 200, res.body);
      const ids = await send(ctx.app, 'POST', IDENTIFIERS_PATH, as(who, { customerUserId }), {
        branch_id: 'branch-1',
        appsflyer_id: 'af-1',
      });
      assert.equal(ids.statusCode, 200, ids.body);
      return res.json().data;
    }

    test('DELETE answers 204 with an empty body, and the profile and its identifiers are gone', async () => {
      const created = await populated(tenant, 'delete-me');
      const res = await send(ctx.app, 'DELETE', PROFILE_PATH, byUser('delete-me'));
      assert.equal(res.statusCode, 204);
      assert.equal(res.body, '');
      assert.equal(res.rawPayload.length, 0);

      for (const headers of [byUser('delete-me'), as(tenant, { profileId: created.profile_id })]) {
        const profile = await send(ctx.app, 'GET', PROFILE_PATH, headers);
        assert.equal(profile.statusCode, 404);
        assert.deepEqual(profile.json(), NOT_FOUND);
        const identifiers = await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers);
        assert.equal(identifiers.statusCode, 404);
        assert.deepEqual(identifiers.json(), IDENTIFIERS_NOT_FOUND);
        const setIdentifiers = await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { branch_id: 'x' });
        assert.equal(setIdentifiers.statusCode, 404);
        assert.deepEqual(setIdentifiers.json(), IDENTIFIERS_NOT_FOUND);
      }
      assert.equal(await ctx.store.findProfile(tenant.appId, { profileId: created.profile_id }), null);
      assert.equal(await ctx.store.getIdentifiers(tenant.appId, { profileId: created.profile_id }), null);
    });

    test('after DELETE, the same customer user id starts a fresh, empty profile', async () => {
      const old = await populated(tenant, 'reborn');
      assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, byUser('reborn'))).statusCode, 204);

      const res = await send(ctx.app, 'POST', PROFILE_PATH, byUser('reborn'), {});
      assert.equal(res.statusCode, 200, res.body);
      const fresh = res.json().data;
      assert.notEqual(fresh.profile_id, old.profile_id);
      assert.equal(fresh.customer_user_id, 'reborn');
      assert.deepEqual(fresh.custom_attributes, []);
      assert.notEqual(fresh.segment_hash, old.segment_hash);

      const identifiers = await send(ctx.app, 'GET', IDENTIFIERS_PATH, byUser('reborn'));
      assert.equal(identifiers.statusCode, 200, identifiers.body);
      assert.deepEqual(identifiers.json(), NO_IDENTIFIERS);

      const stored = await ctx.store.findProfile(tenant.appId, { customerUserId: 'reborn' });
      assert.equal(stored?.profileId, fresh.profile_id);
      assert.deepEqual(stored?.customAttributes, []);
      assert.ok(Object.values(stored?.attributes ?? { x: 'missing' }).every((value) => value === null));
      // The old profile id does not come back either.
      const oldId = await send(ctx.app, 'GET', PROFILE_PATH, as(tenant, { profileId: old.profile_id }));
      assert.equal(oldId.statusCode, 404);
    });

    test('after DELETE, recreating by the same profile id starts empty too', async () => {
      const id = randomUUID();
      const res = await send(ctx.app, 'POST', PROFILE_PATH, as(tenant, { profileId: id }), {
        first_name: 'Again',
        custom_attributes: [{ key: 'k', value: 1 }],
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, as(tenant, { profileId: id }), { branch_id: 'b' })).statusCode, 200);
      assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, as(tenant, { profileId: id }))).statusCode, 204);
      const again = await send(ctx.app, 'POST', PROFILE_PATH, as(tenant, { profileId: id }), {});
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().data.profile_id, id);
      assert.deepEqual(again.json().data.custom_attributes, []);
      const stored = await ctx.store.findProfile(tenant.appId, { profileId: id });
      assert.equal(stored?.attributes.first_name, null);
      assert.deepEqual((await send(ctx.app, 'GET', IDENTIFIERS_PATH, as(tenant, { profileId: id }))).json(), NO_IDENTIFIERS);
    });

    test('DELETE by profile id and by both headers; mismatched headers are a 404 and delete nothing', async () => {
      const a = await populated(tenant, 'del-a');
      const b = await populated(tenant, 'del-b');
      const mismatched = await send(ctx.app, 'DELETE', PROFILE_PATH, as(tenant, { profileId: a.profile_id, customerUserId: 'del-b' }));
      assert.equal(mismatched.statusCode, 404);
      assert.deepEqual(mismatched.json(), NOT_FOUND);
      assert.notEqual(await ctx.store.findProfile(tenant.appId, { profileId: a.profile_id }), null);
      assert.notEqual(await ctx.store.findProfile(tenant.appId, { profileId: b.profile_id }), null);

      const byId = await send(ctx.app, 'DELETE', PROFILE_PATH, as(tenant, { profileId: a.profile_id.toUpperCase() }));
      assert.equal(byId.statusCode, 204);
      assert.equal(await ctx.store.findProfile(tenant.appId, { profileId: a.profile_id }), null);
      const both = await send(ctx.app, 'DELETE', PROFILE_PATH, as(tenant, { profileId: b.profile_id, customerUserId: 'del-b' }));
      assert.equal(both.statusCode, 204);
      assert.equal(await ctx.store.findProfile(tenant.appId, { profileId: b.profile_id }), null);
    });

    test('DELETE removes only the addressed profile', async () => {
      await populated(tenant, 'del-one');
      const keep = await populated(tenant, 'del-keep');
      const keepBefore = await ctx.store.findProfile(tenant.appId, { profileId: keep.profile_id });
      assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, byUser('del-one'))).statusCode, 204);
      assert.deepEqual(await ctx.store.findProfile(tenant.appId, { profileId: keep.profile_id }), keepBefore);
      const identifiers = await send(ctx.app, 'GET', IDENTIFIERS_PATH, byUser('del-keep'));
      assert.equal(identifiers.json().branch_id, 'branch-1');
      assert.equal(identifiers.json().appsflyer_id, 'af-1');
    });

    test('DELETE of a missing profile is a 404, also the second time', async () => {
      for (const headers of [byUser('never-existed'), as(tenant, { profileId: randomUUID() })]) {
        const res = await send(ctx.app, 'DELETE', PROFILE_PATH, headers);
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), NOT_FOUND);
      }
      await populated(tenant, 'twice');
      assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, byUser('twice'))).statusCode, 204);
      const second = await send(ctx.app, 'DELETE', PROFILE_PATH, byUser('twice'));
      assert.equal(second.statusCode, 404);
      assert.deepEqual(second.json(), NOT_FOUND);
    });

    // ---------------------------------------------------------------- tenancy

    test("another tenant cannot read, update or delete a profile", async () => {
      const mine = await populated(tenant, 'tenant-shared');
      const before = await ctx.store.findProfile(tenant.appId, { profileId: mine.profile_id });
      const other = await ctx.newTenant();
      const addresses = [
        { customerUserId: 'tenant-shared' },
        { profileId: mine.profile_id },
        { profileId: mine.profile_id, customerUserId: 'tenant-shared' },
      ];
      for (const address of addresses) {
        const label = JSON.stringify(address);
        const read = await send(ctx.app, 'GET', PROFILE_PATH, as(other, address));
        assert.equal(read.statusCode, 404, label);
        assert.deepEqual(read.json(), NOT_FOUND, label);
        const patched = await send(ctx.app, 'PATCH', PROFILE_PATH, as(other, address), { first_name: 'Intruder' });
        assert.equal(patched.statusCode, 404, label);
        assert.deepEqual(patched.json(), NOT_FOUND, label);
        const deleted = await send(ctx.app, 'DELETE', PROFILE_PATH, as(other, address));
        assert.equal(deleted.statusCode, 404, label);
        assert.deepEqual(deleted.json(), NOT_FOUND, label);
        const identifiers = await send(ctx.app, 'GET', IDENTIFIERS_PATH, as(other, address));
        assert.equal(identifiers.statusCode, 404, label);
        assert.deepEqual(identifiers.json(), IDENTIFIERS_NOT_FOUND, label);
      }
      assert.deepEqual(await ctx.store.findProfile(tenant.appId, { profileId: mine.profile_id }), before);
      assert.equal(await ctx.store.findProfile(other.appId, { customerUserId: 'tenant-shared' }), null);
      const still = await send(ctx.app, 'GET', PROFILE_PATH, byUser('tenant-shared'));
      assert.equal(still.statusCode, 200);
      assert.equal(still.json().data.profile_id, mine.profile_id);
      assert.equal(still.json().data.segment_hash, mine.segment_hash);
    });

    test("another tenant's create with the same customer user id makes a separate profile", async () => {
      const mine = await populated(tenant, 'tenant-same-cuid');
      const before = await ctx.store.findProfile(tenant.appId, { profileId: mine.profile_id });
      const other = await ctx.newTenant();
      const res = await send(ctx.app, 'POST', PROFILE_PATH, as(other, { customerUserId: 'tenant-same-cuid' }), {
        first_name: 'Other',
        custom_attributes: [{ key: 'plan', value: 'free' }],
      });
      assert.equal(res.statusCode, 200, res.body);
      const theirs = res.json().data;
      assert.notEqual(theirs.profile_id, mine.profile_id);
      assert.equal(theirs.app_id, other.appId);
      assert.equal(theirs.customer_user_id, 'tenant-same-cuid');
      assert.deepEqual(theirs.custom_attributes, [{ key: 'plan', value: 'free' }]);
      const theirIdentifiers = await send(ctx.app, 'GET', IDENTIFIERS_PATH, as(other, { customerUserId: 'tenant-same-cuid' }));
      assert.deepEqual(theirIdentifiers.json(), NO_IDENTIFIERS);

      // The first tenant's profile is untouched, and still answers as before.
      assert.deepEqual(await ctx.store.findProfile(tenant.appId, { profileId: mine.profile_id }), before);
      const mineNow = await send(ctx.app, 'GET', PROFILE_PATH, byUser('tenant-same-cuid'));
      assert.equal(mineNow.json().data.profile_id, mine.profile_id);
      assert.equal(mineNow.json().data.app_id, tenant.appId);

      // Deleting theirs leaves mine alone.
      const deleted = await send(ctx.app, 'DELETE', PROFILE_PATH, as(other, { customerUserId: 'tenant-same-cuid' }));
      assert.equal(deleted.statusCode, 204);
      assert.deepEqual(await ctx.store.findProfile(tenant.appId, { profileId: mine.profile_id }), before);
      assert.equal((await send(ctx.app, 'GET', IDENTIFIERS_PATH, byUser('tenant-same-cuid'))).json().branch_id, 'branch-1');
    });

    test("another tenant's create with the same profile id does not touch the first tenant's profile", async () => {
      const mine = await populated(tenant, 'tenant-same-pid');
      const before = await ctx.store.findProfile(tenant.appId, { profileId: mine.profile_id });
      const other = await ctx.newTenant();
      const res = await send(ctx.app, 'POST', PROFILE_PATH, as(other, { profileId: mine.profile_id }), { first_name: 'Other' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().data.app_id, other.appId);
      assert.equal(res.json().data.profile_id, mine.profile_id);
      assert.equal(res.json().data.customer_user_id, null);
      assert.deepEqual(res.json().data.custom_attributes, []);
      assert.deepEqual(await ctx.store.findProfile(tenant.appId, { profileId: mine.profile_id }), before);
    });
  });
}
