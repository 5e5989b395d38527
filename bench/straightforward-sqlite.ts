// The straightforward service on SQLite: better-sqlite3, WAL, synchronous=FULL (each commit is
// fsync'd before the answer), one transaction per write, prepared statements and nothing else.
import Database from 'better-sqlite3';
import { customerUserId, PRELOADED_KEYS, SUBSCRIBER_EVERY } from './preload.js';
import {
  type GrantRow,
  preloadedSubscription,
  type ProfileRow,
  SCHEMA,
  type StraightforwardStore,
  toTransaction,
  TRANSACTION_COLUMNS,
  type TransactionRow,
} from './straightforward-store.js';

export function sqliteStore(file: string): StraightforwardStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Prepared once the schema exists (after preload).
  let q: ReturnType<typeof statements>;
  const statements = () => ({
    key: db.prepare('select app_id from api_keys where key_hash = ?').pluck(),
    profile: db.prepare('select id, app_id, customer_user_id from profiles where app_id = ? and customer_user_id = ?'),
    insertProfile: db.prepare('insert into profiles (id, app_id, customer_user_id, created_at) values (?, ?, ?, ?) on conflict do nothing'),
    identifiers: db.prepare('select key, value from identifiers where profile_id = ?'),
    upsertIdentifier: db.prepare(
      'insert into identifiers (profile_id, key, value, updated_at) values (?, ?, ?, ?) on conflict (profile_id, key) do update set value = excluded.value, updated_at = excluded.updated_at',
    ),
    deleteIdentifier: db.prepare('delete from identifiers where profile_id = ? and key = ?'),
    transaction: db.prepare(
      `insert into transactions (app_id, profile_id, updated_at, ${TRANSACTION_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (app_id, store, store_transaction_id) do update set expires_at = excluded.expires_at, price_value = excluded.price_value,
         price_usd = excluded.price_usd, updated_at = excluded.updated_at`,
    ),
    grant: db.prepare(
      'insert into access_grants (profile_id, access_level, expires_at, granted_at) values (?, ?, ?, ?) on conflict (profile_id, access_level) do update set expires_at = excluded.expires_at, granted_at = excluded.granted_at',
    ),
    transactions: db.prepare(`select ${TRANSACTION_COLUMNS} from transactions where profile_id = ?`),
    grants: db.prepare('select access_level, expires_at from access_grants where profile_id = ?'),
  });
  const transactionValues = (t: TransactionRow) => [
    t.store, t.store_transaction_id, t.original_transaction_id, t.store_product_id, t.purchase_type,
    t.price_currency, t.price_value, t.price_usd, t.purchased_at, t.expires_at, t.access_level,
  ];
  const setIdentifiers = db.transaction((profileId: string, values: [string, string | null][], now: number) => {
    for (const [key, value] of values) {
      if (value === null) q.deleteIdentifier.run(profileId, key);
      else q.upsertIdentifier.run(profileId, key, value, now);
    }
  });

  return {
    appOfKey: async (keyHash) => q.key.get(keyHash) as string | undefined,
    findProfile: async (appId, id) => q.profile.get(appId, id) as ProfileRow | undefined,
    createProfile: async (appId, id, now) => {
      q.insertProfile.run(crypto.randomUUID(), appId, id, now);
      return q.profile.get(appId, id) as ProfileRow;
    },
    identifiers: async (profileId) => q.identifiers.all(profileId) as { key: string; value: string }[],
    setIdentifiers: async (profileId, values, now) => setIdentifiers(profileId, values, now),
    saveTransaction: async (appId, profileId, t, now) => void q.transaction.run(appId, profileId, now, ...transactionValues(t)),
    saveGrant: async (profileId, g: GrantRow, now) => void q.grant.run(profileId, g.access_level, g.expires_at, now),
    revenue: async (profileId) => ({
      transactions: (q.transactions.all(profileId) as Record<string, unknown>[]).map(toTransaction),
      grants: q.grants.all(profileId) as GrantRow[],
    }),
    async preload(appId, keyHash, count) {
      for (const statement of SCHEMA) db.exec(statement);
      q = statements();
      db.prepare('insert into apps (id, name) values (?, ?)').run(appId, 'bench');
      db.prepare('insert into api_keys (key_hash, app_id) values (?, ?)').run(keyHash, appId);
      const profile = db.prepare('insert into profiles (id, app_id, customer_user_id, created_at) values (?, ?, ?, ?)');
      const load = db.transaction((from: number, to: number, now: number) => {
        for (let i = from; i < to; i++) {
          const id = crypto.randomUUID();
          profile.run(id, appId, customerUserId(i), now);
          for (const key of PRELOADED_KEYS) q.upsertIdentifier.run(id, key, `${key}-${i}`, now);
          if (i % SUBSCRIBER_EVERY === 0) q.transaction.run(appId, id, now, ...transactionValues(preloadedSubscription(i, now)));
        }
      });
      for (let from = 0; from < count; from += 5000) load(from, Math.min(count, from + 5000), Date.now());
    },
    close: async () => void db.close(),
  };
}
