import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  addressing,
  createTestContext,
  DATABASES,
  onDatabase,
  envelope,
  IDENTIFIERS_PATH,
  PROFILE_PATH,
  profileOk,
  send,
  type Tenant,
  type TestContext,
} from '../helpers.js';

// `[]` (PHP's json_encode of an empty array) is read as `{}` where an empty body is: profile create
// and update, set integration identifiers. Any other array stays what it is, and is refused.

const PROFILE_NOT_OBJECT = envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object.']);
const IDENTIFIERS_NOT_OBJECT = envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object of integration identifiers.']);
const NONE_GIVEN = envelope(400, 'validation_error', ['non_field_errors', 'At least one integration identifier must be provided.']);

/** A profile as answered, without the time of the answer. */
const withoutTimestamp = ({ timestamp: _, ...rest }: Record<string, unknown>) => rest;

for (const kind of DATABASES) {
  describe(`an empty JSON array body (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    const { byUser } = addressing(() => tenant);
    const find = (customerUserId: string) => ctx.store.findProfile(tenant.appId, { customerUserId });

    test('profile create with [] is a 200 that creates the profile, as {} does', async () => {
      const created = await profileOk(ctx.app, 'POST', byUser('php-create'), '[]');
      assert.equal(created.customer_user_id, 'php-create');
      assert.equal((await find('php-create'))?.profileId, created.profile_id);
      const again = await profileOk(ctx.app, 'POST', byUser('php-create'), {});
      assert.deepEqual(withoutTimestamp(again), withoutTimestamp(created));
      const arrayAgain = await profileOk(ctx.app, 'POST', byUser('php-create'), '[]');
      assert.deepEqual(withoutTimestamp(arrayAgain), withoutTimestamp(created));
    });

    test('profile update with [] is a 200 that changes nothing, as {} does', async () => {
      const seeded = await profileOk(ctx.app, 'POST', byUser('php-update'), { first_name: 'Ann', custom_attributes: [{ key: 'plan', value: 'pro' }] });
      const stored = await find('php-update');
      const withArray = await profileOk(ctx.app, 'PATCH', byUser('php-update'), '[]');
      const withObject = await profileOk(ctx.app, 'PATCH', byUser('php-update'), {});
      assert.deepEqual(withoutTimestamp(withArray), withoutTimestamp(seeded));
      assert.deepEqual(withoutTimestamp(withObject), withoutTimestamp(seeded));
      assert.deepEqual(await find('php-update'), stored);
    });

    test('set integration identifiers with [] is exactly the 400 of {}', async () => {
      await profileOk(ctx.app, 'POST', byUser('php-ids'), {});
      const withArray = await send(ctx.app, 'POST', IDENTIFIERS_PATH, byUser('php-ids'), '[]');
      const withObject = await send(ctx.app, 'POST', IDENTIFIERS_PATH, byUser('php-ids'), {});
      assert.equal(withArray.statusCode, 400);
      assert.deepEqual(withArray.json(), NONE_GIVEN);
      assert.equal(withObject.statusCode, 400);
      assert.equal(withArray.body, withObject.body);
    });

    test('a non-empty array is still refused as not an object, and writes nothing', async () => {
      const stored = await find('php-update');
      for (const raw of ['[1]', '[{}]', '[[]]']) {
        for (const method of ['POST', 'PATCH'] as const) {
          const res = await send(ctx.app, method, PROFILE_PATH, byUser('php-update'), raw);
          assert.equal(res.statusCode, 400, `${method} ${raw}`);
          assert.deepEqual(res.json(), PROFILE_NOT_OBJECT, `${method} ${raw}`);
        }
        const created = await send(ctx.app, 'POST', PROFILE_PATH, byUser('php-never'), raw);
        assert.deepEqual(created.json(), PROFILE_NOT_OBJECT, raw);
        const ids = await send(ctx.app, 'POST', IDENTIFIERS_PATH, byUser('php-update'), raw);
        assert.equal(ids.statusCode, 400, raw);
        assert.deepEqual(ids.json(), IDENTIFIERS_NOT_OBJECT, raw);
      }
      assert.deepEqual(await find('php-update'), stored);
      assert.equal(await find('php-never'), null);
    });

    test('a route without the hook refuses [] as any other array', async () => {
      const res = await send(ctx.app, 'POST', '/crosswalk/v1/webhooks/endpoints/', tenant.auth, '[]');
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error_code, 'validation_error');
      assert.deepEqual(res.json(), (await send(ctx.app, 'POST', '/crosswalk/v1/webhooks/endpoints/', tenant.auth, '[1]')).json());
    });
  });
}
