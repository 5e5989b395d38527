import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { queryRows } from '../../../test/helpers.js';
import { CrosswalkNotFoundError } from '../src/index.js';
import { type Crosswalk, startCrosswalk, userId } from './support.js';

describe('profile operations against the real server', () => {
  let server: Crosswalk;
  before(async () => {
    server = await startCrosswalk();
  });
  after(() => server?.stop());

  test('createProfile creates a profile by customer user id and is idempotent', async () => {
    const client = server.client();
    const customerUserId = userId('create');
    const created = await client.createProfile(
      { customerUserId },
      { first_name: 'Ada', custom_attributes: [{ key: 'plan', value: 'pro' }, { key: 'level', value: 3 }] },
    );
    assert.equal(created.customer_user_id, customerUserId);
    assert.match(created.profile_id, /^[0-9a-f-]{36}$/);
    assert.equal(created.total_revenue_usd, 0);
    assert.match(created.segment_hash, /^[0-9a-f]{16}$/);
    assert.equal(typeof created.timestamp, 'number');
    assert.deepEqual(created.custom_attributes, [{ key: 'level', value: 3 }, { key: 'plan', value: 'pro' }]);
    assert.deepEqual([created.access_levels, created.subscriptions, created.non_subscriptions], [[], [], []]);

    const again = await client.createProfile({ customerUserId });
    assert.equal(again.profile_id, created.profile_id);
  });

  test('createProfile by profile id creates exactly that id; both ids attach the customer user id', async () => {
    const client = server.client();
    const profileId = randomUUID();
    const byId = await client.createProfile({ profileId });
    assert.equal(byId.profile_id, profileId);
    assert.equal(byId.customer_user_id, null);

    const customerUserId = userId('attach');
    const attached = await client.createProfile({ profileId: profileId.toUpperCase(), customerUserId });
    assert.equal(attached.profile_id, profileId);
    assert.equal(attached.customer_user_id, customerUserId);
  });

  test('createProfile sends the platform option as adapty-platform', async () => {
    const customerUserId = userId('platform');
    const deviceId = randomUUID();
    await server.client().createProfile({ customerUserId }, { installation_meta: { device_id: deviceId, os: '17.1' } }, { platform: 'iOS' });
    const rows = await queryRows(server.database, `select meta from installations where device_id = '${deviceId}'`);
    assert.equal(rows.length, 1);
    assert.equal((JSON.parse(String(rows[0]!.meta)) as { platform?: string }).platform, 'iOS');
  });

  test('getProfile reads by customer user id, by profile id and by both', async () => {
    const client = server.client();
    const customerUserId = userId('get');
    const created = await client.createProfile({ customerUserId });
    for (const address of [{ customerUserId }, { profileId: created.profile_id }, { customerUserId, profileId: created.profile_id }]) {
      const read = await client.getProfile(address);
      assert.equal(read.profile_id, created.profile_id);
      assert.equal(read.customer_user_id, customerUserId);
    }
  });

  test('updateProfile changes fields, merges custom attributes and deletes with null', async () => {
    const client = server.client();
    const customerUserId = userId('update');
    const created = await client.createProfile({ customerUserId }, { custom_attributes: [{ key: 'a', value: 'x' }, { key: 'b', value: 1 }] });
    const updated = await client.updateProfile(
      { customerUserId },
      { email: 'ada@example.com', gender: 'f', att_status: 3, custom_attributes: [{ key: 'a', value: null }, { key: 'c', value: 'y' }] },
      { platform: 'Android' },
    );
    assert.equal(updated.profile_id, created.profile_id);
    assert.deepEqual(updated.custom_attributes, [{ key: 'b', value: 1 }, { key: 'c', value: 'y' }]);
    assert.notEqual(updated.segment_hash, created.segment_hash);

    const cleared = await client.updateProfile({ profileId: created.profile_id }, { email: null, custom_attributes: null });
    assert.deepEqual(cleared.custom_attributes, []);
  });

  test('deleteProfile removes the profile', async () => {
    const client = server.client();
    const customerUserId = userId('delete');
    await client.createProfile({ customerUserId });
    assert.equal(await client.deleteProfile({ customerUserId }), undefined);
    await assert.rejects(client.getProfile({ customerUserId }), CrosswalkNotFoundError);
  });

  test('a non-ASCII customer user id round-trips as UTF-8', async () => {
    const client = server.client();
    const customerUserId = `Zoë-Ñandú-用户-🚀-${randomUUID()}`;
    const created = await client.createProfile({ customerUserId });
    assert.equal(created.customer_user_id, customerUserId);
    const read = await client.getProfile({ customerUserId });
    assert.equal(read.profile_id, created.profile_id);
    assert.equal(read.customer_user_id, customerUserId);
    await client.setIntegrationIdentifiers({ customerUserId }, { amplitude_user_id: customerUserId });
    assert.equal((await client.getIntegrationIdentifiers({ customerUserId })).amplitude_user_id, customerUserId);
    const rows = await queryRows(server.database, `select customer_user_id from profiles where id = '${created.profile_id}'`);
    assert.equal(rows[0]!.customer_user_id, customerUserId);
  });
});
