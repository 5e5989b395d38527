import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DEFAULT_RULES } from '../../src/domain/rules.js';
import { HISTORY_PURGE_BATCH, HistoryRetention, IdentifierService } from '../../src/services/identifiers.js';
import {
  createTestContext,
  DATABASES,
  IDENTIFIERS_PATH,
  onDatabase,
  PROFILE_PATH,
  queryRows,
  send,
  type Tenant,
  type TestContext,
  type TestDatabase,
} from '../helpers.js';
import { startServer } from '../process-helpers.js';
import { databaseUrl, waitFor } from '../webhooks/support.js';

// The identifier history over time: a placeholder sent again and again is one entry, and with
// HISTORY_RETENTION_DAYS entries older than that are purged.

const HISTORY = '/crosswalk/v1/integration-identifiers/history/';
const BATCH = '/crosswalk/v1/integration-identifiers/batch/';
const DAY_MS = 86_400_000;

/** Runs a statement that changes rows, behind the app's back (queryRows opens SQLite read-only). */
async function execute(database: TestDatabase, text: string): Promise<void> {
  if (database.config.kind === 'sqlite') {
    const db = new SqliteDatabase(database.config.file);
    try {
      db.prepare(text).run();
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: database.config.url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

const countHistory = async (database: TestDatabase, where = '1 = 1') =>
  Number((await queryRows(database, `select count(*) as n from identifier_history where ${where}`))[0]!.n);

test('HISTORY_RETENTION_DAYS: 0 (keep every entry) by default, whole days up to 36500', () => {
  assert.equal(loadConfig({}).historyRetentionDays, 0);
  assert.equal(loadConfig({ HISTORY_RETENTION_DAYS: '400' }).historyRetentionDays, 400);
  for (const bad of ['-1', '1.5', 'a year', '36501']) {
    assert.throws(() => loadConfig({ HISTORY_RETENTION_DAYS: bad }), ConfigError, bad);
  }
});

for (const kind of DATABASES) {
  describe(`repeated placeholders in the history (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    before(async () => {
      ctx = await createTestContext(kind);
    });
    after(() => ctx.close());

    const entries = async (headers: Record<string, string>) => {
      const res = await send(ctx.app, 'GET', `${HISTORY}?limit=500`, headers);
      assert.equal(res.statusCode, 200, res.body);
      return (res.json().data as Record<string, unknown>[]).reverse().map(({ key, kind: k, old_value, new_value }) => [key, k, old_value, new_value]);
    };

    /** The same sequence of writes through single requests, and through batches of one item or all at once. */
    const writes: Record<string, unknown>[] = [
      { appsflyer_id: 'af-1' },
      { appsflyer_id: 'null' }, // dropped
      { appsflyer_id: 'null', branch_id: 'b-1' }, // the same drop again: no entry; branch_id is set
      { appsflyer_id: 'null' }, // again
      { appsflyer_id: 'NULL' }, // another placeholder text: an entry
      { appsflyer_id: 'NULL' }, // repeat of that one
      { appsflyer_id: 'af-2' }, // a real change
      { appsflyer_id: 'NULL' }, // the same placeholder, but the kept value changed: an entry
      { appsflyer_id: 'NULL', mixpanel_user_id: 'unknown' }, // repeat; a first drop on another key
      { mixpanel_user_id: 'unknown' }, // repeat
    ];
    const expected = [
      ['appsflyer_id', 'set', null, 'af-1'],
      ['appsflyer_id', 'dropped', 'af-1', 'null'],
      ['branch_id', 'set', null, 'b-1'],
      ['appsflyer_id', 'dropped', 'af-1', 'NULL'],
      ['appsflyer_id', 'change', 'af-1', 'af-2'],
      ['appsflyer_id', 'dropped', 'af-2', 'NULL'],
      ['mixpanel_user_id', 'dropped', null, 'unknown'],
    ];

    for (const rules of ['no conflict policy', 'a conflict policy (item by item)'] as const) {
      describe(`with ${rules}`, () => {
        let tenant: Tenant;
        before(async () => {
          tenant = await ctx.newTenant();
          if (rules !== 'no conflict policy') await ctx.store.setRules(tenant.appId, { ...DEFAULT_RULES, conflictPolicies: { pushwoosh_hwid: 'move' } });
        });
        const user = (cuid: string) => ({ ...tenant.auth, 'adapty-customer-user-id': cuid });

        test('single writes: a repeat of the same dropped placeholder over the same value adds no entry, but is still named', async () => {
          const headers = user(`single-${randomUUID()}`);
          assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
          for (const body of writes) {
            const res = await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, body);
            assert.equal(res.statusCode, 200, res.body);
            const named = Object.entries(body).filter(([, value]) => ['null', 'NULL', 'unknown'].includes(String(value))).map(([key]) => key);
            assert.equal(res.headers['crosswalk-dropped-identifiers'], named.length > 0 ? named.join(',') : undefined, JSON.stringify(body));
          }
          assert.deepEqual(await entries(headers), expected);
        });

        test('batches: the same entries, whether the writes come one batch each or all in one batch', async () => {
          for (const split of [true, false]) {
            const cuid = `batch-${split}-${randomUUID()}`;
            const items = writes.map((identifiers) => ({ customer_user_id: cuid, identifiers }));
            const bodies = split ? items.map((item) => ({ create_missing: true, items: [item] })) : [{ create_missing: true, items }];
            const dropped: unknown[] = [];
            for (const body of bodies) {
              const res = await send(ctx.app, 'POST', BATCH, tenant.auth, body);
              assert.equal(res.statusCode, 200, res.body);
              dropped.push(...res.json().data.map((r: { dropped: unknown[] }) => r.dropped.length));
            }
            // Every drop is still reported in its item's result.
            assert.deepEqual(dropped, [0, 1, 1, 1, 1, 1, 0, 1, 2, 1]);
            assert.deepEqual(await entries(user(cuid)), expected, `split: ${split}`);
          }
        });
      });
    }
  });

  describe(`history retention (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    /** A profile with `count` history entries (one key changed `count` times). */
    async function withHistory(count: number) {
      const headers = { ...tenant.auth, 'adapty-customer-user-id': `h-${randomUUID()}` };
      const profileId = (await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).json().data.profile_id as string;
      for (let start = 0; start < count; start += 500) {
        const items = Array.from({ length: Math.min(500, count - start) }, (_, i) => ({ profile_id: profileId, identifiers: { branch_id: `v${start + i}` } }));
        assert.equal((await send(ctx.app, 'POST', BATCH, tenant.auth, { items })).statusCode, 200);
      }
      return { profileId, headers };
    }

    test('a purge deletes the entries older than the retention, in batches, a slice per poll, then waits an hour', async () => {
      const old = await withHistory(HISTORY_PURGE_BATCH + 150);
      const recent = await withHistory(20);
      const retention = 30 * DAY_MS;
      // Written 31 days ago, as far as the history knows.
      await execute(ctx.database, `update identifier_history set changed_at = changed_at - ${31 * DAY_MS} where profile_id = '${old.profileId}'`);
      let now = Date.now();
      const task = new HistoryRetention(new IdentifierService(ctx.store), retention, { sliceMs: 0, clock: () => now });

      // A slice of 0 ms stops after one batch: the rest waits for the next poll.
      assert.equal(await task.onPoll(), HISTORY_PURGE_BATCH);
      assert.equal(await countHistory(ctx.database, `profile_id = '${old.profileId}'`), 150);
      assert.equal(await task.onPoll(), 150);
      assert.equal(await countHistory(ctx.database, `profile_id = '${old.profileId}'`), 0);
      assert.equal(await countHistory(ctx.database, `profile_id = '${recent.profileId}'`), 20);
      const page = await send(ctx.app, 'GET', `${HISTORY}?limit=500`, recent.headers);
      assert.equal(page.json().data.length, 20);

      // Done: nothing more until the hour is up, even for entries that have aged meanwhile.
      await execute(ctx.database, `update identifier_history set changed_at = changed_at - ${31 * DAY_MS} where profile_id = '${recent.profileId}'`);
      now += 3_599_000;
      assert.equal(await task.onPoll(), 0);
      now += 1_000;
      assert.equal(await task.onPoll(), 20);
      assert.equal(await countHistory(ctx.database, `profile_id = '${recent.profileId}'`), 0);
      // The identifiers themselves are not history: they stay.
      const ids = await send(ctx.app, 'GET', IDENTIFIERS_PATH, recent.headers);
      assert.equal(ids.json().branch_id, 'v19');
    });

    test('on PostgreSQL a purge under way in another process is left to it', { skip: kind === 'sqlite' && 'SQLite purges take turns under its one write lock' }, async () => {
      const old = await withHistory(5);
      await execute(ctx.database, `update identifier_history set changed_at = changed_at - ${2 * DAY_MS} where profile_id = '${old.profileId}'`);
      const other = new pg.Client({ connectionString: (ctx.database.config as { url: string }).url });
      await other.connect();
      const identifiers = new IdentifierService(ctx.store);
      try {
        // What another process's purge transaction holds while it deletes a batch.
        await other.query("select pg_advisory_lock(hashtextextended('crosswalk:history-retention', 0))");
        assert.deepEqual(await identifiers.purgeHistory(Date.now() - DAY_MS), { deleted: 0, done: true });
        assert.equal(await countHistory(ctx.database, `profile_id = '${old.profileId}'`), 5);
        await other.query("select pg_advisory_unlock(hashtextextended('crosswalk:history-retention', 0))");
        assert.deepEqual(await identifiers.purgeHistory(Date.now() - DAY_MS), { deleted: 5, done: true });
      } finally {
        await other.end();
      }
    });

    test('a server started with HISTORY_RETENTION_DAYS purges at its first poll', async () => {
      const old = await withHistory(3);
      const recent = await withHistory(2);
      await execute(ctx.database, `update identifier_history set changed_at = changed_at - ${2 * DAY_MS} where profile_id = '${old.profileId}'`);
      const server = await startServer({ DATABASE_URL: databaseUrl(ctx.database), HISTORY_RETENTION_DAYS: '1', WEBHOOK_POLL_INTERVAL_MS: '50' });
      try {
        await waitFor(async () => (await countHistory(ctx.database, `profile_id = '${old.profileId}'`)) === 0, 'the old entries to be purged');
        assert.equal(await countHistory(ctx.database, `profile_id = '${recent.profileId}'`), 2);
      } finally {
        assert.equal(await server.stop(), 0);
      }
    });
  });
}
