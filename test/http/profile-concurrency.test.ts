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

// Profile operations racing each other. On PostgreSQL these really run in parallel (pool of 10).

const TAKEN = envelope(400, 'validation_error', ['adapty-customer-user-id', 'This customer user id already belongs to another profile.']);
const TOO_MANY = envelope(400, 'validation_error', ['custom_attributes', 'A profile can have at most 30 custom attributes.']);
const N = 10;

for (const kind of DATABASES) {
  describe(`profile concurrency (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    const { byUser, byId } = addressing(() => tenant);
    const times = <T>(count: number, make: (i: number) => Promise<T>) => Promise.all(Array.from({ length: count }, (_, i) => make(i)));

    test('concurrent creates of one customer user id make exactly one profile, and all get it', async () => {
      const answers = await times(N, (i) => send(ctx.app, 'POST', PROFILE_PATH, byUser('race-cuid'), { custom_attributes: [{ key: `k${i}`, value: i }] }));
      for (const res of answers) assert.equal(res.statusCode, 200, res.body);
      const ids = new Set(answers.map((res) => res.json().data.profile_id));
      assert.equal(ids.size, 1, [...ids].join(', '));
      const stored = await ctx.store.findProfile(tenant.appId, { customerUserId: 'race-cuid' });
      assert.equal(stored?.profileId, [...ids][0]);
      // Every request's body was applied.
      assert.equal(stored?.customAttributes.length, N);
    });

    test('concurrent creates of one profile id make exactly that profile', async () => {
      const id = randomUUID();
      const answers = await times(N, () => send(ctx.app, 'POST', PROFILE_PATH, byId(id), {}));
      for (const res of answers) {
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().data.profile_id, id);
      }
    });

    test('different profile ids racing for one customer user id: exactly one gets it, the others create nothing', async () => {
      const ids = Array.from({ length: N }, () => randomUUID());
      const answers = await times(N, (i) =>
        send(ctx.app, 'POST', PROFILE_PATH, { ...byId(ids[i]!), 'adapty-customer-user-id': 'race-attach' }, {}),
      );
      const winners = answers.filter((res) => res.statusCode === 200);
      assert.equal(winners.length, 1, answers.map((res) => res.statusCode).join(','));
      for (const res of answers) {
        if (res.statusCode !== 200) {
          assert.equal(res.statusCode, 400, res.body);
          assert.deepEqual(res.json(), TAKEN);
        }
      }
      const winner = winners[0]!.json().data.profile_id;
      assert.equal((await ctx.store.findProfile(tenant.appId, { customerUserId: 'race-attach' }))?.profileId, winner);
      for (const id of ids) {
        const stored = await ctx.store.findProfile(tenant.appId, { profileId: id });
        assert.equal(stored === null, id !== winner, id);
      }
    });

    test('concurrent PATCHes of different custom attributes keep them all', async () => {
      await send(ctx.app, 'POST', PROFILE_PATH, byUser('race-merge'), {});
      const answers = await times(N, (i) =>
        send(ctx.app, 'PATCH', PROFILE_PATH, byUser('race-merge'), { custom_attributes: [{ key: `key${i}`, value: `v${i}` }] }),
      );
      for (const res of answers) assert.equal(res.statusCode, 200, res.body);
      const stored = await ctx.store.findProfile(tenant.appId, { customerUserId: 'race-merge' });
      assert.deepEqual(
        stored?.customAttributes.map((a) => a.key).sort(),
        Array.from({ length: N }, (_, i) => `key${i}`).sort(),
      );
    });

    test('concurrent PATCHes never take a profile past 30 custom attributes', async () => {
      const start = Array.from({ length: 28 }, (_, i) => ({ key: `base${i}`, value: i }));
      const created = await send(ctx.app, 'POST', PROFILE_PATH, byUser('race-limit'), { custom_attributes: start });
      assert.equal(created.statusCode, 200, created.body);
      const answers = await times(N, (i) =>
        send(ctx.app, 'PATCH', PROFILE_PATH, byUser('race-limit'), { custom_attributes: [{ key: `extra${i}`, value: i }] }),
      );
      const ok = answers.filter((res) => res.statusCode === 200).length;
      for (const res of answers) {
        if (res.statusCode !== 200) {
          assert.equal(res.statusCode, 400, res.body);
          assert.deepEqual(res.json(), TOO_MANY);
        }
      }
      assert.equal(ok, 2);
      const stored = await ctx.store.findProfile(tenant.appId, { customerUserId: 'race-limit' });
      assert.equal(stored?.customAttributes.length, 30);
    });

    test('a PATCH racing a DELETE either lands before it or gets a 404; nothing survives the delete', async () => {
      for (let round = 0; round < 5; round++) {
        const cuid = `race-delete-${round}`;
        await send(ctx.app, 'POST', PROFILE_PATH, byUser(cuid), { custom_attributes: [{ key: 'k', value: 1 }] });
        const [patched, deleted] = await Promise.all([
          send(ctx.app, 'PATCH', PROFILE_PATH, byUser(cuid), { first_name: 'Late', custom_attributes: [{ key: 'late', value: 2 }] }),
          send(ctx.app, 'DELETE', PROFILE_PATH, byUser(cuid)),
        ]);
        assert.equal(deleted.statusCode, 204, deleted.body);
        assert.ok([200, 404].includes(patched.statusCode), patched.body);
        assert.equal(await ctx.store.findProfile(tenant.appId, { customerUserId: cuid }), null);
        const again = await send(ctx.app, 'POST', PROFILE_PATH, byUser(cuid), {});
        assert.deepEqual(again.json().data.custom_attributes, []);
      }
    });
  });
}
