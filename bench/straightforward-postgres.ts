// The straightforward service on PostgreSQL: a pg pool of 10, the server's default
// synchronous_commit (each commit is durable before the answer), one transaction per write.
import pg from 'pg';
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

const UPSERT_IDENTIFIER =
  'insert into identifiers (profile_id, key, value, updated_at) values ($1, $2, $3, $4) on conflict (profile_id, key) do update set value = excluded.value, updated_at = excluded.updated_at';
const INSERT_TRANSACTION = `insert into transactions (app_id, profile_id, updated_at, ${TRANSACTION_COLUMNS})
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
  on conflict (app_id, store, store_transaction_id) do update set expires_at = excluded.expires_at, price_value = excluded.price_value,
    price_usd = excluded.price_usd, updated_at = excluded.updated_at`;
const PROFILE = 'select id, app_id, customer_user_id from profiles where app_id = $1 and customer_user_id = $2';

const transactionValues = (t: TransactionRow) => [
  t.store, t.store_transaction_id, t.original_transaction_id, t.store_product_id, t.purchase_type,
  t.price_currency, t.price_value, t.price_usd, t.purchased_at, t.expires_at, t.access_level,
];

export function postgresStore(url: string): StraightforwardStore {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  async function inTransaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await work(client);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
  }

  return {
    appOfKey: async (keyHash) => (await pool.query('select app_id from api_keys where key_hash = $1', [keyHash])).rows[0]?.app_id,
    findProfile: async (appId, id) => (await pool.query<ProfileRow>(PROFILE, [appId, id])).rows[0],
    createProfile: async (appId, id, now) => {
      await pool.query('insert into profiles (id, app_id, customer_user_id, created_at) values ($1, $2, $3, $4) on conflict do nothing', [
        crypto.randomUUID(), appId, id, now,
      ]);
      return (await pool.query<ProfileRow>(PROFILE, [appId, id])).rows[0]!;
    },
    identifiers: async (profileId) => (await pool.query('select key, value from identifiers where profile_id = $1', [profileId])).rows,
    setIdentifiers: (profileId, values, now) =>
      inTransaction(async (client) => {
        for (const [key, value] of values) {
          if (value === null) await client.query('delete from identifiers where profile_id = $1 and key = $2', [profileId, key]);
          else await client.query(UPSERT_IDENTIFIER, [profileId, key, value, now]);
        }
      }),
    saveTransaction: (appId, profileId, t, now) =>
      inTransaction(async (client) => void (await client.query(INSERT_TRANSACTION, [appId, profileId, now, ...transactionValues(t)]))),
    saveGrant: (profileId, g: GrantRow, now) =>
      inTransaction(async (client) => {
        await client.query(
          'insert into access_grants (profile_id, access_level, expires_at, granted_at) values ($1, $2, $3, $4) on conflict (profile_id, access_level) do update set expires_at = excluded.expires_at, granted_at = excluded.granted_at',
          [profileId, g.access_level, g.expires_at, now],
        );
      }),
    revenue: async (profileId) => {
      const [transactions, grants] = await Promise.all([
        pool.query(`select ${TRANSACTION_COLUMNS} from transactions where profile_id = $1`, [profileId]),
        pool.query('select access_level, expires_at from access_grants where profile_id = $1', [profileId]),
      ]);
      return {
        transactions: transactions.rows.map(toTransaction),
        grants: grants.rows.map((row) => ({ access_level: row.access_level, expires_at: row.expires_at === null ? null : Number(row.expires_at) })),
      };
    },
    async preload(appId, keyHash, count) {
      const client = await pool.connect();
      try {
        for (const statement of SCHEMA) await client.query(statement);
        await client.query('insert into apps (id, name) values ($1, $2)', [appId, 'bench']);
        await client.query('insert into api_keys (key_hash, app_id) values ($1, $2)', [keyHash, appId]);
        for (let from = 0; from < count; from += 5000) {
          const numbers = Array.from({ length: Math.min(count, from + 5000) - from }, (_, k) => from + k);
          const ids = numbers.map(() => crypto.randomUUID());
          const now = Date.now();
          await client.query('begin');
          await client.query('insert into profiles (id, app_id, customer_user_id, created_at) select unnest($1::text[]), $2, unnest($3::text[]), $4', [
            ids, appId, numbers.map(customerUserId), now,
          ]);
          for (const key of PRELOADED_KEYS) {
            await client.query('insert into identifiers (profile_id, key, value, updated_at) select unnest($1::text[]), $2, unnest($3::text[]), $4', [
              ids, key, numbers.map((i) => `${key}-${i}`), now,
            ]);
          }
          for (const [k, i] of numbers.entries()) {
            if (i % SUBSCRIBER_EVERY === 0) await client.query(INSERT_TRANSACTION, [appId, ids[k], now, ...transactionValues(preloadedSubscription(i, now))]);
          }
          await client.query('commit');
        }
        await client.query('analyze');
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
