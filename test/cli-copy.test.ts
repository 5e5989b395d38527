import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { generateApiKey } from '../src/domain/api-keys.js';
import { urlOf } from './cli-helpers.js';
import {
  createTestContext,
  createTestDatabase,
  GRANT_PATH,
  IDENTIFIERS_PATH,
  POSTGRES_AVAILABLE,
  POSTGRES_SKIP_REASON,
  PROFILE_PATH,
  queryRows,
  REFUND_SAVER_PATH,
  send,
  subscriptionBody,
  type Tenant,
  type TestContext,
  type TestDatabase,
  TRANSACTION_PATH,
} from './helpers.js';
import { runCliProcess, startServer } from './process-helpers.js';

/**
 * `crosswalk copy` as its own process between every pair of databases: a source with something in
 * every table, copied row for row; a server on the copy answers as the source did; an interrupted
 * copy completes when run again; refusals write nothing.
 */

const KINDS = ['sqlite', 'postgres'] as const;
type Kind = (typeof KINDS)[number];

const ENDPOINTS = '/crosswalk/v1/webhooks/endpoints/';
const DESTINATIONS = '/crosswalk/v1/destinations/';
const REVENUE = '/crosswalk/v1/revenue/';
const MIGRATION_TABLES = ['kysely_migration', 'kysely_migration_lock'];

const copy = (from: string, to: string, ...args: string[]) => runCliProcess(['copy', '--from', from, '--to', to, ...args]);

/** Runs statements on a database behind the app's back (queryRows opens SQLite read-only). */
async function execute(database: TestDatabase, text: string): Promise<void> {
  const config = database.config;
  if (config.kind === 'sqlite') {
    const db = new SqliteDatabase(config.file);
    try {
      db.exec(text);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** The tables the database's own catalogue lists, Kysely's bookkeeping left out. */
async function catalogueTables(database: TestDatabase): Promise<string[]> {
  const rows =
    database.config.kind === 'sqlite'
      ? await queryRows(database, `select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`)
      : await queryRows(database, `select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`);
  return rows.map((row) => String(row.name)).filter((name) => !MIGRATION_TABLES.includes(name)).sort();
}

/** Every row of a table as text values (PostgreSQL gives int8 as text, SQLite as a number), in a fixed order. */
async function rowsOf(database: TestDatabase, table: string): Promise<string[]> {
  const rows = await queryRows(database, `select * from ${table}`);
  return rows
    .map((row) => JSON.stringify(Object.keys(row).sort().map((name) => (row[name] === null ? null : String(row[name])))))
    .sort();
}

/** A PostgreSQL database of its own on the test server, dropped by `drop`. */
async function createPostgresDatabase(): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL!;
  const name = `crosswalk_copy_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    config: { kind: 'postgres', url: url.toString(), poolSize: 2 },
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

async function ok(ctx: TestContext, method: 'POST' | 'PUT', url: string, headers: Record<string, string>, body?: unknown) {
  const res = await send(ctx.app, method, url, headers, body);
  assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.body === '' ? undefined : res.json();
}

/** Fills every table of the source through the API and the store; answers the keys made. */
async function fill(ctx: TestContext, tenant: Tenant): Promise<{ readKey: string }> {
  const readKey = generateApiKey();
  await ctx.store.addApiKey(tenant.appId, readKey, 'reader', { scope: 'read', expiresAt: Date.now() + 86_400_000 });
  await ctx.store.addApiKey(tenant.appId, generateApiKey(), 'writer', { scope: 'write' });
  const revoked = await ctx.store.addApiKey(tenant.appId, generateApiKey(), 'old', { scope: 'admin' });
  await ctx.store.revokeApiKey(revoked.key.id);
  await ctx.store.setRules(tenant.appId, { placeholderMode: 'reject', extraPlaceholders: ['none'], conflictPolicies: { appsflyer_id: 'move' } });
  await ok(ctx, 'POST', ENDPOINTS, tenant.auth, { url: 'http://127.0.0.1:9/hooks', secret: 'whsec_0123456789abcdef0123456789abcdef', event_types: ['profile.created', 'integration_identifiers.updated'] });
  await ok(ctx, 'POST', DESTINATIONS, tenant.auth, { type: 'mixpanel', config: { project_token: 'mixpanelcopy0123456789' }, base_url: 'http://127.0.0.1:9/' });
  await ok(ctx, 'PUT', `${REVENUE}currency-rates/EUR/`, tenant.auth, { usd_per_unit: 1.0837 });
  await ok(ctx, 'PUT', `${REVENUE}products/pro_monthly/`, tenant.auth, { access_level_id: 'pro', is_consumable: false });
  await ok(ctx, 'PUT', `${REVENUE}settings/`, tenant.auth, { unknown_access_levels: 'create' });

  const user = (id: string) => ({ ...tenant.auth, 'adapty-customer-user-id': id });
  await ok(ctx, 'POST', PROFILE_PATH, user('copy-1'), {
    first_name: 'Zoë',
    email: 'zoe@example.com',
    birthday: '1990-02-03',
    analytics_disabled: true,
    custom_attributes: [{ key: 'plan', value: 'pro' }, { key: 'level', value: 3.5 }],
    installation_meta: { device_id: 'd0d0d0d0-0000-4000-8000-000000000001', platform: 'iOS' },
  });
  await ok(ctx, 'POST', IDENTIFIERS_PATH, user('copy-1'), { appsflyer_id: 'af-1', mixpanel_user_id: 'mp-1' });
  await ok(ctx, 'POST', IDENTIFIERS_PATH, user('copy-1'), { appsflyer_id: 'af-2' });
  await ok(ctx, 'POST', PROFILE_PATH, user('copy-2'), { last_name: "O'Brien \"quoted\" \\ back" });
  await ok(ctx, 'POST', TRANSACTION_PATH, user('copy-1'), subscriptionBody('tx-1', { store_product_id: 'pro_monthly', price: { country: 'FR', currency: 'EUR', value: 4.99 } }));
  await ok(ctx, 'POST', GRANT_PATH, user('copy-1'), { access_level_id: 'vip', expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString() });
  await ok(ctx, 'POST', REFUND_SAVER_PATH, user('copy-1'), { consent: true, custom_preference: 'grant' });
  // One delivery completed, the others still pending.
  await execute(ctx.database, `update webhook_deliveries set status = 'succeeded', attempts = 1, completed_at = 1700000000000, last_status_code = 200 where seq = (select min(seq) from webhook_deliveries)`);
  return { readKey };
}

const PAIRS: [Kind, Kind][] = [['sqlite', 'postgres'], ['postgres', 'sqlite'], ['postgres', 'postgres'], ['sqlite', 'sqlite']];

for (const [from, to] of PAIRS) {
  const skip = (from === 'postgres' || to === 'postgres') && !POSTGRES_AVAILABLE ? { skip: POSTGRES_SKIP_REASON } : {};
  describe(`crosswalk copy from ${from} to ${to}`, skip, () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let readKey: string;
    const targets: TestDatabase[] = [];
    /** A fresh, empty target (on PostgreSQL to PostgreSQL, a database of its own). */
    const newTarget = async () => {
      const target = from === 'postgres' && to === 'postgres' ? await createPostgresDatabase() : await createTestDatabase(to);
      targets.push(target);
      return target;
    };
    const sourceUrl = () => urlOf(ctx.database);

    before(async () => {
      ctx = await createTestContext(from, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      tenant = await ctx.newTenant();
      ({ readKey } = await fill(ctx, tenant));
    });
    after(async () => {
      await ctx.close();
      for (const target of targets) await target.drop();
    });

    async function assertSameRows(target: TestDatabase) {
      const tables = await catalogueTables(ctx.database);
      assert.deepEqual(await catalogueTables(target), tables);
      for (const table of tables) assert.deepEqual(await rowsOf(target, table), await rowsOf(ctx.database, table), table);
    }

    test('copies every table row for row; a server on the copy answers as the source did, with its keys', async () => {
      const tables = await catalogueTables(ctx.database);
      for (const table of tables) assert.ok((await queryRows(ctx.database, `select count(*) as n from ${table}`))[0]!.n != 0, `the source has rows in ${table}`);
      const target = await newTarget();
      const result = await copy(sourceUrl(), urlOf(target));
      assert.equal(result.code, 0, result.stderr);
      // The check lists every table of the catalogue, each equal.
      const checked = [...result.stdout.matchAll(/^(\w+)\s+(\d+)\s+(\d+)\s+([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\w+)$/gm)];
      assert.deepEqual(checked.map((m) => m[1]).sort(), tables);
      for (const m of checked) assert.deepEqual([m[2], m[4], m[6]], [m[3], m[5], 'equal'], m[0]);
      assert.match(result.stdout, new RegExp(`^copied [\\d,]+ rows; all ${tables.length} tables are equal in rows and checksums$`, 'm'));
      assert.match(result.stderr, /^profiles: copied 2 of 2 rows in \d+\.\d\d s \([\d,]+ rows\/s\)$/m);
      await assertSameRows(target);

      const server = await startServer({ DATABASE_URL: urlOf(target), WEBHOOKS_ENABLED: 'false' });
      try {
        const headers = (key: string, user: string) => ({ authorization: `Api-Key ${key}`, 'adapty-customer-user-id': user });
        const there = await fetch(`${server.url}${PROFILE_PATH}`, { headers: headers(readKey, 'copy-1') });
        const here = await send(ctx.app, 'GET', PROFILE_PATH, headers(readKey, 'copy-1'));
        assert.equal(here.statusCode, 200, here.body);
        assert.equal(there.status, 200, `${await there.clone().text()}\n${server.output()}`);
        // Everything but the moment of the answer.
        const answer = ({ data: { timestamp: _at, ...data } }: { data: Record<string, unknown> }) => data;
        assert.deepEqual(answer((await there.json()) as { data: Record<string, unknown> }), answer(here.json()));
        // New rows are numbered after the copied ones (history, audit, deliveries).
        const write = await fetch(`${server.url}${IDENTIFIERS_PATH}`, {
          method: 'POST',
          headers: { ...headers(tenant.key, 'copy-2'), 'content-type': 'application/json' },
          body: JSON.stringify({ amplitude_user_id: 'amp-2' }),
        });
        assert.equal(write.status, 200, await write.text());
        const created = await fetch(`${server.url}${ENDPOINTS}`, {
          method: 'POST',
          headers: { authorization: `Api-Key ${tenant.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url: 'https://example.com/hooks', event_types: ['profile.created'] }),
        });
        assert.equal(created.status, 201, await created.text());
      } finally {
        await server.stop();
      }
    });

    test('an interrupted copy continues when run again and ends equal', async () => {
      const target = await newTarget();
      const stopped = await copy(sourceUrl(), urlOf(target), '--page-size', '2', '--stop-after-pages', '4');
      assert.equal(stopped.code, 1);
      assert.match(stopped.stderr, /^crosswalk: stopped after 4 pages as asked: run the same command again to continue$/m);
      const count = async (database: TestDatabase) =>
        (await Promise.all((await catalogueTables(database)).map(async (t) => Number((await queryRows(database, `select count(*) as n from ${t}`))[0]!.n)))).reduce((a, b) => a + b, 0);
      const partial = await count(target);
      assert.ok(partial >= 4 && partial <= 8, `four pages of at most two rows: ${partial}`);
      const resumed = await copy(sourceUrl(), urlOf(target), '--page-size', '2');
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /^copied [\d,]+ rows; all \d+ tables are equal in rows and checksums$/m);
      await assertSameRows(target);
      const again = await copy(sourceUrl(), urlOf(target));
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^copied 0 rows; all \d+ tables are equal in rows and checksums$/m);
    });

    test('a copy killed mid-way continues when run again and ends equal', async () => {
      const target = await newTarget();
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'copy', '--from', sourceUrl(), '--to', urlOf(target), '--page-size', '1'], {
        cwd: path.resolve(import.meta.dirname, '..'),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      const exited = once(child, 'exit');
      // Killed once the first tables are done, in the middle of the copy.
      await new Promise<void>((resolve) => {
        child.stderr!.on('data', (chunk) => {
          stderr += chunk;
          if (/^apps: copied/m.test(stderr)) resolve();
        });
        child.once('exit', () => resolve());
      });
      child.kill('SIGKILL');
      const [code, signal] = await exited;
      assert.deepEqual([code, signal], [null, 'SIGKILL'], stderr);
      const resumed = await copy(sourceUrl(), urlOf(target));
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /^copied [\d,]+ rows; all \d+ tables are equal in rows and checksums$/m);
      await assertSameRows(target);
    });

    test('refuses the same database, and a target holding other data; nothing is written', async () => {
      const same = await copy(sourceUrl(), sourceUrl());
      assert.deepEqual([same.code, same.stderr], [1, 'crosswalk: copy refused: the source and the target are the same database\n']);

      const other = await newTarget();
      const made = await runCliProcess(['--database-url', urlOf(other), 'apps', 'create', 'elsewhere']);
      assert.equal(made.code, 0, made.stderr);
      const before = await Promise.all((await catalogueTables(other)).map((t) => rowsOf(other, t)));
      const refused = await copy(sourceUrl(), urlOf(other));
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^crosswalk: copy refused: the target already holds data that differs from the source \(in table api_keys\): copy into an empty database\n$/);
      assert.deepEqual(await Promise.all((await catalogueTables(other)).map((t) => rowsOf(other, t))), before);

      // A source migrated by a newer version, then one missing a migration: refused before the target is opened.
      const empty = await newTarget();
      await execute(ctx.database, `insert into kysely_migration (name, timestamp) values ('9999_future', '2099-01-01T00:00:00.000Z')`);
      const newer = await copy(sourceUrl(), urlOf(empty)).finally(() => execute(ctx.database, `delete from kysely_migration where name = '9999_future'`));
      assert.deepEqual([newer.code, newer.stderr], [1, 'crosswalk: copy refused: the source was migrated by a newer version of Crosswalk (9999_future): copy it with that version\n']);
      const [last] = await queryRows(ctx.database, 'select name, timestamp from kysely_migration order by name desc limit 1');
      await execute(ctx.database, `delete from kysely_migration where name = '${String(last!.name)}'`);
      const older = await copy(sourceUrl(), urlOf(empty)).finally(() =>
        execute(ctx.database, `insert into kysely_migration (name, timestamp) values ('${String(last!.name)}', '${String(last!.timestamp)}')`),
      );
      assert.deepEqual([older.code, older.stderr], [1, `crosswalk: copy refused: the source's schema is not up to date (${String(last!.name)} not applied): run "crosswalk migrate" on it first\n`]);
      if (empty.config.kind === 'sqlite') assert.equal(fs.existsSync(empty.config.file), false, 'no SQLite file was made');
      else assert.deepEqual(await catalogueTables(empty), [], 'the target was not migrated');

      const bad = await copy(sourceUrl(), 'mysql://somewhere');
      assert.deepEqual([bad.code, bad.stderr], [1, 'crosswalk: --to must be sqlite:<file> or postgres://… (or postgresql://…), got "mysql://somewhere"\n']);
    });
  });
}
