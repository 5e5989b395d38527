import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { IdentifierChanges } from '../../src/domain/identifiers.js';
import { DEFAULT_RULES } from '../../src/domain/rules.js';
import { createServices, type Services } from '../../src/services/index.js';
import { KyselyStore } from '../../src/storage/kysely-store.js';
import { createTestDatabase, DATABASES, onDatabase, queryRows, type TestDatabase } from '../helpers.js';

// Races between identifier writes, driven step by step: a second connection holds a profile's row
// lock, writes queue behind it in a known order, and the test lets them go once they all wait.

const ACTOR = { source: 'api', apiKeyId: null, requestId: null } as const;
const KEY = 'appsflyer_id';

/** The backends waiting, directly or through another waiter, for a lock held by `holder`. */
async function waitersBehind(observer: pg.Client, holder: number): Promise<number> {
  const { rows } = await observer.query<{ pid: number; blockers: number[] }>(
    "select pid, pg_blocking_pids(pid) as blockers from pg_stat_activity where wait_event_type = 'Lock'",
  );
  const behind = new Set<number>([holder]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) {
      if (!behind.has(row.pid) && row.blockers.some((pid) => behind.has(pid))) {
        behind.add(row.pid);
        grew = true;
      }
    }
  }
  return behind.size - 1;
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const kind of DATABASES) {
  describe(`identifier write races (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let services: Services;
    /** Statements that ended with an error (a deadlock ends one before its transaction is run again). */
    let failedStatements = 0;
    before(async () => {
      database = await createTestDatabase(kind);
      store = KyselyStore.open(database.config, (_ms, failed) => {
        if (failed) failedStatements++;
      });
      services = createServices(store);
      await store.migrate();
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    const newApp = async (name: string) => {
      const appId = (await store.createApp(`${name}-${Math.random().toString(36).slice(2)}`)).id;
      await store.setRules(appId, { ...DEFAULT_RULES, conflictPolicies: { [KEY]: 'move' } });
      return appId;
    };
    const profile = async (appId: string, cuid: string) => (await services.profiles.ensure(appId, { customerUserId: cuid }, { attributes: {} })).profileId;
    const set = (appId: string, profileId: string, value: string | null) =>
      services.identifiers.set(appId, { profileId }, new Map([[KEY, value]]) as IdentifierChanges, ACTOR);
    const valueOf = async (appId: string, profileId: string) => (await store.getIdentifiers(appId, { profileId }))?.[KEY] ?? null;
    const historyOf = async (appId: string, profileId: string) =>
      (await store.identifierHistory(appId, { profileId }, { limit: 50 }))!.reverse().map((e) => [e.kind, e.oldValue, e.newValue, e.otherProfileId]);

    test('a move takes the value only from a profile that still holds it (storage, both databases)', async () => {
      const appId = await newApp('take');
      const a = await profile(appId, 'take-a');
      await set(appId, a, 'v-1');
      assert.equal(await store.write((tx) => tx.takeIdentifier(appId, a, KEY, 'v-other')), false);
      assert.equal(await valueOf(appId, a), 'v-1');
      assert.equal(await store.write((tx) => tx.takeIdentifier(appId, a, KEY, 'v-1')), true);
      assert.equal(await valueOf(appId, a), null);
      assert.equal(await store.write((tx) => tx.takeIdentifier(appId, a, KEY, 'v-1')), false);
    });

    // SQLite runs one write transaction at a time: nothing can change between the read and the delete.
    for (const via of ['set', 'batch'] as const) {
      test(`move: a holder that changes the key meanwhile keeps its new value and no move is recorded (${via})`, { skip: kind === 'sqlite' && 'one writer at a time' }, async () => {
        const appId = await newApp(`race-${via}`);
        const a = await profile(appId, `a-${via}`);
        const b = await profile(appId, `b-${via}`);
        await set(appId, a, 'old');
        const url = (database.config as { url: string }).url;
        const holder = new pg.Client({ connectionString: url });
        const observer = new pg.Client({ connectionString: url });
        await holder.connect();
        await observer.connect();
        try {
          const { rows } = await holder.query<{ pid: number }>('select pg_backend_pid() as pid');
          const holderPid = rows[0]!.pid;
          await holder.query('begin');
          await holder.query('select id from profiles where app_id = $1 and id = $2 for update', [appId, a]);
          // A's own write queues first on A's row lock; then B's write, which has already read that
          // A holds "old", queues behind it. Row-lock waiters are served in order.
          const aWrite = set(appId, a, 'new');
          await until(async () => (await waitersBehind(observer, holderPid)) === 1, "A's write to wait");
          // The moves B's write reports (the batch goes item by item: the app has a conflict policy).
          const bWrite =
            via === 'set'
              ? set(appId, b, 'old').then((result) => result!.moves)
              : services.batch
                  .apply(appId, [{ address: { profileId: b }, changes: new Map([[KEY, 'old']]) as IdentifierChanges }], false, ACTOR)
                  .then(([outcome]) => (outcome!.ok ? outcome!.result.moves : outcome));
          await until(async () => (await waitersBehind(observer, holderPid)) === 2, "B's write to wait");
          await holder.query('commit');
          await aWrite;
          assert.deepEqual(await bWrite, []);
        } finally {
          await holder.end();
          await observer.end();
        }
        assert.equal(await valueOf(appId, a), 'new', "A's newer value is not deleted");
        assert.equal(await valueOf(appId, b), 'old');
        assert.deepEqual(await historyOf(appId, a), [['set', null, 'old', null], ['change', 'old', 'new', null]]);
        assert.deepEqual(await historyOf(appId, b), [['set', null, 'old', null]]);
      });
    }

    for (const path of ['set-based', 'item by item'] as const) test(`concurrent batches mixing profile ids and customer user ids, in opposite orders, all succeed without a deadlock (${path})`, async () => {
      const appId = (await store.createApp(`mixed-${Math.random().toString(36).slice(2)}`)).id;
      // A conflict policy on a key the batches do not write sends them item by item.
      if (path === 'item by item') await store.setRules(appId, { ...DEFAULT_RULES, conflictPolicies: { pushwoosh_hwid: 'reject' } });
      const cuids = Array.from({ length: 16 }, (_, i) => `mixed-${i}`);
      const ids = await Promise.all(cuids.map((cuid) => profile(appId, cuid)));
      // Batch X names even profiles by id and odd ones by customer user id; batch Y the other way
      // round and in reverse order: each locks by id what the other locks by customer user id.
      const items = (round: number, flip: boolean) => {
        const list = cuids.map((cuid, i) => ({
          address: (i % 2 === 0) !== flip ? { profileId: ids[i]! } : { customerUserId: cuid },
          changes: new Map([['branch_id', `${cuid}-${round}-${flip ? 'y' : 'x'}`]]) as IdentifierChanges,
        }));
        return flip ? list.reverse() : list;
      };
      const failedBefore = failedStatements;
      for (let round = 0; round < 12; round++) {
        const outcomes = await Promise.all([false, true].map((flip) => services.batch.apply(appId, items(round, flip), false, ACTOR)));
        for (const outcome of outcomes) assert.deepEqual(outcome.map((o) => o.ok), cuids.map(() => true));
      }
      // A deadlock ends a statement with an error before the transaction is run again: none may have.
      assert.equal(failedStatements, failedBefore);
      const rows = await queryRows(database, `select count(*) as n from identifier_history where app_id = '${appId}'`);
      assert.equal(Number(rows[0]!.n), 12 * 2 * cuids.length);
    });
  });
}
