// The straightforward service's storage: its own small schema, one query per question, no cache.
// Shared by its SQLite and PostgreSQL back-ends (straightforward-sqlite.ts, straightforward-postgres.ts).

export interface ProfileRow {
  id: string;
  app_id: string;
  customer_user_id: string;
}

export interface TransactionRow {
  store: string;
  store_transaction_id: string;
  original_transaction_id: string;
  store_product_id: string;
  purchase_type: string;
  price_currency: string;
  price_value: number;
  price_usd: number | null;
  purchased_at: number;
  expires_at: number | null;
  access_level: string;
}

export interface GrantRow {
  access_level: string;
  expires_at: number | null;
}

export interface Revenue {
  transactions: TransactionRow[];
  grants: GrantRow[];
}

/** What the service asks its database; each call is one query or one transaction. */
export interface StraightforwardStore {
  appOfKey(keyHash: string): Promise<string | undefined>;
  findProfile(appId: string, customerUserId: string): Promise<ProfileRow | undefined>;
  /** Creates the profile, or finds the one that exists (the create is idempotent). */
  createProfile(appId: string, customerUserId: string, now: number): Promise<ProfileRow>;
  identifiers(profileId: string): Promise<{ key: string; value: string }[]>;
  /** Upserts each value, deletes each null, in one transaction. */
  setIdentifiers(profileId: string, values: [string, string | null][], now: number): Promise<void>;
  /** Inserts the transaction, or updates the one with the same store and store transaction id. */
  saveTransaction(appId: string, profileId: string, transaction: TransactionRow, now: number): Promise<void>;
  saveGrant(profileId: string, grant: GrantRow, now: number): Promise<void>;
  revenue(profileId: string): Promise<Revenue>;
  /** A fresh schema with one app, its key and `count` profiles (see preload.ts for what they hold). */
  preload(appId: string, keyHash: string, count: number): Promise<void>;
  close(): Promise<void>;
}

/** Run by both back-ends; `bigint` and `double precision` mean the same to both. */
export const SCHEMA = [
  `create table apps (id text primary key, name text not null)`,
  `create table api_keys (key_hash text primary key, app_id text not null references apps (id))`,
  `create table profiles (id text primary key, app_id text not null references apps (id), customer_user_id text not null,
     created_at bigint not null, unique (app_id, customer_user_id))`,
  `create table identifiers (profile_id text not null references profiles (id), key text not null, value text not null,
     updated_at bigint not null, primary key (profile_id, key))`,
  `create table transactions (app_id text not null, store text not null, store_transaction_id text not null,
     profile_id text not null references profiles (id), original_transaction_id text not null, store_product_id text not null,
     purchase_type text not null, price_currency text not null, price_value double precision not null, price_usd double precision,
     purchased_at bigint not null, expires_at bigint, access_level text not null, updated_at bigint not null,
     primary key (app_id, store, store_transaction_id))`,
  `create index transactions_profile on transactions (profile_id)`,
  `create table access_grants (profile_id text not null references profiles (id), access_level text not null,
     expires_at bigint, granted_at bigint not null, primary key (profile_id, access_level))`,
];

export const TRANSACTION_COLUMNS =
  'store, store_transaction_id, original_transaction_id, store_product_id, purchase_type, price_currency, price_value, price_usd, purchased_at, expires_at, access_level';

/** The same subscribers as the real server's preload: every tenth profile, bought a day ago. */
export function preloadedSubscription(i: number, now: number): TransactionRow {
  const day = 24 * 60 * 60 * 1000;
  return {
    store: 'app_store',
    store_transaction_id: `pre-${i}`,
    original_transaction_id: `sub-${i}`,
    store_product_id: 'monthly',
    purchase_type: 'subscription',
    price_currency: 'USD',
    price_value: 9.99,
    price_usd: 9.99,
    purchased_at: now - day,
    expires_at: now + 29 * day,
    access_level: 'premium',
  };
}

/** PostgreSQL answers bigint and numeric columns as strings. */
export const toTransaction = (row: Record<string, unknown>): TransactionRow => ({
  ...(row as unknown as TransactionRow),
  price_value: Number(row.price_value),
  price_usd: row.price_usd === null ? null : Number(row.price_usd),
  purchased_at: Number(row.purchased_at),
  expires_at: row.expires_at === null ? null : Number(row.expires_at),
});
