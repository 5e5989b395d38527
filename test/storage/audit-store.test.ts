import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateApiKey } from '../../src/domain/api-keys.js';
import type { AuditDetail } from '../../src/domain/audit.js';
import { AppNameTakenError } from '../../src/errors.js';
import { KyselyStore } from '../../src/storage/kysely-store.js';
import { createTestDatabase, DATABASES, onDatabase, queryRows, type TestDatabase } from '../helpers.js';

/** Store.manage: a management change and its audit entry are one transaction, on every dialect. */
for (const kind of DATABASES) {
  describe(`management changes and their audit entries (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let appId: string;
    before(async () => {
      database = await createTestDatabase(kind);
      store = KyselyStore.open(database.config);
      await store.migrate();
      appId = (await store.createApp(`audit-${kind}`)).id;
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    const rows = (table: string, where = '1 = 1') => queryRows(database, `select * from ${table} where ${where}`);

    test('a change and its entry are written together, with the actor, the action, the target and the detail', async () => {
      const secret = generateApiKey();
      const key = await store.manage('cli', async (tx) => {
        const added = await tx.addApiKey(appId, secret, 'together', { scope: 'write', generated: true });
        return { result: added.key, audit: { appId, action: 'key.create', targetId: added.key.id, detail: { name: 'together' } } };
      });
      assert.equal(key.scope, 'write');
      const [entry] = await rows('audit_log', `target_id = '${key.id}'`);
      assert.equal(entry!.actor, 'cli');
      assert.equal(entry!.action, 'key.create');
      assert.equal(entry!.app_id, appId);
      assert.deepEqual(JSON.parse(String(entry!.detail)), { name: 'together' });
    });

    test('a change that fails after writing leaves neither the change nor an entry', async () => {
      const before = (await rows('audit_log')).length;
      await assert.rejects(
        store.manage('cli', async (tx) => {
          await tx.webhooks.addEndpoint(appId, { url: 'http://127.0.0.1:9/undone', eventTypes: ['profile.created'], secret: 'whsec_0123456789abcdef0123456789abcdef' });
          await tx.revenue.setRate(appId, 'EUR', 1.1);
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      assert.deepEqual(await rows('webhook_endpoints', `url = 'http://127.0.0.1:9/undone'`), []);
      assert.deepEqual(await rows('currency_rates', `app_id = '${appId}'`), []);
      assert.equal((await rows('audit_log')).length, before);
    });

    test('an entry that cannot be written undoes its change', async () => {
      const secret = generateApiKey();
      await assert.rejects(
        store.manage('cli', async (tx) => {
          const added = await tx.addApiKey(appId, secret, 'undone');
          // JSON cannot hold a BigInt: writing the entry throws, inside the transaction.
          return { result: added, audit: { appId, action: 'key.create', targetId: added.key.id, detail: { big: 1n } as unknown as AuditDetail } };
        }),
        TypeError,
      );
      assert.deepEqual(await rows('api_keys', `name = 'undone'`), []);
      assert.equal(await store.findKeyOwner(secret), null);
    });

    test('a refused app name rolls back alone; concurrent changes keep their own entries', async () => {
      const results = await Promise.allSettled([
        store.manage('cli', async (tx) => ({ result: await tx.createApp(`audit-${kind}`), audit: null })),
        store.manage('cli', async (tx) => {
          const app = await tx.createApp(`audit-${kind}-second`);
          return { result: app, audit: { appId: app.id, action: 'app.create', targetId: app.id, detail: { name: app.name } } };
        }),
        store.manage('cli', async (tx) => {
          await tx.revenue.addAccessLevel(appId, 'concurrent');
          return { result: null, audit: { appId, action: 'access_level.add', targetId: 'concurrent', detail: {} } };
        }),
      ]);
      assert.equal(results[0].status, 'rejected');
      assert.ok((results[0] as PromiseRejectedResult).reason instanceof AppNameTakenError);
      assert.equal(results[1].status, 'fulfilled');
      assert.equal(results[2].status, 'fulfilled');
      const second = (results[1] as PromiseFulfilledResult<{ id: string }>).value;
      assert.equal((await rows('audit_log', `action = 'app.create' and app_id = '${second.id}'`)).length, 1);
      assert.equal((await rows('audit_log', `target_id = 'concurrent'`)).length, 1);
      assert.equal((await rows('paid_access_levels', `id = 'concurrent'`)).length, 1);
    });

    test('the trail is read newest first, a page at a time, one app at a time', async () => {
      const other = (await store.createApp(`audit-${kind}-paged`)).id;
      for (const currency of ['AAA', 'BBB', 'CCC']) {
        await store.manage('cli', async (tx) => {
          await tx.revenue.setRate(other, currency, 2);
          return { result: null, audit: { appId: other, action: 'currency_rate.set', targetId: currency, detail: { usd_per_unit: 2 } } };
        });
      }
      const first = await store.auditLog(other, { limit: 2 });
      assert.deepEqual(first.entries.map((entry) => entry.targetId), ['CCC', 'BBB']);
      assert.equal(first.next, first.entries[1]!.id);
      const second = await store.auditLog(other, { limit: 2, before: first.next! });
      assert.deepEqual(second.entries.map((entry) => entry.targetId), ['AAA']);
      assert.equal(second.next, null);
      assert.deepEqual(second.entries[0]!.detail, { usd_per_unit: 2 });
      assert.equal(second.entries[0]!.actor, 'cli');
      assert.ok(!(await store.auditLog(appId, { limit: 100 })).entries.some((entry) => entry.appId === other));
    });

    test('keys made before scopes existed are admin keys (the column default the migration gives every existing row)', async () => {
      const id = `pre-scope-${kind}`;
      const now = Date.now();
      const client = database.config.kind;
      const insert = `insert into api_keys (id, app_id, name, key_hash, hint, created_at) values ('${id}', '${appId}', 'old', 'hash-${kind}', 'old-…', ${now})`;
      if (client === 'sqlite') {
        const { default: Sqlite } = await import('better-sqlite3');
        const db = new Sqlite(database.config.kind === 'sqlite' ? database.config.file : '');
        db.exec(insert);
        db.close();
      } else {
        const { default: pg } = await import('pg');
        const db = new pg.Client({ connectionString: database.config.kind === 'postgres' ? database.config.url : '' });
        await db.connect();
        await db.query(insert);
        await db.end();
      }
      const [key] = (await store.listApiKeys(appId)).filter((candidate) => candidate.id === id);
      assert.deepEqual({ scope: key!.scope, expiresAt: key!.expiresAt, lastUsedAt: key!.lastUsedAt }, { scope: 'admin', expiresAt: null, lastUsedAt: null });
    });
  });
}
