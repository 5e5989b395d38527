import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Dialect } from './dialect.js';
import type { Database } from './schema.js';
import type { IdentifierRow, ProfileRef } from './store.js';

/** Set-based queries for batches: many profiles' identifiers read and written in a few statements. */

type Db = Kysely<Database>;

/** Rows per multi-row statement: well under SQLite's and PostgreSQL's limits on parameters. */
const CHUNK = 200;

const chunks = <T>(list: readonly T[], size = CHUNK): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

/**
 * The profiles whose `column` (id or customer_user_id) is one of `values`, locked on PostgreSQL in
 * id order so that concurrent batches cannot deadlock each other. On SQLite the values are joined
 * from a JSON array: with a long IN list its planner, lacking statistics, walks the whole app.
 */
async function profilesWhere(db: Db, dialect: Dialect, appId: string, column: 'id' | 'customer_user_id', values: readonly string[]) {
  if (values.length === 0) return [];
  const query =
    dialect.name === 'sqlite'
      ? sql<{ id: string; customer_user_id: string | null }>`select p.id, p.customer_user_id from json_each(${JSON.stringify(values)}) as j
          cross join profiles as p where p.app_id = ${appId} and p.${sql.ref(column)} = j.value`
      : sql<{ id: string; customer_user_id: string | null }>`select id, customer_user_id from profiles
          where app_id = ${appId} and ${sql.ref(column)} = any(${values}) order by id for update`;
  return (await query.execute(db)).rows.map((row) => ({ id: row.id, customerUserId: row.customer_user_id }));
}

/** The addressed profiles that exist, by profile id and by customer user id. */
export async function findProfiles(db: Db, dialect: Dialect, appId: string, ids: readonly string[], cuids: readonly string[]): Promise<ProfileRef[]> {
  return [...(await profilesWhere(db, dialect, appId, 'id', ids)), ...(await profilesWhere(db, dialect, appId, 'customer_user_id', cuids))];
}

/**
 * Creates profiles for customer user ids that have none. Returns those it created, and those that
 * another writer created in the meantime (found and locked like any existing profile).
 */
export async function createProfiles(db: Db, dialect: Dialect, appId: string, cuids: readonly string[]) {
  const created: ProfileRef[] = [];
  const now = Date.now();
  for (const part of chunks(cuids)) {
    const rows = await db
      .insertInto('profiles')
      .values(part.map((cuid) => ({ app_id: appId, id: randomUUID(), customer_user_id: cuid, created_at: now, updated_at: now })))
      .onConflict((conflict) => conflict.doNothing())
      .returning(['id', 'customer_user_id'])
      .execute();
    for (const row of rows) created.push({ id: row.id, customerUserId: row.customer_user_id });
  }
  const made = new Set(created.map((holder) => holder.customerUserId));
  const missing = cuids.filter((cuid) => !made.has(cuid));
  const concurrent = missing.length > 0 ? await findProfiles(db, dialect, appId, [], missing) : [];
  return { created, concurrent };
}

/** Every identifier row of the given profiles. */
export async function identifierRowsOf(db: Db, appId: string, profileIds: readonly string[]): Promise<IdentifierRow[]> {
  const rows: IdentifierRow[] = [];
  for (const part of chunks(profileIds, 500)) {
    const found = await db
      .selectFrom('integration_identifiers')
      .select(['profile_id', 'key', 'value'])
      .where('app_id', '=', appId)
      .where('profile_id', 'in', part)
      .execute();
    for (const row of found) rows.push({ profileId: row.profile_id, key: row.key, value: row.value });
  }
  return rows;
}

/** Deletes `clears` (key -> profile ids) and upserts `upserts`, in multi-row statements. */
export async function writeIdentifierRows(
  db: Db,
  appId: string,
  upserts: readonly IdentifierRow[],
  clears: ReadonlyMap<string, readonly string[]>,
  now: number,
): Promise<void> {
  for (const [key, owners] of clears) {
    for (const part of chunks(owners, 500)) {
      await db.deleteFrom('integration_identifiers').where('app_id', '=', appId).where('key', '=', key).where('profile_id', 'in', part).execute();
    }
  }
  for (const part of chunks(upserts)) {
    await db
      .insertInto('integration_identifiers')
      .values(part.map((row) => ({ app_id: appId, profile_id: row.profileId, key: row.key, value: row.value, updated_at: now })))
      .onConflict((conflict) =>
        conflict.columns(['app_id', 'profile_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') })),
      )
      .execute();
  }
}
