import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { type Config, type DatabaseConfig, loadConfig } from '../src/config.js';
import { generateApiKey } from '../src/domain/api-keys.js';
import { createMetrics } from '../src/metrics.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import type { HostResolver } from '../src/webhooks/network-policy.js';

export const PROFILE_PATH = '/api/v2/server-side-api/profile/';
export const IDENTIFIERS_PATH = '/api/v2/server-side-api/integration/profile/set/integration-identifiers/';
export const TRANSACTION_PATH = '/api/v2/server-side-api/purchase/set/transaction/';
export const GRANT_PATH = '/api/v2/server-side-api/purchase/profile/grant/access-level/';
export const REVOKE_PATH = '/api/v2/server-side-api/purchase/profile/revoke/access-level/';
export const REFUND_SAVER_PATH = '/api/v2/server-side-api/purchase/profile/refund-saver/settings/';

/** The databases every suite is registered for: SQLite and PostgreSQL. */
export const DATABASES: readonly ('sqlite' | 'postgres')[] = ['sqlite', 'postgres'];

/** Whether TEST_DATABASE_URL names a PostgreSQL server for the PostgreSQL suites. */
export const POSTGRES_AVAILABLE = Boolean(process.env.TEST_DATABASE_URL);

/** Why PostgreSQL suites are skipped in a run without a server; the summary counts them as skipped. */
export const POSTGRES_SKIP_REASON = 'PostgreSQL suite: TEST_DATABASE_URL is not set';

/**
 * The options of a suite on one database: a PostgreSQL suite is registered in every run and
 * skipped, with the reason, when no server is given, so a run never leaves it out silently.
 */
export function onDatabase(kind: 'sqlite' | 'postgres'): { skip?: string } {
  return kind === 'postgres' && !POSTGRES_AVAILABLE ? { skip: POSTGRES_SKIP_REASON } : {};
}

export interface TestDatabase {
  config: DatabaseConfig;
  /** Drops what the database made for this test file. */
  drop(): Promise<void>;
}

/**
 * A database of its own for one test file: a fresh SQLite file in a temporary folder, or a fresh
 * schema on the PostgreSQL server named by TEST_DATABASE_URL (so files can run in parallel).
 */
export async function createTestDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-test-'));
    return {
      config: { kind: 'sqlite', file: path.join(dir, 'crosswalk.db') },
      drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  }
  const baseUrl = process.env.TEST_DATABASE_URL!;
  // Schemas are named after the test run and dropped by the runner once every file is done:
  // dropping one while another file's migrations introspect the catalogue makes those fail.
  const schema = `test_${process.env.CROSSWALK_TEST_RUN ?? 'adhoc'}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { config: { kind: 'postgres', url: url.toString(), poolSize: 10 }, drop: async () => {} };
}

/** Reads the database behind the app's back, on a connection of its own: to check what is really stored. */
export async function queryRows(database: TestDatabase, text: string): Promise<Record<string, unknown>[]> {
  const config = database.config;
  if (config.kind === 'sqlite') {
    const db = new SqliteDatabase(config.file, { readonly: true });
    try {
      return db.prepare(text).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

export interface Tenant {
  appId: string;
  key: string;
  auth: { authorization: string };
}

/** The app exactly as `main.ts` builds it, on a real database, plus ways to make tenants. */
export interface TestContext {
  app: FastifyInstance;
  store: KyselyStore;
  config: Config;
  database: TestDatabase;
  newTenant(): Promise<Tenant>;
  close(): Promise<void>;
}

/** What a test may hand the app besides settings. */
export interface TestAppOptions {
  /** How webhook host names resolve when an endpoint is added: tests never ask real DNS. */
  resolveHost?: HostResolver;
}

/** `env` adds settings as the process environment would (e.g. a shorter API key cache). */
export async function createTestContext(kind: 'sqlite' | 'postgres', env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestContext> {
  const database = await createTestDatabase(kind);
  // The database settings of `env` (pool size, timeouts, write queue) apply to the test database.
  const settings = loadConfig({ ...env, DATABASE_URL: kind === 'sqlite' ? 'sqlite::memory:' : 'postgres://settings' }).database;
  const where = database.config.kind === 'sqlite' ? { file: database.config.file } : { url: database.config.url };
  const databaseConfig = { ...settings, ...where } as DatabaseConfig;
  const config = Object.freeze({ ...loadConfig({ LOG_LEVEL: 'silent', ...env }), database: databaseConfig });
  const metrics = createMetrics(config);
  const store = KyselyStore.open(databaseConfig, metrics && ((ms, failed) => metrics.observeQuery(ms, failed)));
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    await database.drop();
    throw error;
  }
  const app = await buildApp({ config, store, metrics, ...(options.resolveHost && { resolveHost: options.resolveHost }) });
  await app.ready();
  let tenants = 0;
  return {
    app,
    store,
    config,
    database,
    async newTenant() {
      const created = await store.createApp(`tenant-${++tenants}-${randomBytes(3).toString('hex')}`);
      const key = generateApiKey();
      await store.addApiKey(created.id, key, 'test');
      return { appId: created.id, key, auth: { authorization: `Api-Key ${key}` } };
    },
    async close() {
      await app.close();
      await store.close();
      await database.drop();
    },
  };
}

/**
 * Header sets that address a profile of the tenant `current()` returns (read when called, so it
 * can be the tenant a `before` hook creates).
 */
export function addressing(current: () => Tenant) {
  return {
    byUser: (customerUserId: string) => ({ ...current().auth, 'adapty-customer-user-id': customerUserId }),
    byId: (profileId: string) => ({ ...current().auth, 'adapty-profile-id': profileId }),
    byBoth: (profileId: string, customerUserId: string) => ({
      ...current().auth,
      'adapty-profile-id': profileId,
      'adapty-customer-user-id': customerUserId,
    }),
  };
}

/** A JSON request through the app; headers are merged, the body is sent as JSON when given. */
export function send(
  app: FastifyInstance,
  method: InjectOptions['method'],
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<LightMyRequestResponse> {
  const options: InjectOptions = { method, url, headers: { ...headers } };
  if (body !== undefined) {
    options.payload = typeof body === 'string' ? body : JSON.stringify(body);
    options.headers!['content-type'] ??= 'application/json';
  }
  return app.inject(options);
}

/** A profile request that must answer 200; returns the profile (`data`). */
export async function profileOk(
  app: FastifyInstance,
  method: 'POST' | 'GET' | 'PATCH',
  headers: Record<string, string>,
  body?: unknown,
) {
  const res = await send(app, method, PROFILE_PATH, headers, body);
  if (res.statusCode !== 200) throw new Error(`expected 200, got ${res.statusCode}: ${res.body}`);
  return res.json().data;
}

/** The exact error envelope the contract prescribes. */
export function envelope(status: number, code: string, ...items: [string | null, ...string[]][]) {
  return {
    errors: items.map(([source, ...errors]) => ({ source, errors })),
    error_code: code,
    status_code: status,
  };
}

/**
 * A set-transaction body: a period of a monthly subscription (9.99 USD, bought 2024-01-01, active
 * until 2099) whose transaction is `transactionId`; `changes` replace or add fields.
 */
export function subscriptionBody(transactionId: string, changes: Record<string, unknown> = {}) {
  return {
    purchase_type: 'subscription' as const,
    store: 'app_store',
    store_product_id: 'monthly',
    store_transaction_id: transactionId,
    store_original_transaction_id: transactionId,
    price: { country: 'US', currency: 'USD', value: 9.99 },
    purchased_at: '2024-01-01T00:00:00Z',
    originally_purchased_at: '2024-01-01T00:00:00Z',
    expires_at: '2099-01-01T00:00:00Z',
    renew_status: true,
    ...changes,
  };
}
