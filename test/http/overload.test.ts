import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import {
  addressing,
  createTestContext,
  envelope,
  IDENTIFIERS_PATH,
  onDatabase,
  PROFILE_PATH,
  profileOk,
  send,
  type Tenant,
  type TestContext,
} from '../helpers.js';

// Overload is answered at once, 503 in the envelope with Retry-After, and nothing of the refused
// request is written: a full SQLite write queue, no free PostgreSQL connection, a statement that
// runs past its time limit.

function busy(reason: string) {
  return envelope(503, 'service_unavailable', ['non_field_errors', `The server is too busy: ${reason}. Nothing was written; retry in 1 s.`]);
}

describe('overload: the SQLite write queue is bounded (sqlite)', () => {
  let ctx: TestContext;
  let tenant: Tenant;
  before(async () => {
    ctx = await createTestContext('sqlite', { SQLITE_WRITE_QUEUE_LIMIT: '2' });
    tenant = await ctx.newTenant();
  });
  after(() => ctx.close());
  const { byUser } = addressing(() => tenant);

  test('writes beyond the queue limit are refused with 503 and Retry-After, and only the answered ones are stored', async () => {
    const users = Array.from({ length: 12 }, (_, i) => `queued-${i}`);
    for (const user of users) await profileOk(ctx.app, 'POST', byUser(user), {});
    // All at once: they reach the queue before the first commit runs.
    const answers = await Promise.all(users.map((user) => send(ctx.app, 'POST', IDENTIFIERS_PATH, byUser(user), { amplitude_user_id: `amp-${user}` })));
    const written = users.filter((_, i) => answers[i]!.statusCode === 200);
    const refused = answers.filter((res) => res.statusCode !== 200);
    assert.ok(written.length >= 1 && written.length <= 2, `written: ${written.length}`);
    assert.equal(refused.length, users.length - written.length);
    for (const res of refused) {
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.headers['retry-after'], '1');
      assert.deepEqual(res.json(), busy('2 writes are already waiting to be committed (SQLITE_WRITE_QUEUE_LIMIT)'));
    }
    for (const user of users) {
      const res = await send(ctx.app, 'GET', IDENTIFIERS_PATH, byUser(user));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().amplitude_user_id, written.includes(user) ? `amp-${user}` : null, user);
    }
    // Once the queue has drained, writes are taken again.
    const again = await send(ctx.app, 'POST', IDENTIFIERS_PATH, byUser(users.at(-1)!), { amplitude_user_id: 'later' });
    assert.equal(again.statusCode, 200, again.body);
  });
});

describe('overload: PostgreSQL pool and statement time limits (postgres)', onDatabase('postgres'), () => {
  let ctx: TestContext;
  let tenant: Tenant;
  before(async () => {
    ctx = await createTestContext('postgres', {
      DATABASE_POOL_SIZE: '1',
      DATABASE_ACQUIRE_TIMEOUT_MS: '200',
      DATABASE_STATEMENT_TIMEOUT_MS: '400',
      // Every request looks its key up, so that it needs a connection.
      API_KEY_CACHE_TTL_MS: '0',
    });
    tenant = await ctx.newTenant();
  });
  after(() => ctx.close());
  const { byUser } = addressing(() => tenant);

  test('a request that finds no free connection within DATABASE_ACQUIRE_TIMEOUT_MS gets 503, not a hang', async () => {
    await profileOk(ctx.app, 'POST', byUser('pool-user'), {});
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // A write transaction holds the pool's only connection until released.
    let holding!: () => void;
    const started = new Promise<void>((resolve) => (holding = resolve));
    const holder = ctx.store.write(async () => {
      holding();
      await held;
    });
    await started;
    const began = Date.now();
    const res = await send(ctx.app, 'GET', PROFILE_PATH, byUser('pool-user'));
    const waited = Date.now() - began;
    release();
    await holder;
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.headers['retry-after'], '1');
    assert.deepEqual(res.json(), busy('no database connection came free within DATABASE_ACQUIRE_TIMEOUT_MS'));
    assert.ok(waited < 5_000, `answered after ${waited} ms`);
    // With the connection back, the same request is served.
    assert.equal((await send(ctx.app, 'GET', PROFILE_PATH, byUser('pool-user'))).statusCode, 200);
  });

  test('a write whose statement waits past DATABASE_STATEMENT_TIMEOUT_MS gets 503 and writes nothing', async () => {
    const profile = await profileOk(ctx.app, 'POST', byUser('locked-user'), {});
    const other = new pg.Client({ connectionString: (ctx.database.config as { url: string }).url });
    await other.connect();
    try {
      // Another connection holds the profile's row lock, so the update waits until it is cancelled.
      await other.query('begin');
      await other.query('select id from profiles where id = $1 for update', [profile.profile_id]);
      const res = await send(ctx.app, 'PATCH', PROFILE_PATH, byUser('locked-user'), { first_name: 'Changed' });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.headers['retry-after'], '1');
      assert.deepEqual(res.json(), busy('a database statement took longer than DATABASE_STATEMENT_TIMEOUT_MS'));
    } finally {
      await other.query('rollback');
      await other.end();
    }
    const stored = await ctx.store.findProfile(tenant.appId, { customerUserId: 'locked-user' });
    assert.equal(stored?.attributes.first_name, null);
    await profileOk(ctx.app, 'PATCH', byUser('locked-user'), { first_name: 'Changed' });
    const retried = await ctx.store.findProfile(tenant.appId, { customerUserId: 'locked-user' });
    assert.equal(retried?.attributes.first_name, 'Changed');
  });
});
