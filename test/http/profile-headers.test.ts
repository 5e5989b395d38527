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

// The addressing headers of the profile endpoints: adapty-customer-user-id, adapty-profile-id,
// adapty-platform.

const NO_ADDRESS = envelope(400, 'validation_error', [
  'non_field_errors',
  'Provide the adapty-customer-user-id header, the adapty-profile-id header, or both.',
]);
const METHODS = ['POST', 'GET', 'PATCH', 'DELETE'] as const;

/** Header value for app.inject that carries the UTF-8 bytes of `text`, as a real client sends them. */
const utf8Header = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

for (const kind of DATABASES) {
  describe(`profile addressing headers (${kind})`, onDatabase(kind), () => {
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

    test('neither header is a 400 naming both headers, on every method', async () => {
      for (const method of METHODS) {
        const res = await send(ctx.app, method, PROFILE_PATH, tenant.auth, method === 'POST' || method === 'PATCH' ? {} : undefined);
        assert.equal(res.statusCode, 400, method);
        assert.deepEqual(res.json(), NO_ADDRESS, method);
      }
    });

    test('empty header values count as absent', async () => {
      const emptyBoth = { ...tenant.auth, 'adapty-customer-user-id': '', 'adapty-profile-id': '' };
      for (const method of METHODS) {
        const res = await send(ctx.app, method, PROFILE_PATH, emptyBoth, method === 'POST' || method === 'PATCH' ? {} : undefined);
        assert.equal(res.statusCode, 400, method);
        assert.deepEqual(res.json(), NO_ADDRESS, method);
      }
      const id = randomUUID();
      const byIdOnly = await ok('POST', { ...byId(id), 'adapty-customer-user-id': '' }, {});
      assert.equal(byIdOnly.profile_id, id);
      assert.equal(byIdOnly.customer_user_id, null);
      const byUserOnly = await ok('POST', { ...byUser('empty-pid'), 'adapty-profile-id': '' }, {});
      assert.equal(byUserOnly.customer_user_id, 'empty-pid');
      assert.notEqual(byUserOnly.profile_id, id);
      assert.equal((await ok('GET', { ...byUser('empty-pid'), 'adapty-profile-id': '' })).profile_id, byUserOnly.profile_id);
    });

    test('a profile id that is not a UUID is a 400 on adapty-profile-id, on every method', async () => {
      for (const bad of ['not-a-uuid', '12345', `${randomUUID()}x`, randomUUID().replaceAll('-', '')]) {
        for (const method of METHODS) {
          const res = await send(ctx.app, method, PROFILE_PATH, byId(bad), method === 'POST' || method === 'PATCH' ? {} : undefined);
          assert.equal(res.statusCode, 400, `${method} ${bad}`);
          assert.deepEqual(res.json(), envelope(400, 'validation_error', ['adapty-profile-id', 'Must be a valid UUID.']));
        }
      }
      // Also when a valid customer user id comes with it: nothing is created.
      const res = await send(ctx.app, 'POST', PROFILE_PATH, byBoth('nope', 'bad-pid-user'), {});
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), envelope(400, 'validation_error', ['adapty-profile-id', 'Must be a valid UUID.']));
      assert.equal(await find({ customerUserId: 'bad-pid-user' }), null);
    });

    test('a customer user id of 256 characters is fine; 257 is a 400 on adapty-customer-user-id', async () => {
      const longest = 'u'.repeat(256);
      const created = await ok('POST', byUser(longest), {});
      assert.equal(created.customer_user_id, longest);
      assert.equal((await ok('GET', byUser(longest))).profile_id, created.profile_id);

      const tooLong = 'v'.repeat(257);
      const expected = envelope(400, 'validation_error', [
        'adapty-customer-user-id',
        'Ensure this header has no more than 256 characters.',
      ]);
      for (const method of METHODS) {
        const res = await send(ctx.app, method, PROFILE_PATH, byUser(tooLong), method === 'POST' || method === 'PATCH' ? {} : undefined);
        assert.equal(res.statusCode, 400, method);
        assert.deepEqual(res.json(), expected, method);
      }
      assert.equal(await find({ customerUserId: tooLong }), null);
    });

    test('a bad profile id and a too-long customer user id are reported together', async () => {
      const res = await send(ctx.app, 'POST', PROFILE_PATH, byBoth('nope', 'w'.repeat(257)), {});
      assert.equal(res.statusCode, 400);
      assert.deepEqual(
        res.json(),
        envelope(
          400,
          'validation_error',
          ['adapty-profile-id', 'Must be a valid UUID.'],
          ['adapty-customer-user-id', 'Ensure this header has no more than 256 characters.'],
        ),
      );
    });

    test('a non-ASCII customer user id sent as UTF-8 round-trips', async () => {
      const headers = { ...tenant.auth, 'adapty-customer-user-id': utf8Header('Jürgen') };
      const created = await ctx.app.inject({ method: 'POST', url: PROFILE_PATH, headers, payload: {} });
      assert.equal(created.statusCode, 200, created.body);
      assert.equal(created.json().data.customer_user_id, 'Jürgen');
      const read = await ctx.app.inject({ method: 'GET', url: PROFILE_PATH, headers });
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(read.json().data.profile_id, created.json().data.profile_id);
      assert.equal(read.json().data.customer_user_id, 'Jürgen');
      const stored = await find({ customerUserId: 'Jürgen' });
      assert.equal(stored?.profileId, created.json().data.profile_id);
    });

    test('a customer user id whose bytes are not UTF-8 is refused, not mangled', async () => {
      // "café" and "cafè" in Latin-1: as UTF-8 both would decode to "caf\uFFFD" and name one profile.
      for (const latin1 of ['caf\xe9', 'caf\xe8']) {
        const res = await ctx.app.inject({
          method: 'POST',
          url: PROFILE_PATH,
          headers: { ...tenant.auth, 'adapty-customer-user-id': latin1 },
          payload: {},
        });
        assert.equal(res.statusCode, 400);
        assert.deepEqual(
          res.json(),
          envelope(400, 'validation_error', ['adapty-customer-user-id', 'This header must be UTF-8 text.']),
        );
      }
    });

    test('the 256-character limit counts characters, not bytes', async () => {
      const longest = 'ü'.repeat(256);
      const ok256 = await ctx.app.inject({
        method: 'POST',
        url: PROFILE_PATH,
        headers: { ...tenant.auth, 'adapty-customer-user-id': utf8Header(longest) },
        payload: {},
      });
      assert.equal(ok256.statusCode, 200, ok256.body);
      assert.equal(ok256.json().data.customer_user_id, longest);
      const over = await ctx.app.inject({
        method: 'POST',
        url: PROFILE_PATH,
        headers: { ...tenant.auth, 'adapty-customer-user-id': utf8Header(`${longest}ü`) },
        payload: {},
      });
      assert.equal(over.statusCode, 400);
      assert.deepEqual(
        over.json(),
        envelope(400, 'validation_error', ['adapty-customer-user-id', 'Ensure this header has no more than 256 characters.']),
      );
    });

    test('a header sent twice is a 400 naming the header', async () => {
      const twice = await ctx.app.inject({
        method: 'POST',
        url: PROFILE_PATH,
        headers: { ...tenant.auth, 'adapty-customer-user-id': ['twice-a', 'twice-b'] },
        payload: {},
      });
      assert.equal(twice.statusCode, 400);
      assert.deepEqual(
        twice.json(),
        envelope(400, 'validation_error', ['adapty-customer-user-id', 'This header must be sent only once.']),
      );
      assert.equal(await find({ customerUserId: 'twice-a, twice-b' }), null);
      assert.equal(await find({ customerUserId: 'twice-a' }), null);
    });

    test('header errors come before body errors, and body errors before the profile lookup', async () => {
      const badHeader = await send(ctx.app, 'PATCH', PROFILE_PATH, byId('nope'), { gender: 'x' });
      assert.equal(badHeader.statusCode, 400);
      assert.deepEqual(badHeader.json(), envelope(400, 'validation_error', ['adapty-profile-id', 'Must be a valid UUID.']));
      const noHeader = await send(ctx.app, 'POST', PROFILE_PATH, tenant.auth, { gender: 'x' });
      assert.equal(noHeader.statusCode, 400);
      assert.deepEqual(noHeader.json(), NO_ADDRESS);
      const missingProfile = await send(ctx.app, 'PATCH', PROFILE_PATH, byUser('order-missing'), { gender: 'x' });
      assert.equal(missingProfile.statusCode, 400);
      assert.deepEqual(missingProfile.json(), envelope(400, 'validation_error', ['gender', 'Must be one of: f, m, o.']));
    });

    test('the adapty-platform header is matched without regard to case', async () => {
      for (const value of ['ios', 'ANDROID', 'Web', 'visionos']) {
        const res = await send(ctx.app, 'POST', PROFILE_PATH, { ...byUser('platform-case'), 'adapty-platform': value }, {
          installation_meta: { device_id: randomUUID() },
        });
        assert.equal(res.statusCode, 200, `${value}: ${res.body}`);
      }
    });

    test('a bad adapty-platform header is a 400 on adapty-platform and creates nothing', async () => {
      const expected = envelope(400, 'validation_error', [
        'adapty-platform',
        'Must be one of: iOS, macOS, iPadOS, Android, visionOS, web.',
      ]);
      for (const method of ['POST', 'PATCH'] as const) {
        const res = await send(ctx.app, method, PROFILE_PATH, { ...byUser('bad-platform'), 'adapty-platform': 'Windows' }, {
          installation_meta: { device_id: randomUUID() },
        });
        assert.equal(res.statusCode, 400, method);
        assert.deepEqual(res.json(), expected, method);
      }
      assert.equal(await find({ customerUserId: 'bad-platform' }), null);
      const good = await ok('POST', { ...byUser('good-platform'), 'adapty-platform': 'iOS' }, {
        installation_meta: { device_id: randomUUID() },
      });
      assert.equal(good.customer_user_id, 'good-platform');
    });
  });
}
