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
 * The profiles whose `column` (id or customer_user_id) is one of `values`, read without a lock. On
 * SQLite the values are joined from a JSON array: with a long IN list its planner, lacking
 * statistics, walks the whole app.
 */
async function profilesWhere(db: Db, dialect: Dialect, appId: string, column: 'id' | 'customer_user_id', values: readonly string[]): Promise<ProfileRef[]> {
  if (values.length === 0) return [];
  const query =
    dialect.name === 'sqlite'
      ? sql<{ id: string; customer_user_id: string | null }>`select p.id, p.customer_user_id from json_each(${JSON.stringify(values)}) as j
          cross join profiles as p where p.app_id = ${appId} and p.${sql.ref(column)} = j.value`
      : sql<{ id: string; customer_user_id: string | null }>`select id, customer_user_id from profiles
          where app_id = ${appId} and ${sql.ref(column)} = any(${values})`;
  return (await query.execute(db)).rows.map((row) => ({ id: row.id, customerUserId: row.customer_user_id }));
}

/** Locks the profiles with these ids in id order, in one statement (PostgreSQL); answers them as locked. */
async function lockProfiles(db: Db, appId: string, ids: readonly string[]): Promise<ProfileRef[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: string; customer_user_id: string | null }>`select id, customer_user_id from profiles
    where app_id = ${appId} and id = any(${ids}) order by id for update`.execute(db);
  return rows.map((row) => ({ id: row.id, customerUserId: row.customer_user_id }));
}

/**
 * The addressed profiles that exist, by profile id and by customer user id, held until the
 * transaction ends. SQLite's one write lock already holds them. On PostgreSQL every profile is
 * locked in ONE statement in id order, whichever way an item names it: customer user ids are first
 * resolved to profile ids without a lock. Two batches then always lock in the same order and
 * cannot deadlock, however they mix the two kinds of address. A customer user id that moved to
 * another profile between the resolution and the lock is resolved again (rare: a concurrent
 * create or attach), and its new profile locked then.
 */
export async function findProfiles(db: Db, dialect: Dialect, appId: string, ids: readonly string[], cuids: readonly string[]): Promise<ProfileRef[]> {
  if (dialect.name === 'sqlite') {
    return [...(await profilesWhere(db, dialect, appId, 'id', ids)), ...(await profilesWhere(db, dialect, appId, 'customer_user_id', cuids))];
  }
  const byCuid = await profilesWhere(db, dialect, appId, 'customer_user_id', cuids);
  const held = new Map<string, ProfileRef>();
  for (const profile of await lockProfiles(db, appId, [...new Set([...ids, ...byCuid.map((p) => p.id)])])) held.set(profile.id, profile);
  // Resolved customer user ids whose profile, once locked, no longer has them (or is gone).
  let unsure = byCuid.filter((p) => held.get(p.id)?.customerUserId !== p.customerUserId);
  for (let round = 0; unsure.length > 0 && round < 3; round++) {
    const again = await profilesWhere(db, dialect, appId, 'customer_user_id', unsure.map((p) => p.customerUserId!));
    const locked = new Map((await lockProfiles(db, appId, again.map((p) => p.id))).map((p) => [p.id, p]));
    for (const profile of locked.values()) held.set(profile.id, profile);
    unsure = again.filter((p) => locked.get(p.id)?.customerUserId !== p.customerUserId);
  }
  return [...held.values()];
}

/**
 * Creates profiles for customer user ids that have none. Returns those it created, and those that
 * another writer created in the meantime (found and locked like any existing profile).
 */
export async function createProfiles(db: Db, dialect: Dialect, appId: string, cuids: readonly string[]) {
  const created: ProfileRef[] = [];
  const now = Date.now();
  // Inserted in one order, so that two batches creating the same customer user ids wait for each
  // other on the first one they share instead of deadlocking on the unique index.
  for (const part of chunks([...cuids].sort())) {
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

/**
 * Deletes `clears` (key -> profile ids) and upserts `upserts`, in multi-row statements. Deleting by
 * key alone is exact here: the batch holds every profile it writes (findProfiles), and every
 * writer of a profile's identifiers holds the profile first, so the values read are still the
 * stored ones. Taking a value from a profile the write does not hold (a move) is `takeValue`'s.
 */
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
