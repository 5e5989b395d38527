import { type CreateTableBuilder, type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';

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
});

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
