import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  addressing,
  createTestContext,
  DATABASES,
  onDatabase,
  envelope,
  PROFILE_PATH,
  send,
  type Tenant,
  type TestContext,
} from '../helpers.js';

// PATCH /api/v2/server-side-api/profile/: partial updates, custom attributes, installation_meta.

const NOT_FOUND = envelope(404, 'profile_does_not_exist', [null, 'Profile not found']);
const TOO_MANY = envelope(400, 'validation_error', ['custom_attributes', 'A profile can have at most 30 custom attributes.']);

const ALL_NULL = {
  first_name: null,
  last_name: null,
  gender: null,
  email: null,
  phone_number: null,
  birthday: null,
  ip_country: null,
  ip_v4_address: null,
  store_country: null,
  store: null,
  store_account_token: null,
  att_status: null,
  analytics_disabled: null,
};

type Attr = { key: string; value: string | number };
const sortByKey = (list: readonly Attr[]) => [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

for (const kind of DATABASES) {
  describe(`profile update (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    const { byUser, byId } = addressing(() => tenant);
    const find = (customerUserId: string) => ctx.store.findProfile(tenant.appId, { customerUserId });

    async function create(customerUserId: string, body: unknown = {}) {
      const res = await send(ctx.app, 'POST', PROFILE_PATH, byUser(customerUserId), body);
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data;
    }

    async function patch(headers: Record<string, string>, body: unknown) {
      const res = await send(ctx.app, 'PATCH', PROFILE_PATH, headers, body);
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data;
    }

    test('every attribute can be set and read back, then cleared with null', async () => {
      const created = await create('all-fields');
      const token = randomUUID();
      const updated = await patch(byUser('all-fields'), {
        first_name: 'Ada',
        last_name: 'Lovelace',
        gender: 'f',
        email: 'ada@example.com',
        phone_number: '+441234567890',
        birthday: '1815-12-10',
        ip_country: 'gb',
        ip_v4_address: '192.168.0.1',
        store_country: 'fr',
        store: 'play_store',
        store_account_token: token,
        att_status: 3,
        analytics_disabled: true,
      });
      assert.equal(updated.profile_id, created.profile_id);
      assert.notEqual(updated.segment_hash, created.segment_hash);
      const stored = await find('all-fields');
      assert.deepEqual(stored?.attributes, {
        first_name: 'Ada',
        last_name: 'Lovelace',
        gender: 'f',
        email: 'ada@example.com',
        phone_number: '+441234567890',
        birthday: '1815-12-10',
        ip_country: 'GB',
        ip_v4_address: '192.168.0.1',
        store_country: 'FR',
        store: 'play_store',
        store_account_token: token,
        att_status: 3,
        analytics_disabled: true,
      });
      const cleared = await patch(byUser('all-fields'), ALL_NULL);
      assert.equal(cleared.segment_hash, created.segment_hash);
      assert.deepEqual((await find('all-fields'))?.attributes, ALL_NULL);
    });

    test('falsy values are kept, not treated as cleared', async () => {
      await create('falsy');
      await patch(byUser('falsy'), { att_status: 0, analytics_disabled: false, first_name: '' });
      const stored = await find('falsy');
      assert.equal(stored?.attributes.att_status, 0);
      assert.equal(stored?.attributes.analytics_disabled, false);
      assert.equal(stored?.attributes.first_name, '');
    });

    test('omitted fields are unchanged and null clears only the named field', async () => {
      const h0 = (await create('partial')).segment_hash;
      const h1 = (await patch(byUser('partial'), { first_name: 'Pat', email: 'pat@example.org', gender: 'o' })).segment_hash;
      assert.notEqual(h1, h0);
      const h2 = (await patch(byUser('partial'), { last_name: 'Smith' })).segment_hash;
      let stored = await find('partial');
      assert.deepEqual(stored?.attributes, { ...ALL_NULL, first_name: 'Pat', last_name: 'Smith', email: 'pat@example.org', gender: 'o' });

      const h3 = (await patch(byUser('partial'), { email: null })).segment_hash;
      assert.notEqual(h3, h2);
      stored = await find('partial');
      assert.deepEqual(stored?.attributes, { ...ALL_NULL, first_name: 'Pat', last_name: 'Smith', gender: 'o' });

      // Clearing back to the earlier state gives back the earlier hash.
      assert.equal((await patch(byUser('partial'), { email: 'pat@example.org' })).segment_hash, h2);
      assert.equal((await patch(byUser('partial'), { last_name: null })).segment_hash, h1);
      assert.equal((await patch(byUser('partial'), { first_name: null, email: null, gender: null })).segment_hash, h0);
      assert.deepEqual((await find('partial'))?.attributes, ALL_NULL);
    });

    test('an empty PATCH changes nothing', async () => {
      const created = await create('noop', { first_name: 'Noop', custom_attributes: [{ key: 'a', value: 1 }] });
      const before = await find('noop');
      for (const body of [{}, undefined]) {
        const res = await send(ctx.app, 'PATCH', PROFILE_PATH, byUser('noop'), body);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().data.segment_hash, created.segment_hash);
        assert.deepEqual(res.json().data.custom_attributes, [{ key: 'a', value: 1 }]);
      }
      assert.deepEqual(await find('noop'), before);
    });

    test('PATCH addresses a profile by profile id and by both headers', async () => {
      const created = await create('patch-address');
      const byIdAnswer = await patch(byId(created.profile_id), { first_name: 'ById' });
      assert.equal(byIdAnswer.profile_id, created.profile_id);
      assert.equal(byIdAnswer.customer_user_id, 'patch-address');
      const both = { ...byId(created.profile_id.toUpperCase()), 'adapty-customer-user-id': 'patch-address' };
      await patch(both, { last_name: 'ByBoth' });
      const stored = await find('patch-address');
      assert.equal(stored?.attributes.first_name, 'ById');
      assert.equal(stored?.attributes.last_name, 'ByBoth');
    });

    test('custom attributes merge by key', async () => {
      await create('merge');
      const first = await patch(byUser('merge'), {
        custom_attributes: [
          { key: 'a', value: 'one' },
          { key: 'b', value: 2 },
        ],
      });
      assert.deepEqual(sortByKey(first.custom_attributes), [
        { key: 'a', value: 'one' },
        { key: 'b', value: 2 },
      ]);
      const second = await patch(byUser('merge'), {
        custom_attributes: [
          { key: 'b', value: 'two' },
          { key: 'c', value: 3 },
        ],
      });
      const expected = [
        { key: 'a', value: 'one' },
        { key: 'b', value: 'two' },
        { key: 'c', value: 3 },
      ];
      assert.deepEqual(sortByKey(second.custom_attributes), expected);
      assert.deepEqual(sortByKey((await find('merge'))?.customAttributes ?? []), expected);
      // A PATCH without custom_attributes leaves them alone.
      const third = await patch(byUser('merge'), { first_name: 'Merge' });
      assert.deepEqual(sortByKey(third.custom_attributes), expected);
      const read = await send(ctx.app, 'GET', PROFILE_PATH, byUser('merge'));
      assert.deepEqual(sortByKey(read.json().data.custom_attributes), expected);
    });

    test('a custom attribute value of null or "" deletes it', async () => {
      await create('delete-attr', {
        custom_attributes: [
          { key: 'keep', value: 'k' },
          { key: 'drop_null', value: 1 },
          { key: 'drop_empty', value: 'x' },
        ],
      });
      const answer = await patch(byUser('delete-attr'), {
        custom_attributes: [
          { key: 'drop_null', value: null },
          { key: 'drop_empty', value: '' },
          { key: 'never_there', value: null },
        ],
      });
      assert.deepEqual(answer.custom_attributes, [{ key: 'keep', value: 'k' }]);
      assert.deepEqual((await find('delete-attr'))?.customAttributes, [{ key: 'keep', value: 'k' }]);
    });

    test('custom_attributes null removes them all', async () => {
      const created = await create('clear-all');
      await patch(byUser('clear-all'), {
        custom_attributes: [
          { key: 'x', value: 1 },
          { key: 'y', value: 'y' },
        ],
      });
      const cleared = await patch(byUser('clear-all'), { custom_attributes: null });
      assert.deepEqual(cleared.custom_attributes, []);
      assert.equal(cleared.segment_hash, created.segment_hash);
      assert.deepEqual((await find('clear-all'))?.customAttributes, []);
    });

    test('an empty custom_attributes list changes nothing', async () => {
      const created = await create('empty-list', { custom_attributes: [{ key: 'stay', value: 'here' }] });
      const answer = await patch(byUser('empty-list'), { custom_attributes: [] });
      assert.deepEqual(answer.custom_attributes, [{ key: 'stay', value: 'here' }]);
      assert.equal(answer.segment_hash, created.segment_hash);
    });

    test('custom attributes are answered sorted by key', async () => {
      await create('sorted');
      const keys = ['b', 'a', 'B', 'A', '_z', '1', 'a.b', 'a-b', 'ab'];
      const answer = await patch(byUser('sorted'), { custom_attributes: keys.map((key) => ({ key, value: key })) });
      const expected = [...keys].sort();
      assert.deepEqual(answer.custom_attributes.map((a: Attr) => a.key), expected);
      const read = await send(ctx.app, 'GET', PROFILE_PATH, byUser('sorted'));
      assert.deepEqual(read.json().data.custom_attributes.map((a: Attr) => a.key), expected);
    });

    test('custom attribute keys are case-sensitive', async () => {
      await create('key-case');
      const answer = await patch(byUser('key-case'), {
        custom_attributes: [
          { key: 'Plan', value: 'upper' },
          { key: 'plan', value: 'lower' },
        ],
      });
      assert.deepEqual(sortByKey(answer.custom_attributes), [
        { key: 'Plan', value: 'upper' },
        { key: 'plan', value: 'lower' },
      ]);
    });

    test('numbers stay numbers and strings stay strings', async () => {
      await create('types');
      const values: Attr[] = [
        { key: 'int', value: 42 },
        { key: 'neg', value: -7 },
        { key: 'zero', value: 0 },
        { key: 'frac', value: 1.5 },
        { key: 'numeric_string', value: '42' },
        { key: 'text', value: 'hello' },
        { key: 'unicode', value: 'Grüße 👋' },
      ];
      const answer = await patch(byUser('types'), { custom_attributes: values });
      assert.deepEqual(sortByKey(answer.custom_attributes), sortByKey(values));
      const raw = await send(ctx.app, 'GET', PROFILE_PATH, byUser('types'));
      assert.deepEqual(sortByKey(raw.json().data.custom_attributes), sortByKey(values));
      assert.match(raw.body, /"value":42[,}]/);
      assert.match(raw.body, /"value":"42"/);
      assert.deepEqual(sortByKey((await find('types'))?.customAttributes ?? []), sortByKey(values));
    });

    test('within one request, a later entry for the same key wins', async () => {
      await create('dupe-keys');
      const answer = await patch(byUser('dupe-keys'), {
        custom_attributes: [
          { key: 'k', value: 'first' },
          { key: 'k', value: 'second' },
        ],
      });
      assert.deepEqual(answer.custom_attributes, [{ key: 'k', value: 'second' }]);
    });

    test('exactly 30 custom attributes is fine; 31 after the merge is a 400 and writes nothing', async () => {
      await create('limit', { first_name: 'Limit' });
      const thirty = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
      const full = await patch(byUser('limit'), { custom_attributes: thirty });
      assert.equal(full.custom_attributes.length, 30);
      const before = await find('limit');
      assert.equal(before?.customAttributes.length, 30);

      const res = await send(ctx.app, 'PATCH', PROFILE_PATH, byUser('limit'), {
        first_name: 'Changed',
        custom_attributes: [
          { key: 'k0', value: 'changed' },
          { key: 'k31', value: 'one too many' },
        ],
      });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), TOO_MANY);
      assert.deepEqual(await find('limit'), before);

      // Deleting one and adding one in the same request stays at 30.
      const swapped = await patch(byUser('limit'), {
        custom_attributes: [
          { key: 'k0', value: null },
          { key: 'k30', value: 'new' },
        ],
      });
      assert.equal(swapped.custom_attributes.length, 30);
      const keys = swapped.custom_attributes.map((a: Attr) => a.key);
      assert.ok(keys.includes('k30'));
      assert.ok(!keys.includes('k0'));
    });

    test('31 custom attributes on create is a 400 and creates no profile', async () => {
      const thirtyOne = Array.from({ length: 31 }, (_, i) => ({ key: `k${i}`, value: i }));
      const res = await send(ctx.app, 'POST', PROFILE_PATH, byUser('limit-create'), { custom_attributes: thirtyOne });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), TOO_MANY);
      assert.equal(await find('limit-create'), null);
      const thirty = await create('limit-create', { custom_attributes: thirtyOne.slice(0, 30) });
      assert.equal(thirty.custom_attributes.length, 30);
    });

    test('installation_meta is accepted and upserted by device_id', async () => {
      const created = await create('devices');
      const device = randomUUID();
      const first = await patch(byUser('devices'), {
        installation_meta: { device_id: device, platform: 'iOS', os: '17.4', locale: 'en_US', app_version: '1.0' },
      });
      assert.equal(first.profile_id, created.profile_id);
      // The device is not one of the profile's attributes.
      assert.equal(first.segment_hash, created.segment_hash);
      const second = await patch(byUser('devices'), {
        installation_meta: { device_id: device.toUpperCase(), app_version: '1.1', idfa: null },
      });
      assert.equal(second.profile_id, created.profile_id);
      const other = await patch(byUser('devices'), {
        installation_meta: { device_id: randomUUID(), platform: 'Android', advertising_id: randomUUID() },
      });
      assert.equal(other.profile_id, created.profile_id);
      const withPlatformHeader = await send(
        ctx.app,
        'PATCH',
        PROFILE_PATH,
        { ...byUser('devices'), 'adapty-platform': 'web' },
        { installation_meta: { device_id: randomUUID() } },
      );
      assert.equal(withPlatformHeader.statusCode, 200, withPlatformHeader.body);
      const nullMeta = await patch(byUser('devices'), { installation_meta: null, first_name: 'Dev' });
      assert.equal(nullMeta.profile_id, created.profile_id);
      assert.equal((await find('devices'))?.attributes.first_name, 'Dev');
    });

    test('unknown fields are ignored, including ones named like response fields', async () => {
      const created = await create('unknown-fields');
      const answer = await patch(byUser('unknown-fields'), {
        first_name: 'Known',
        favourite_colour: 'blue',
        profile_id: randomUUID(),
        customer_user_id: 'hijack',
        app_id: randomUUID(),
        total_revenue_usd: 100,
        segment_hash: '0000000000000000',
        access_levels: [{ id: 'premium' }],
      });
      assert.equal(answer.profile_id, created.profile_id);
      assert.equal(answer.customer_user_id, 'unknown-fields');
      assert.equal(answer.app_id, tenant.appId);
      assert.equal(answer.total_revenue_usd, 0);
      assert.notEqual(answer.segment_hash, '0000000000000000');
      assert.deepEqual(answer.access_levels, []);
      assert.equal((await find('unknown-fields'))?.attributes.first_name, 'Known');
      const hijack = await send(ctx.app, 'GET', PROFILE_PATH, byUser('hijack'));
      assert.equal(hijack.statusCode, 404);
    });

    test('PATCH of a missing profile is a 404 and creates nothing', async () => {
      const id = randomUUID();
      const existing = await create('patch-exists');
      for (const headers of [
        byUser('patch-missing'),
        byId(id),
        { ...byId(id), 'adapty-customer-user-id': 'patch-missing' },
        { ...byId(existing.profile_id), 'adapty-customer-user-id': 'patch-missing' },
        { ...byId(id), 'adapty-customer-user-id': 'patch-exists' },
      ]) {
        const res = await send(ctx.app, 'PATCH', PROFILE_PATH, headers, { first_name: 'Ghost' });
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), NOT_FOUND);
      }
      assert.equal(await find('patch-missing'), null);
      assert.equal(await ctx.store.findProfile(tenant.appId, { profileId: id }), null);
      assert.equal((await find('patch-exists'))?.attributes.first_name, null);
    });
  });
}
