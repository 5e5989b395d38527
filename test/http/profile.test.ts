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
  profileOk,
  send,
  type Tenant,
  type TestContext,
} from '../helpers.js';

// Create, response shape and read of the profile endpoints (headers: profile-headers.test.ts).

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROFILE_KEYS = [
  'access_levels',
  'app_id',
  'custom_attributes',
  'customer_user_id',
  'non_subscriptions',
  'profile_id',
  'segment_hash',
  'subscriptions',
  'timestamp',
  'total_revenue_usd',
];
const NOT_FOUND = envelope(404, 'profile_does_not_exist', [null, 'Profile not found']);

for (const kind of DATABASES) {
  describe(`profile create and read (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    const { byUser, byId, byBoth } = addressing(() => tenant);
    const find = (address: { profileId?: string; customerUserId?: string }) => ctx.store.findProfile(tenant.appId, address);

    const ok = (method: 'POST' | 'GET' | 'PATCH', headers: Record<string, string>, body?: unknown) =>
      profileOk(ctx.app, method, headers, body);

    // ---------------------------------------------------------------- create

    test('create by customer user id only makes a new random profile_id, and is idempotent', async () => {
      const first = await ok('POST', byUser('create-cuid'), {});
      assert.match(first.profile_id, UUID_RE);
      assert.equal(first.customer_user_id, 'create-cuid');
      const second = await ok('POST', byUser('create-cuid'), {});
      assert.equal(second.profile_id, first.profile_id);
      assert.equal(second.customer_user_id, 'create-cuid');
      const stored = await find({ customerUserId: 'create-cuid' });
      assert.equal(stored?.profileId, first.profile_id);
      const other = await ok('POST', byUser('create-cuid-other'), {});
      assert.notEqual(other.profile_id, first.profile_id);
      assert.match(other.profile_id, UUID_RE);
    });

    test('create by profile id only uses exactly that id; an upper-case id is lowercased', async () => {
      const id = randomUUID();
      const created = await ok('POST', byId(id), {});
      assert.equal(created.profile_id, id);
      assert.equal(created.customer_user_id, null);
      const again = await ok('POST', byId(id.toUpperCase()), {});
      assert.equal(again.profile_id, id);

      const upper = randomUUID().toUpperCase();
      const fromUpper = await ok('POST', byId(upper), {});
      assert.equal(fromUpper.profile_id, upper.toLowerCase());
      assert.equal((await find({ profileId: upper.toLowerCase() }))?.profileId, upper.toLowerCase());
      const read = await ok('GET', byId(upper));
      assert.equal(read.profile_id, upper.toLowerCase());
    });

    test('create with both headers attaches the customer user id to an existing profile', async () => {
      const id = randomUUID();
      await ok('POST', byId(id), { first_name: 'Attach' });
      const attached = await ok('POST', byBoth(id, 'attach-me'), {});
      assert.equal(attached.profile_id, id);
      assert.equal(attached.customer_user_id, 'attach-me');
      const read = await ok('GET', byUser('attach-me'));
      assert.equal(read.profile_id, id);
      const stored = await find({ customerUserId: 'attach-me' });
      assert.equal(stored?.profileId, id);
      assert.equal(stored?.attributes.first_name, 'Attach');
      // Doing it again is a no-op, not a conflict with itself.
      const again = await ok('POST', byBoth(id, 'attach-me'), {});
      assert.equal(again.profile_id, id);
    });

    test('create with both headers replaces the customer user id the profile had', async () => {
      const id = randomUUID();
      await ok('POST', byBoth(id, 'first-cuid'), {});
      const replaced = await ok('POST', byBoth(id, 'second-cuid'), {});
      assert.equal(replaced.profile_id, id);
      assert.equal(replaced.customer_user_id, 'second-cuid');
      assert.equal((await ok('GET', byUser('second-cuid'))).profile_id, id);
      const old = await send(ctx.app, 'GET', PROFILE_PATH, byUser('first-cuid'));
      assert.equal(old.statusCode, 404);
      assert.deepEqual(old.json(), NOT_FOUND);
      // The freed customer user id can be used by a new profile.
      const fresh = await ok('POST', byUser('first-cuid'), {});
      assert.notEqual(fresh.profile_id, id);
    });

    test('create with both headers is a 400 when another profile holds the customer user id, and writes nothing', async () => {
      const holder = await ok('POST', byUser('taken-cuid'), { first_name: 'Holder' });
      const id = randomUUID();
      await ok('POST', byId(id), { first_name: 'Other', custom_attributes: [{ key: 'k', value: 'v' }] });
      const before = await find({ profileId: id });
      const holderBefore = await find({ profileId: holder.profile_id });

      const res = await send(ctx.app, 'POST', PROFILE_PATH, byBoth(id, 'taken-cuid'), {
        first_name: 'Changed',
        custom_attributes: [{ key: 'k2', value: 'v2' }],
      });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(
        res.json(),
        envelope(400, 'validation_error', ['adapty-customer-user-id', 'This customer user id already belongs to another profile.']),
      );
      assert.deepEqual(await find({ profileId: id }), before);
      assert.equal(before?.customerUserId, null);
      assert.deepEqual(await find({ profileId: holder.profile_id }), holderBefore);
    });

    test('create with both headers, an unknown profile id and a taken customer user id is a 400 and creates nothing', async () => {
      await ok('POST', byUser('taken-cuid-2'), {});
      const id = randomUUID();
      const res = await send(ctx.app, 'POST', PROFILE_PATH, byBoth(id, 'taken-cuid-2'), { first_name: 'New' });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(
        res.json(),
        envelope(400, 'validation_error', ['adapty-customer-user-id', 'This customer user id already belongs to another profile.']),
      );
      assert.equal(await find({ profileId: id }), null);
    });

    test('create with both headers when neither exists makes a profile with both', async () => {
      const id = randomUUID();
      const created = await ok('POST', byBoth(id, 'both-new'), { last_name: 'Both' });
      assert.equal(created.profile_id, id);
      assert.equal(created.customer_user_id, 'both-new');
      const stored = await find({ profileId: id, customerUserId: 'both-new' });
      assert.equal(stored?.profileId, id);
      assert.equal(stored?.attributes.last_name, 'Both');
      assert.equal((await ok('GET', byUser('both-new'))).profile_id, id);
    });

    test('create on an existing profile applies the body as an update', async () => {
      const first = await ok('POST', byUser('create-update'), {
        first_name: 'Ann',
        custom_attributes: [{ key: 'k1', value: 'v1' }],
      });
      const second = await ok('POST', byUser('create-update'), {
        last_name: 'Lee',
        custom_attributes: [{ key: 'k2', value: 2 }],
      });
      assert.equal(second.profile_id, first.profile_id);
      const sortByKey = (list: { key: string }[]) => [...list].sort((a, b) => (a.key < b.key ? -1 : 1));
      assert.deepEqual(sortByKey(second.custom_attributes), [
        { key: 'k1', value: 'v1' },
        { key: 'k2', value: 2 },
      ]);
      const stored = await find({ customerUserId: 'create-update' });
      assert.equal(stored?.attributes.first_name, 'Ann');
      assert.equal(stored?.attributes.last_name, 'Lee');
      const third = await ok('POST', byUser('create-update'), { first_name: null, custom_attributes: [{ key: 'k1', value: null }] });
      assert.deepEqual(third.custom_attributes, [{ key: 'k2', value: 2 }]);
      const cleared = await find({ customerUserId: 'create-update' });
      assert.equal(cleared?.attributes.first_name, null);
      assert.equal(cleared?.attributes.last_name, 'Lee');
    });

    test('create accepts no body, an empty JSON body, {} and a body without installation_meta', async () => {
      const none = await send(ctx.app, 'POST', PROFILE_PATH, byUser('body-none'));
      assert.equal(none.statusCode, 200, none.body);
      assert.equal(none.json().data.customer_user_id, 'body-none');

      const emptyJson = await send(ctx.app, 'POST', PROFILE_PATH, {
        ...byUser('body-empty'),
        'content-type': 'application/json',
        'content-length': '0',
      });
      assert.equal(emptyJson.statusCode, 200, emptyJson.body);
      assert.equal(emptyJson.json().data.customer_user_id, 'body-empty');

      const emptyObject = await ok('POST', byUser('body-object'), {});
      assert.equal(emptyObject.customer_user_id, 'body-object');

      const noMeta = await ok('POST', byUser('body-no-meta'), { first_name: 'NoMeta', store: 'app_store' });
      assert.equal(noMeta.customer_user_id, 'body-no-meta');
      const stored = await find({ customerUserId: 'body-no-meta' });
      assert.equal(stored?.attributes.first_name, 'NoMeta');
      assert.equal(stored?.attributes.store, 'app_store');

      const withMeta = await ok('POST', byUser('body-meta'), { installation_meta: { device_id: randomUUID(), platform: 'iOS' } });
      assert.equal(withMeta.customer_user_id, 'body-meta');
    });

    // ---------------------------------------------------------------- response shape

    test('every profile answer is exactly the vendor Profile object', async () => {
      const id = randomUUID();
      const answers: [string, () => Promise<Awaited<ReturnType<typeof send>>>][] = [
        ['POST', () => send(ctx.app, 'POST', PROFILE_PATH, byBoth(id, 'shape'), {})],
        ['GET', () => send(ctx.app, 'GET', PROFILE_PATH, byId(id))],
        ['PATCH', () => send(ctx.app, 'PATCH', PROFILE_PATH, byUser('shape'), { first_name: 'Shape' })],
      ];
      for (const [method, call] of answers) {
        const before = Date.now();
        const res = await call();
        const after = Date.now();
        assert.equal(res.statusCode, 200, `${method}: ${res.body}`);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        const body = res.json();
        assert.deepEqual(Object.keys(body), ['data'], method);
        const data = body.data;
        assert.deepEqual(Object.keys(data).sort(), PROFILE_KEYS, method);
        assert.equal(data.app_id, tenant.appId);
        assert.equal(data.profile_id, id);
        assert.equal(data.customer_user_id, 'shape');
        assert.equal(data.total_revenue_usd, 0);
        assert.match(data.segment_hash, /^[0-9a-f]{16}$/);
        assert.equal(typeof data.timestamp, 'number');
        assert.ok(Number.isInteger(data.timestamp), `${method}: timestamp ${data.timestamp}`);
        assert.ok(data.timestamp >= before && data.timestamp <= after, `${method}: timestamp ${data.timestamp} not in [${before}, ${after}]`);
        assert.deepEqual(data.custom_attributes, []);
        assert.deepEqual(data.access_levels, []);
        assert.deepEqual(data.subscriptions, []);
        assert.deepEqual(data.non_subscriptions, []);
      }
    });

    test('segment_hash changes when attributes change and stays when nothing changes', async () => {
      const h0 = (await ok('POST', byUser('hash'), {})).segment_hash;
      assert.equal((await ok('GET', byUser('hash'))).segment_hash, h0);
      assert.equal((await ok('POST', byUser('hash'), {})).segment_hash, h0);
      assert.equal((await ok('PATCH', byUser('hash'), {})).segment_hash, h0);
      assert.equal((await ok('PATCH', byUser('hash'), { unknown_field: 1 })).segment_hash, h0);

      const h1 = (await ok('PATCH', byUser('hash'), { first_name: 'Hash' })).segment_hash;
      assert.notEqual(h1, h0);
      assert.equal((await ok('PATCH', byUser('hash'), { first_name: 'Hash' })).segment_hash, h1);
      assert.equal((await ok('GET', byUser('hash'))).segment_hash, h1);

      const h2 = (await ok('PATCH', byUser('hash'), { custom_attributes: [{ key: 'level', value: 3 }] })).segment_hash;
      assert.notEqual(h2, h1);
      assert.notEqual(h2, h0);
      const h3 = (await ok('PATCH', byUser('hash'), { custom_attributes: [{ key: 'level', value: 4 }] })).segment_hash;
      assert.notEqual(h3, h2);
      assert.equal((await ok('PATCH', byUser('hash'), { custom_attributes: [{ key: 'level', value: null }] })).segment_hash, h1);
      assert.equal((await ok('PATCH', byUser('hash'), { first_name: null })).segment_hash, h0);
    });

    // ---------------------------------------------------------------- read

    test('GET finds a profile by customer user id, by profile id, and by both when they match', async () => {
      const created = await ok('POST', byUser('get-me'), { first_name: 'Get' });
      for (const headers of [byUser('get-me'), byId(created.profile_id), byId(created.profile_id.toUpperCase()), byBoth(created.profile_id, 'get-me')]) {
        const read = await ok('GET', headers);
        assert.equal(read.profile_id, created.profile_id);
        assert.equal(read.customer_user_id, 'get-me');
        assert.equal(read.segment_hash, created.segment_hash);
        assert.equal(read.app_id, tenant.appId);
      }
    });

    test('GET with both headers not naming the same profile is a 404', async () => {
      const a = await ok('POST', byUser('pair-a'), {});
      const b = await ok('POST', byUser('pair-b'), {});
      for (const headers of [
        byBoth(b.profile_id, 'pair-a'),
        byBoth(a.profile_id, 'pair-b'),
        byBoth(randomUUID(), 'pair-a'),
        byBoth(a.profile_id, 'pair-unknown'),
      ]) {
        const res = await send(ctx.app, 'GET', PROFILE_PATH, headers);
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), NOT_FOUND);
      }
    });

    test('GET of an unknown profile is a 404', async () => {
      for (const headers of [byUser('nobody-here'), byId(randomUUID()), byBoth(randomUUID(), 'nobody-either')]) {
        const res = await send(ctx.app, 'GET', PROFILE_PATH, headers);
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), NOT_FOUND);
      }
      assert.equal(await find({ customerUserId: 'nobody-here' }), null);
    });

    test('the customer user id is compared exactly', async () => {
      await ok('POST', byUser('Exact'), {});
      for (const near of ['exact', 'EXACT', 'Exact ', ' Exact']) {
        const res = await send(ctx.app, 'GET', PROFILE_PATH, byUser(near));
        assert.equal(res.statusCode, 404, JSON.stringify(near));
      }
    });
  });
}
