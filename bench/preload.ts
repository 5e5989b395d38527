import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseConfig } from '../src/config.js';
import { generateApiKey } from '../src/domain/api-keys.js';
import { KyselyStore } from '../src/storage/kysely-store.js';

/** The identifiers every preloaded profile starts with. */
export const PRELOADED_KEYS = ['appsflyer_id', 'amplitude_user_id', 'firebase_app_instance_id'] as const;

export const customerUserId = (i: number) => `user-${i}`;

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

/** Migrates a fresh database, creates an app and key, and loads `count` profiles with identifiers. */
export async function preload(config: DatabaseConfig, count: number): Promise<{ appId: string; key: string }> {
  const store = KyselyStore.open(config);
  await store.migrate();
  const app = await store.createApp('bench');
  const key = generateApiKey();
  await store.addApiKey(app.id, key, 'bench');
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
    await client.query('analyze');
    await client.end();
  }
  return { appId: app.id, key };
}
