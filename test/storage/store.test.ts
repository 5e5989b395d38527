import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateApiKey, hashApiKey } from '../../src/domain/api-keys.js';
import { AppNameTakenError, CustomAttributeLimitError, CustomerUserIdTakenError } from '../../src/errors.js';
import { createServices, type Services } from '../../src/services/index.js';
import { KyselyStore } from '../../src/storage/kysely-store.js';
import { createTestDatabase, DATABASES, onDatabase, queryRows, type TestDatabase } from '../helpers.js';
import { runCliProcess } from '../process-helpers.js';

const ACTOR = { source: 'api', apiKeyId: null, requestId: null } as const;

/** The storage contract: every dialect must pass the same suite against the Store interface and the services over it. */
for (const kind of DATABASES) {
  test(`${kind}: processes migrating one fresh database at once migrate it exactly once`, onDatabase(kind), async () => {
    const database = await createTestDatabase(kind);
    const url = database.config.kind === 'sqlite' ? `sqlite:${database.config.file}` : database.config.url;
    try {
      const runs = await Promise.all(Array.from({ length: 4 }, () => runCliProcess(['--database-url', url, 'migrate'])));
      for (const run of runs) assert.equal(run.code, 0, run.stderr);
      const applied = await queryRows(database, 'select name from kysely_migration');
      assert.deepEqual(applied.map((row) => row.name), ['0001_core', '0002_history_and_rules', '0003_webhooks', '0004_revenue', '0005_keys_audit', '0006_history_erasure', '0007_destinations', '0008_one_statement_writes', '0009_pending_queue']);
    } finally {
      await database.drop();
    }
  });

  describe(`Store contract (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let services: Services;
    let appId: string;
    before(async () => {
      database = await createTestDatabase(kind);
      store = KyselyStore.open(database.config);
      services = createServices(store);
      await store.migrate();
      appId = (await store.createApp('contract')).id;
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    test('migrate is idempotent and ping answers', async () => {
      await store.migrate();
      await store.ping();
      assert.equal(store.dialect, kind);
    });

    test('apps are listed in creation order, found by id, and named uniquely', async () => {
      const second = await store.createApp(`second-${randomUUID()}`);
      await assert.rejects(store.createApp('contract'), AppNameTakenError);
      const apps = await store.listApps();
      assert.equal(apps[0]!.id, appId);
      assert.ok(apps.some((app) => app.id === second.id));
      assert.deepEqual(await store.findApp(second.id), second);
      assert.equal(await store.findApp(randomUUID()), null);
    });

    test('keys are stored only as hashes, found while not revoked, and added idempotently', async () => {
      const secret = generateApiKey();
      const { key, created } = await store.addApiKey(appId, secret, 'k1', { generated: true });
      assert.equal(created, true);
      assert.equal(key.appId, appId);
      assert.match(key.hint, /^secret_live_[A-Za-z0-9]{8}\.…$/);
      assert.deepEqual(await store.findKeyOwner(secret), { keyId: key.id, appId, scope: 'admin', expiresAt: null });
      const again = await store.addApiKey(appId, secret, 'k1 again');
      assert.equal(again.created, false);
      assert.equal(again.key.id, key.id);
      // The secret itself is nowhere in the table; its SHA-256 is.
      const rows = await queryRows(database, `select * from api_keys where id = '${key.id}'`);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.key_hash, hashApiKey(secret));
      assert.ok(!JSON.stringify(rows).includes(secret.split('.')[1]!));
      assert.equal(await store.revokeApiKey(key.id), true);
      assert.equal(await store.findKeyOwner(secret), null);
      const [listed] = (await store.listApiKeys(appId)).filter((k) => k.id === key.id);
      assert.ok(listed!.revokedAt !== null && listed!.revokedAt <= Date.now());
      assert.equal(await store.revokeApiKey(randomUUID()), false);
    });

    test('profiles.ensure creates once per customer user id and applies the patch', async () => {
      const first = await services.profiles.ensure(appId, { customerUserId: 'c1' }, { attributes: { first_name: 'Ann' } });
      const second = await services.profiles.ensure(appId, { customerUserId: 'c1' }, { attributes: {} });
      assert.equal(first.profileId, second.profileId);
      assert.equal(second.attributes.first_name, 'Ann');
      assert.equal(second.customerUserId, 'c1');
    });

    test('profiles.ensure with a profile id creates exactly that id, and attaches a customer user id', async () => {
      const id = randomUUID();
      const created = await services.profiles.ensure(appId, { profileId: id }, { attributes: {} });
      assert.equal(created.profileId, id);
      assert.equal(created.customerUserId, null);
      const attached = await services.profiles.ensure(appId, { profileId: id, customerUserId: 'c2' }, { attributes: {} });
      assert.equal(attached.customerUserId, 'c2');
      assert.equal((await store.findProfile(appId, { customerUserId: 'c2' }))?.profileId, id);
    });

    test('attaching a customer user id held by another profile fails and writes nothing', async () => {
      const other = randomUUID();
      await services.profiles.ensure(appId, { profileId: other }, { attributes: { last_name: 'Before' } });
      await assert.rejects(
        services.profiles.ensure(appId, { profileId: other, customerUserId: 'c1' }, { attributes: { last_name: 'After' } }),
        CustomerUserIdTakenError,
      );
      await assert.rejects(
        services.profiles.ensure(appId, { profileId: randomUUID(), customerUserId: 'c1' }, { attributes: {} }),
        CustomerUserIdTakenError,
      );
      const after = await store.findProfile(appId, { profileId: other });
      assert.equal(after?.attributes.last_name, 'Before');
      assert.equal(after?.customerUserId, null);
    });

    test('custom attributes merge by key, delete on null, and keep their type', async () => {
      const { profileId } = await services.profiles.ensure(appId, { customerUserId: 'attrs' }, {
        attributes: {},
        customAttributes: [{ key: 'a', value: 'x' }, { key: 'b', value: 2.5 }],
      });
      const updated = await services.profiles.update(appId, { profileId }, {
        attributes: {},
        customAttributes: [{ key: 'a', value: null }, { key: 'c', value: 3 }],
      });
      assert.deepEqual(updated?.customAttributes, [{ key: 'b', value: 2.5 }, { key: 'c', value: 3 }]);
      const cleared = await services.profiles.update(appId, { profileId }, { attributes: {}, customAttributes: null });
      assert.deepEqual(cleared?.customAttributes, []);
    });

    test('more than 30 custom attributes fails the whole patch', async () => {
      const { profileId } = await services.profiles.ensure(appId, { customerUserId: 'many' }, {
        attributes: {},
        customAttributes: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i })),
      });
      await assert.rejects(
        services.profiles.update(appId, { profileId }, {
          attributes: { first_name: 'Changed' },
          customAttributes: [{ key: 'one_more', value: 1 }],
        }),
        CustomAttributeLimitError,
      );
      const after = await store.findProfile(appId, { profileId });
      assert.equal(after?.customAttributes.length, 30);
      assert.equal(after?.attributes.first_name, null);
    });

    test('identifiers merge, clear, and are scoped to the app', async () => {
      const { profileId } = await services.profiles.ensure(appId, { customerUserId: 'ids' }, { attributes: {} });
      assert.equal((await services.identifiers.set(appId, { profileId }, new Map([['appsflyer_id', 'af'], ['branch_id', 'br']]), ACTOR))?.changes.length, 2);
      await services.identifiers.set(appId, { customerUserId: 'ids' }, new Map([['branch_id', null], ['adjust_device_id', 'ad']]), ACTOR);
      const ids = await store.getIdentifiers(appId, { profileId, customerUserId: 'ids' });
      assert.equal(ids?.appsflyer_id, 'af');
      assert.equal(ids?.branch_id, null);
      assert.equal(ids?.adjust_device_id, 'ad');
      const otherApp = (await store.createApp(`other-${randomUUID()}`)).id;
      assert.equal(await store.getIdentifiers(otherApp, { profileId }), null);
      assert.equal(await services.identifiers.set(otherApp, { profileId }, new Map([['appsflyer_id', 'x']]), ACTOR), null);
      assert.equal((await store.getIdentifiers(appId, { profileId }))?.appsflyer_id, 'af');
    });

    test('addresses that do not match one profile find nothing', async () => {
      const { profileId } = await services.profiles.ensure(appId, { customerUserId: 'addr' }, { attributes: {} });
      assert.equal(await store.findProfile(appId, { profileId, customerUserId: 'someone-else' }), null);
      assert.equal(await store.getIdentifiers(appId, { customerUserId: 'nobody' }), null);
      assert.equal(await services.identifiers.set(appId, { profileId: randomUUID() }, new Map([['branch_id', 'x']]), ACTOR), null);
      assert.equal(await services.profiles.update(appId, { customerUserId: 'nobody' }, { attributes: {} }), null);
      assert.equal(await services.profiles.delete(appId, { customerUserId: 'nobody' }), false);
    });

    test('deleting a profile removes its identifiers and attributes', async () => {
      const { profileId } = await services.profiles.ensure(appId, { customerUserId: 'gone' }, {
        attributes: {},
        customAttributes: [{ key: 'a', value: 1 }],
        installation: { device_id: randomUUID(), os: 'iOS 17' },
      });
      await services.identifiers.set(appId, { profileId }, new Map([['mixpanel_user_id', 'mx']]), ACTOR);
      assert.equal(await services.profiles.delete(appId, { profileId }), true);
      assert.equal(await store.findProfile(appId, { profileId }), null);
      const again = await services.profiles.ensure(appId, { profileId }, { attributes: {} });
      assert.deepEqual(again.customAttributes, []);
      assert.equal((await store.getIdentifiers(appId, { profileId }))?.mixpanel_user_id, null);
    });

    test('concurrent creates of one customer user id make exactly one profile', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => services.profiles.ensure(appId, { customerUserId: 'race' }, { attributes: {} })),
      );
      assert.equal(new Set(results.map((r) => r.profileId)).size, 1);
    });

    test('concurrent identifier writes to one profile all survive', async () => {
      const { profileId } = await services.profiles.ensure(appId, { customerUserId: 'busy' }, { attributes: {} });
      const keys = ['adjust_device_id', 'airbridge_device_id', 'amplitude_device_id', 'amplitude_user_id', 'appsflyer_id', 'branch_id'] as const;
      await Promise.all(keys.map((key) => services.identifiers.set(appId, { profileId }, new Map([[key, `v-${key}`]]), ACTOR)));
      const ids = await store.getIdentifiers(appId, { profileId });
      for (const key of keys) assert.equal(ids?.[key], `v-${key}`);
    });

    test('transactions: one per store and id, replaced when saved again; access ends; the profile skips the revenue read until it has any', async () => {
      const { profileId } = await services.profiles.ensure(appId, { customerUserId: 'buyer' }, { attributes: {} });
      assert.deepEqual((await store.findProfile(appId, { profileId }))!.revenue, { transactions: [], grants: [] });
      const now = Date.now();
      const record = {
        profileId, purchaseId: randomUUID(), purchaseType: 'subscription' as const, store: 'app_store', storeProductId: 'monthly',
        storeBasePlanId: null, storeTransactionId: 't-1', storeOriginalTransactionId: 't-1', environment: 'Production' as const,
        isFamilyShared: false, price: { country: 'US', currency: 'USD', value: 4.99 }, priceUsd: 4.99, purchasedAt: now - 1000,
        originallyPurchasedAt: now - 1000, expiresAt: now + 86_400_000, renewStatus: true, renewStatusChangedAt: null,
        billingIssueDetectedAt: null, gracePeriodExpiresAt: null, variationId: null, offer: { category: 'promotional' as const, type: 'pay_up_front' as const, id: 'o-1' },
        refundedAt: null, cancellationReason: null, accessLevelId: 'premium', isConsumable: false, accessEndsAt: null, createdAt: now, updatedAt: now,
      };
      await store.write(async (tx) => {
        await tx.saveTransaction(appId, record);
        await tx.saveTransaction(appId, { ...record, renewStatus: false, updatedAt: now + 1 });
        await tx.markRevenue(appId, profileId, now);
        await tx.saveGrant(appId, { profileId, accessLevelId: 'vip', startsAt: null, expiresAt: null, accessEndsAt: null, grantedAt: now });
        await tx.endAccess(appId, profileId, 'premium', now + 5000);
      });
      const { revenue } = (await store.findProfile(appId, { profileId }))!;
      assert.deepEqual(revenue.transactions, [{ ...record, renewStatus: false, updatedAt: now + 1, accessEndsAt: now + 5000 }]);
      assert.deepEqual(revenue.grants, [{ profileId, accessLevelId: 'vip', startsAt: null, expiresAt: null, accessEndsAt: null, grantedAt: now }]);
      const found = await store.write((tx) => tx.findTransaction(appId, 'app_store', 't-1'));
      assert.equal(found?.profileId, profileId);
      assert.equal(await store.write((tx) => tx.findTransaction(appId, 'play_store', 't-1')), null);
      // Another app never sees it.
      const other = (await store.createApp('contract-other')).id;
      assert.equal(await store.write((tx) => tx.findTransaction(other, 'app_store', 't-1')), null);
      assert.equal(await services.profiles.delete(appId, { profileId }), true);
      assert.equal(await store.write((tx) => tx.findTransaction(appId, 'app_store', 't-1')), null);
    });

    // Plans are SQLite's: without statistics it would rather walk the app by a key that starts with app_id.
    if (kind === 'sqlite') test('a profile\'s revenue is read by its key range, a transaction by its store id (plans pinned)', async () => {
      const plan = async (sql: string) => (await queryRows(database, `explain query plan ${sql}`)).map((row) => String(row.detail)).join(' | ');
      assert.match(await plan("select * from transactions where app_id = 'a' and profile_id = 'p'"), /USING PRIMARY KEY \(app_id=\? AND profile_id=\?\)/);
      assert.match(await plan("select * from access_grants where app_id = 'a' and profile_id = 'p'"), /USING PRIMARY KEY \(app_id=\? AND profile_id=\?\)/);
      assert.match(
        await plan("select * from transactions where app_id = 'a' and store = 's' and store_transaction_id = 't'"),
        /USING INDEX transactions_store_id_uq \(app_id=\? AND store=\? AND store_transaction_id=\?\)/,
      );
    });
  });
}
