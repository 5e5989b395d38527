import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseConfig } from '../src/config.js';
import { generateApiKey } from '../src/domain/api-keys.js';
import type { AppRules } from '../src/domain/rules.js';
import { KyselyStore } from '../src/storage/kysely-store.js';

/** The identifiers every preloaded profile starts with. */
export const PRELOADED_KEYS = ['appsflyer_id', 'amplitude_user_id', 'firebase_app_instance_id'] as const;

export const customerUserId = (i: number) => `user-${i}`;

/**
 * Every tenth profile (user-0, user-10, …) starts as a subscriber: one monthly App Store
 * subscription in USD, bought a day ago, active for 29 more days, unlocking `premium`. The
 * `profile` scenario reads these; the `transaction` scenario renews the same subscription
 * (`sub-<i>`). The preloads pick them by the customer user id's last digit, so 10 is fixed.
 */
export const SUBSCRIBER_EVERY = 10;
export const subscriberCount = (profiles: number) => Math.ceil(profiles / SUBSCRIBER_EVERY);

/** The identifier rules the bench app runs with, so that every set pays for them. */
export const BENCH_RULES: AppRules = {
  placeholderMode: 'drop',
  extraPlaceholders: ['not-set', 'idfa_unavailable'],
  conflictPolicies: { appsflyer_id: 'reject', adjust_device_id: 'reject', mixpanel_user_id: 'move' },
};

const BATCH = 5000;

let lastTenth = -1;

/** A progress line redrawn in place on a terminal; elsewhere, one line per tenth of the work. */
function progress(done: number, total: number, started: number): void {
  const tenth = Math.floor((10 * done) / total);
  if (!process.stderr.isTTY && tenth === lastTenth) return;
  lastTenth = tenth;
  const seconds = (Date.now() - started) / 1000;
  const rate = done / Math.max(seconds, 0.001);
  const eta = rate > 0 ? (total - done) / rate : 0;
  process.stderr.write(
    `${process.stderr.isTTY ? '\r' : ''}  loading profiles: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} ` +
      `(${Math.floor((100 * done) / total)}%), ${Math.round(rate).toLocaleString('en')}/s, ETA ${Math.ceil(eta)} s   `,
  );
  if (done === total || !process.stderr.isTTY) process.stderr.write('\n');
}

/**
 * The subscribers' revenue rows: the access level, one transaction per subscriber profile, the
 * profiles' revenue mark and the access-level clock, in statements that read the same on SQLite and
 * PostgreSQL (the app id is a UUID made here and the times are numbers, so they are written inline).
 */
function subscriberStatements(appId: string, now: number): string[] {
  const day = 24 * 60 * 60 * 1000;
  const [bought, expires] = [now - day, now + 29 * day];
  const subscribers = `app_id = '${appId}' and customer_user_id like '%0'`;
  return [
    `insert into paid_access_levels (app_id, id, created_at) values ('${appId}', 'premium', ${now})`,
    `insert into transactions (app_id, store, store_transaction_id, profile_id, purchase_id, purchase_type, store_product_id,
       store_original_transaction_id, environment, is_family_shared, price_country, price_currency, price_value, price_usd,
       purchased_at, originally_purchased_at, expires_at, renew_status, access_level_id, is_consumable, access_ends_at, created_at, updated_at)
     select app_id, 'app_store', 'pre-' || substr(customer_user_id, 6), id, id, 'subscription', 'monthly',
       'sub-' || substr(customer_user_id, 6), 'Production', 0, 'US', 'USD', 9.99, 9.99,
       ${bought}, ${bought}, ${expires}, 1, 'premium', 0, ${expires}, ${now}, ${now}
     from profiles where ${subscribers}`,
    `update profiles set revenue_at = ${now} where ${subscribers}`,
    `insert into access_level_clock (app_id, profile_id, access_level_id, due_at)
     select app_id, profile_id, 'premium', expires_at from transactions where app_id = '${appId}'`,
  ];
}

/**
 * Migrates a fresh database, creates an app and key with the bench's identifier rules, and loads
 * `count` profiles with identifiers, every tenth with a subscription (SUBSCRIBER_EVERY).
 */
export async function preload(config: DatabaseConfig, count: number, key = generateApiKey()): Promise<{ appId: string; key: string }> {
  const store = KyselyStore.open(config);
  await store.migrate();
  const app = await store.createApp('bench');
  await store.addApiKey(app.id, key, 'bench');
  await store.setRules(app.id, BENCH_RULES);
  await store.close();
  const started = Date.now();
  if (config.kind === 'sqlite') {
    const db = new SqliteDatabase(config.file);
    db.pragma('journal_mode = WAL');
    const profile = db.prepare('insert into profiles (app_id, id, customer_user_id, created_at, updated_at) values (?, ?, ?, ?, ?)');
    const identifier = db.prepare('insert into integration_identifiers (app_id, profile_id, key, value, updated_at) values (?, ?, ?, ?, ?)');
    const batch = db.transaction((from: number, to: number) => {
      const now = Date.now();
      for (let i = from; i < to; i++) {
        const id = crypto.randomUUID();
        profile.run(app.id, id, customerUserId(i), now, now);
        for (const k of PRELOADED_KEYS) identifier.run(app.id, id, k, `${k}-${i}`, now);
      }
    });
    for (let from = 0; from < count; from += BATCH) {
      batch(from, Math.min(count, from + BATCH));
      progress(Math.min(count, from + BATCH), count, started);
    }
    db.transaction(() => {
      for (const statement of subscriberStatements(app.id, Date.now())) db.exec(statement);
    })();
    db.close();
  } else {
    const client = new pg.Client({ connectionString: config.url });
    await client.connect();
    for (let from = 0; from < count; from += BATCH) {
      const to = Math.min(count, from + BATCH);
      const ids: string[] = [];
      const users: string[] = [];
      for (let i = from; i < to; i++) {
        ids.push(crypto.randomUUID());
        users.push(customerUserId(i));
      }
      const now = Date.now();
      await client.query('begin');
      await client.query(
        'insert into profiles (app_id, id, customer_user_id, created_at, updated_at) select $1, unnest($2::text[]), unnest($3::text[]), $4, $4',
        [app.id, ids, users, now],
      );
      for (const k of PRELOADED_KEYS) {
        await client.query(
          'insert into integration_identifiers (app_id, profile_id, key, value, updated_at) select $1, unnest($2::text[]), $3, $3 || \'-\' || unnest($4::text[]), $5',
          [app.id, ids, k, users.map((u) => u.slice(5)), now],
        );
      }
      await client.query('commit');
      progress(to, count, started);
    }
    await client.query('begin');
    for (const statement of subscriberStatements(app.id, Date.now())) await client.query(statement);
    await client.query('commit');
    await client.query('analyze');
    await client.end();
  }
  return { appId: app.id, key };
}
