import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompiledQuery } from 'kysely';
import { type Dialect, openDialect } from '../../src/storage/dialect.js';
import { KyselyStore } from '../../src/storage/kysely-store.js';
import { dueDeliveries } from '../../src/storage/webhook-store.js';
import { createTestDatabase, DATABASES, onDatabase, type TestDatabase } from '../helpers.js';

const PENDING = 3_000;

/**
 * The worker's claim with thousands of deliveries waiting (an endpoint that was down, a bulk
 * import): it must walk the pending ones in order and stop at the first it may send, on a table
 * the database has no statistics for yet as well as after ANALYZE. Plans are pinned, not timed.
 */
for (const kind of DATABASES) {
  describe(`delivery queue with ${PENDING} pending (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    let dialect: Dialect;
    before(async () => {
      database = await createTestDatabase(kind);
      const store = KyselyStore.open(database.config);
      await store.migrate();
      await store.close();
      dialect = openDialect(database.config);
      // Before any statistics: autovacuum must not ANALYZE the table under the test.
      if (kind === 'postgres') await dialect.db.executeQuery(CompiledQuery.raw('alter table webhook_deliveries set (autovacuum_enabled = false)'));
      const row = (i: number, profile: string, status = 'pending') => ({
        app_id: 'app', endpoint_id: 'endpoint', event_id: `event-${i}`, profile_id: profile,
        status, attempts: 0, next_attempt_at: 0, created_at: 0,
      });
      // As in a real table, most rows are deliveries made long ago and kept for the retention period.
      for (let start = 0; start < 2 * PENDING; start += 500) {
        const rows = Array.from({ length: 500 }, (_, j) => ({ ...row(-1 - start - j, `old-${start + j}`, 'succeeded'), completed_at: 0 }));
        await dialect.db.insertInto('webhook_deliveries').values(rows).execute();
      }
      for (let start = 0; start < PENDING; start += 500) {
        const rows = Array.from({ length: 500 }, (_, j) => row(start + j, `profile-${start + j}`));
        await dialect.db.insertInto('webhook_deliveries').values(rows).execute();
      }
      // A second event of profile-0: it waits for the first.
      await dialect.db.insertInto('webhook_deliveries').values(row(PENDING, 'profile-0')).execute();
      // Delivered ones are not in the queue at all.
      await dialect.db.updateTable('webhook_deliveries').set({ status: 'succeeded', completed_at: 1 }).where('event_id', 'in', ['event-1', 'event-2']).execute();
    });
    after(async () => {
      await dialect?.db.destroy();
      await database?.drop();
    });

    const plan = async () => {
      const query = dueDeliveries(dialect.db, 1_000, 5).compile();
      const prefix = kind === 'sqlite' ? 'explain query plan ' : 'explain (format json) ';
      const result = await dialect.db.executeQuery(CompiledQuery.raw(prefix + query.sql, [...query.parameters]));
      return JSON.stringify(result.rows);
    };

    test('the oldest sendable deliveries come first; a profile\'s later event waits for its earlier one', async () => {
      const due = await dueDeliveries(dialect.db, 1_000, 5).execute();
      const events = await dialect.db.selectFrom('webhook_deliveries').select(['seq', 'event_id']).where('seq', 'in', due.map((d) => d.seq)).orderBy('seq').execute();
      assert.deepEqual(events.map((e) => e.event_id), ['event-0', 'event-3', 'event-4', 'event-5', 'event-6']);
      const all = await dueDeliveries(dialect.db, 1_000, PENDING + 10).execute();
      assert.equal(all.length, PENDING - 2, 'every pending delivery but the waiting one');
    });

    // Without statistics PostgreSQL guesses that few deliveries are pending and sorts them (a few ms
    // for thousands); what it must not do is check each one's predecessors through (app_id, status,
    // seq), which reads every pending delivery of the app per candidate: seconds per poll.
    test('without statistics: only pending deliveries read, a profile\'s predecessors found by its queue', async () => {
      const text = await plan();
      assert.doesNotMatch(text, /webhook_deliveries_app_idx/);
      if (kind === 'sqlite') {
        assert.match(text, /SCAN c USING INDEX webhook_deliveries_pending_idx/);
        assert.doesNotMatch(text, /TEMP B-TREE/);
        assert.match(text, /SEARCH e USING INDEX webhook_deliveries_queue_idx/);
      } else {
        assert.match(text, /"Index Name":"webhook_deliveries_pending_queue_idx","Relation Name":"webhook_deliveries","Alias":"e"/);
      }
    });

    test('after ANALYZE: pending deliveries walked in order, nothing sorted', async () => {
      await dialect.db.executeQuery(CompiledQuery.raw('analyze'));
      const text = await plan();
      assert.doesNotMatch(text, /webhook_deliveries_app_idx/);
      if (kind === 'sqlite') {
        assert.match(text, /SCAN c USING INDEX webhook_deliveries_pending_idx/);
        assert.doesNotMatch(text, /TEMP B-TREE/);
      } else {
        assert.match(text, /"Index Name":"webhook_deliveries_pending_idx","Relation Name":"webhook_deliveries","Alias":"c"/);
        assert.doesNotMatch(text, /"Node Type":"Sort"/);
      }
    });
  });
}
