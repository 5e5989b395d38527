import { type CreateTableBuilder, type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { rehint } from '../domain/api-keys.js';
import { FUNCTIONS_0008 } from './postgres/functions-0008.js';

type Dialect = 'sqlite' | 'postgres';

/**
 * On SQLite, tenant tables are stored in primary-key order (WITHOUT ROWID): a profile's rows sit
 * together and there is no separate primary-key index to update, which halves the pages a write
 * touches. PostgreSQL has no such option and needs none.
 */
function clustered<T extends string, C extends string>(dialect: Dialect, table: CreateTableBuilder<T, C>) {
  return dialect === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table;
}

/**
 * The schema, as an explicit ordered list. Every tenant table leads with app_id so that its
 * primary key and indexes start with the column PostgreSQL would be sharded on.
 */
const migrations = (dialect: Dialect): Record<string, Migration> => ({
  '0001_core': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('apps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();

      let profiles = db.schema
        .createTable('profiles')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('customer_user_id', 'text');
      for (const name of [
        'first_name', 'last_name', 'gender', 'email', 'phone_number', 'birthday', 'ip_country',
        'ip_v4_address', 'store_country', 'store', 'store_account_token',
      ]) {
        profiles = profiles.addColumn(name, 'text');
      }
      await clustered(dialect, profiles)
        .addColumn('att_status', 'integer')
        .addColumn('analytics_disabled', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('profiles_pk', ['app_id', 'id'])
        .addUniqueConstraint('profiles_customer_user_id_uq', ['app_id', 'customer_user_id'])
        .execute();

      const child = (table: string, keyColumn: string) =>
        clustered(dialect, db.schema
          .createTable(table)
          .addColumn('app_id', 'text', (c) => c.notNull())
          .addColumn('profile_id', 'text', (c) => c.notNull())
          .addColumn(keyColumn, 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['app_id', 'profile_id', keyColumn])
          .addForeignKeyConstraint(`${table}_profile_fk`, ['app_id', 'profile_id'], 'profiles', ['app_id', 'id']));

      await child('custom_attributes', 'key')
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('is_number', 'integer', (c) => c.notNull())
        .execute();
      await child('installations', 'device_id')
        .addColumn('meta', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await child('integration_identifiers', 'key')
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // Finding the profiles that hold a value (reverse lookup) must not scan the app.
      await db.schema
        .createIndex('integration_identifiers_value_idx')
        .on('integration_identifiers')
        .columns(['app_id', 'key', 'value'])
        .execute();
    },
  },
  '0002_history_and_rules': {
    async up(db: Kysely<any>) {
      // Ordered by a database-assigned sequence: within one profile, entries are written under the
      // profile's row lock, so the sequence is also the order in which the changes committed.
      await sequenced(dialect, db.schema.createTable('identifier_history'))
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('old_value', 'text')
        .addColumn('new_value', 'text')
        .addColumn('other_profile_id', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('api_key_id', 'text')
        .addColumn('request_id', 'text')
        .addColumn('changed_at', 'bigint', (c) => c.notNull())
        .execute();
      // One index only: every write adds an entry to it, and a profile's history is short enough
      // that filtering it by key needs no index of its own.
      await db.schema
        .createIndex('identifier_history_profile_idx')
        .on('identifier_history')
        .columns(['app_id', 'profile_id', 'seq'])
        .execute();

      // One row per app that has rules; an app without a row has the defaults.
      await db.schema
        .createTable('app_rules')
        .addColumn('app_id', 'text', (c) => c.primaryKey().references('apps.id'))
        .addColumn('placeholder_mode', 'text', (c) => c.notNull())
        .addColumn('extra_placeholders', 'text', (c) => c.notNull())
        .addColumn('conflict_policies', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0003_webhooks': {
    async up(db: Kysely<any>) {
      await clustered(dialect, db.schema
        .createTable('webhook_endpoints')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('event_types', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('removed_at', 'bigint')
        .addPrimaryKeyConstraint('webhook_endpoints_pk', ['app_id', 'id']))
        .execute();
      // Which endpoints want which event type: read in the transaction of every change.
      await clustered(dialect, db.schema
        .createTable('webhook_subscriptions')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_subscriptions_pk', ['app_id', 'event_type', 'endpoint_id']))
        .execute();
      await clustered(dialect, db.schema
        .createTable('webhook_events')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_events_pk', ['app_id', 'id']))
        .execute();
      await sequenced(dialect, db.schema.createTable('webhook_deliveries'))
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_until', 'bigint')
        .addColumn('last_attempt_at', 'bigint')
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('completed_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_due_idx')
        .on('webhook_deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();
      // Ordering per profile and endpoint: a delivery waits for the earlier ones of its profile.
      await db.schema
        .createIndex('webhook_deliveries_queue_idx')
        .on('webhook_deliveries')
        .columns(['app_id', 'endpoint_id', 'profile_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_app_idx')
        .on('webhook_deliveries')
        .columns(['app_id', 'status', 'seq'])
        .execute();
    },
  },
  '0004_revenue': {
    async up(db: Kysely<any>) {
      // Set on the first transaction or grant, so that reading a profile without any skips the revenue tables.
      await db.schema.alterTable('profiles').addColumn('revenue_at', 'bigint').execute();

      await clustered(dialect, db.schema
        .createTable('paid_access_levels')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('paid_access_levels_pk', ['app_id', 'id']))
        .execute();
      await clustered(dialect, db.schema
        .createTable('products')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('store_product_id', 'text', (c) => c.notNull())
        .addColumn('access_level_id', 'text')
        .addColumn('is_consumable', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('products_pk', ['app_id', 'store_product_id']))
        .execute();
      await db.schema
        .createTable('revenue_settings')
        .addColumn('app_id', 'text', (c) => c.primaryKey().references('apps.id'))
        .addColumn('unknown_access_levels', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await clustered(dialect, db.schema
        .createTable('currency_rates')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('usd_per_unit', 'double precision', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('currency_rates_pk', ['app_id', 'currency']))
        .execute();

      // A transaction is one row per (store, store transaction id) within an app (the unique index
      // below): sent again, it is updated.
      let transactions = db.schema
        .createTable('transactions')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('store', 'text', (c) => c.notNull())
        .addColumn('store_transaction_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('purchase_id', 'text', (c) => c.notNull())
        .addColumn('purchase_type', 'text', (c) => c.notNull())
        .addColumn('store_product_id', 'text', (c) => c.notNull())
        .addColumn('store_base_plan_id', 'text')
        .addColumn('store_original_transaction_id', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('is_family_shared', 'integer', (c) => c.notNull())
        .addColumn('price_country', 'text', (c) => c.notNull())
        .addColumn('price_currency', 'text', (c) => c.notNull())
        .addColumn('price_value', 'double precision', (c) => c.notNull())
        .addColumn('price_usd', 'double precision')
        .addColumn('purchased_at', 'bigint', (c) => c.notNull());
      for (const name of [
        'originally_purchased_at', 'expires_at', 'renew_status_changed_at', 'billing_issue_detected_at',
        'grace_period_expires_at', 'refunded_at', 'access_ends_at',
      ]) {
        transactions = transactions.addColumn(name, 'bigint');
      }
      await clustered(dialect, transactions
        .addColumn('renew_status', 'integer')
        .addColumn('variation_id', 'text')
        .addColumn('offer', 'text')
        .addColumn('cancellation_reason', 'text')
        .addColumn('access_level_id', 'text')
        .addColumn('is_consumable', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        // Stored by profile, like every table that hangs off one: reading a profile's transactions
        // is a range of the primary key (without statistics, SQLite would rather walk the app's
        // rows by a key that starts with app_id alone than use a second index).
        .addPrimaryKeyConstraint('transactions_pk', ['app_id', 'profile_id', 'store', 'store_transaction_id'])
        .addForeignKeyConstraint('transactions_profile_fk', ['app_id', 'profile_id'], 'profiles', ['app_id', 'id']))
        .execute();
      await db.schema
        .createIndex('transactions_store_id_uq')
        .on('transactions')
        .columns(['app_id', 'store', 'store_transaction_id'])
        .unique()
        .execute();

      await clustered(dialect, db.schema
        .createTable('access_grants')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('access_level_id', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint')
        .addColumn('expires_at', 'bigint')
        .addColumn('access_ends_at', 'bigint')
        .addColumn('granted_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_grants_pk', ['app_id', 'profile_id', 'access_level_id'])
        .addForeignKeyConstraint('access_grants_profile_fk', ['app_id', 'profile_id'], 'profiles', ['app_id', 'id']))
        .execute();
      await clustered(dialect, db.schema
        .createTable('refund_saver_settings')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('consent', 'integer', (c) => c.notNull())
        .addColumn('custom_preference', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('refund_saver_settings_pk', ['app_id', 'profile_id'])
        .addForeignKeyConstraint('refund_saver_settings_profile_fk', ['app_id', 'profile_id'], 'profiles', ['app_id', 'id']))
        .execute();
      // When the clock looks at an access level again (a start or an end is due): one row per level.
      await clustered(dialect, db.schema
        .createTable('access_level_clock')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('access_level_id', 'text', (c) => c.notNull())
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_level_clock_pk', ['app_id', 'profile_id', 'access_level_id']))
        .execute();
      await db.schema.createIndex('access_level_clock_due_idx').on('access_level_clock').columns(['due_at']).execute();
    },
  },
  '0005_keys_audit': {
    async up(db: Kysely<any>) {
      // Keys made before scopes could do everything: they stay admin keys.
      await db.schema.alterTable('api_keys').addColumn('scope', 'text', (c) => c.notNull().defaultTo('admin')).execute();
      await db.schema.alterTable('api_keys').addColumn('expires_at', 'bigint').execute();
      await db.schema.alterTable('api_keys').addColumn('last_used_at', 'bigint').execute();
      // Hints used to show an operator's own key up to its first dot: cut them to what may be shown.
      const keys = await db.selectFrom('api_keys').select(['id', 'hint', 'name']).execute();
      for (const key of keys as { id: string; hint: string; name: string }[]) {
        const hint = rehint(key.hint, key.name);
        if (hint !== key.hint) await db.updateTable('api_keys').set({ hint }).where('id', '=', key.id).execute();
      }

      await sequenced(dialect, db.schema.createTable('audit_log'))
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // The trail is read per app, newest first.
      await db.schema.createIndex('audit_log_app_idx').on('audit_log').columns(['app_id', 'seq']).execute();
    },
  },
  '0006_history_erasure': {
    async up(db: Kysely<any>) {
      // Deleting a profile erases its personal data from the events stored about it: found by profile.
      await db.schema.createIndex('webhook_events_profile_idx').on('webhook_events').columns(['app_id', 'profile_id']).execute();
    },
  },
  '0007_destinations': {
    async up(db: Kysely<any>) {
      // A destination (a tool revenue is sent to) is an endpoint of the outbox too: its deliveries
      // share the queue, the leases, the per-profile order and the erasure of webhooks. `kind` tells
      // them apart; `destination` holds the tool's type, credentials and event names as JSON.
      await db.schema.alterTable('webhook_endpoints').addColumn('kind', 'text', (c) => c.notNull().defaultTo('webhook')).execute();
      await db.schema.alterTable('webhook_endpoints').addColumn('destination', 'text').execute();
    },
  },
  '0008_one_statement_writes': {
    async up(db: Kysely<any>) {
      // PostgreSQL only: an identifier write and a profile create as one function call each, so
      // one round trip (src/storage/postgres/). SQLite runs in the process and gains nothing from it.
      if (dialect === 'postgres') await sql.raw(FUNCTIONS_0008).execute(db);
    },
  },
  '0009_pending_queue': {
    async up(db: Kysely<any>) {
      // The worker's claim walks pending deliveries in order and stops at the first it may send.
      // The (status, next_attempt_at) index made it read and sort every pending delivery instead
      // (SQLite: about 30 ms of the event loop per poll with 5,600 pending).
      await sql.raw("create index webhook_deliveries_pending_idx on webhook_deliveries (seq) where status = 'pending'").execute(db);
      await db.schema.dropIndex('webhook_deliveries_due_idx').execute();
      // PostgreSQL, before its first ANALYZE of the table, checked "an earlier delivery of this
      // profile is pending" through (app_id, status, seq), reading every pending delivery of the
      // app for each candidate: seconds per poll with a few thousand pending. An index of the
      // pending ones by queue leaves it nothing else to choose. SQLite's planner already takes
      // webhook_deliveries_queue_idx there.
      if (dialect === 'postgres') {
        await sql.raw(
          "create index webhook_deliveries_pending_queue_idx on webhook_deliveries (app_id, endpoint_id, profile_id, seq) where status = 'pending'",
        ).execute(db);
      }
    },
  },
});

/**
 * A table whose first column, `seq`, is a number the database assigns in increasing order: the
 * rowid on SQLite, an identity column on PostgreSQL.
 */
function sequenced<T extends string>(dialect: Dialect, table: CreateTableBuilder<T, never>) {
  return dialect === 'sqlite'
    ? table.addColumn('seq', 'integer', (c) => c.primaryKey())
    : table.addColumn('seq', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity());
}

/**
 * Brings the schema up to date (on PostgreSQL, the `schema` the connection works in). Kysely's migrator holds a lock for the whole run (an advisory
 * lock on PostgreSQL), so processes that start together migrate exactly once.
 */
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect, schema?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  // Kysely looks for its bookkeeping tables in every schema unless told which one is ours.
  const migrator = new Migrator({ db, provider, ...(schema === undefined ? {} : { migrationTableSchema: schema }) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    const name = failed ? ` ${failed.migrationName}` : '';
    throw new Error(`migration${name} failed: ${reason}`);
  }
}
