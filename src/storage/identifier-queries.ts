import { type Kysely, sql } from 'kysely';
import { type AppRules, DEFAULT_RULES, isPlaceholderMode, parseConflictPolicies, placeholderForm } from '../domain/rules.js';
import type { Dialect } from './dialect.js';
import { preparedQuery } from './prepared.js';
import type { Database } from './schema.js';

/** The queries of identifier writes to one profile, and of the app's identifier rules. */

type Db = Kysely<Database>;

/** The app's rules as stored, or the defaults for an app that has none. */
export async function readRules(db: Db, dialect: Dialect, appId: string): Promise<AppRules> {
  const [row] = await preparedQuery(dialect.prepared, 'rules:get', 1, (app) =>
    dialect.db.selectFrom('app_rules').select(['placeholder_mode', 'extra_placeholders', 'conflict_policies']).where('app_id', '=', app!),
  ).execute(db, [appId]);
  return row ? rulesOfRow(row) : DEFAULT_RULES;
}

/** The rules of a stored app_rules row. */
export function rulesOfRow(row: { placeholder_mode: string; extra_placeholders: string; conflict_policies: string }): AppRules {
  const extra = JSON.parse(row.extra_placeholders) as unknown;
  return {
    placeholderMode: isPlaceholderMode(row.placeholder_mode) ? row.placeholder_mode : DEFAULT_RULES.placeholderMode,
    extraPlaceholders: Array.isArray(extra) ? extra.filter((v): v is string => typeof v === 'string').map(placeholderForm) : [],
    conflictPolicies: parseConflictPolicies(JSON.parse(row.conflict_policies)),
  };
}

/** The stored values of the given keys of one profile. */
export async function currentValues(db: Db, dialect: Dialect, appId: string, profileId: string, keys: readonly string[]) {
  const rows = await preparedQuery(dialect.prepared, `identifiers:current:${keys.length}`, 2 + keys.length, (app, profile, ...names) =>
    dialect.db
      .selectFrom('integration_identifiers')
      .select(['key', 'value'])
      .where('app_id', '=', app!)
      .where('profile_id', '=', profile!)
      .where('key', 'in', names),
  ).execute(db, [appId, profileId, ...keys]);
  return new Map(rows.map((row) => [row.key, row.value]));
}

/** The other profiles of the app that hold `value` under `key`; on PostgreSQL the value is locked first. */
export async function otherHolders(db: Db, dialect: Dialect, appId: string, key: string, value: string, profileId: string) {
  if (dialect.name === 'postgres') {
    // Two writes of one value to two profiles must not both see "nobody holds it": the value
    // itself is locked until the transaction ends (SQLite has one writer at a time anyway).
    await sql`select pg_advisory_xact_lock(hashtextextended(cast(${JSON.stringify([appId, key, value])} as text), 0))`.execute(db);
  }
  const rows = await preparedQuery(dialect.prepared, 'identifiers:holders', 4, (app, name, held, profile) =>
    dialect.db
      .selectFrom('integration_identifiers')
      .select('profile_id')
      .where('app_id', '=', app!)
      .where('key', '=', name!)
      .where('value', '=', held!)
      .where('profile_id', '<>', profile!)
      .orderBy('profile_id'),
  ).execute(db, [appId, key, value, profileId]);
  return rows.map((row) => row.profile_id);
}

/**
 * Deletes the profile's `key` only while its value is still `value`; answers whether it did. A move
 * deletes by value too: if the holder changed the key since it was read, the newer value stays.
 */
export async function takeValue(db: Db, dialect: Dialect, appId: string, profileId: string, key: string, value: string): Promise<boolean> {
  const [taken] = await preparedQuery(dialect.prepared, 'identifiers:take', 4, (app, profile, name, held) =>
    dialect.db
      .deleteFrom('integration_identifiers')
      .where('app_id', '=', app!)
      .where('profile_id', '=', profile!)
      .where('key', '=', name!)
      .where('value', '=', held!)
      .returning('key'),
  ).execute(db, [appId, profileId, key, value]);
  return taken !== undefined;
}

export async function deleteKeys(db: Db, dialect: Dialect, appId: string, profileId: string, keys: readonly string[]) {
  await preparedQuery(dialect.prepared, `identifiers:clear:${keys.length}`, 2 + keys.length, (app, profile, ...names) =>
    dialect.db
      .deleteFrom('integration_identifiers')
      .where('app_id', '=', app!)
      .where('profile_id', '=', profile!)
      .where('key', 'in', names),
  ).execute(db, [appId, profileId, ...keys]);
}

export async function upsertKeys(db: Db, dialect: Dialect, appId: string, profileId: string, set: readonly [string, string][], now: number) {
  // Stand-ins: app, profile and time shared by all rows, then key and value per row.
  await preparedQuery(dialect.prepared, `identifiers:set:${set.length}`, 3 + 2 * set.length, (app, profile, time, ...pairs) =>
    dialect.db
      .insertInto('integration_identifiers')
      .values(
        set.map((_, i) => ({ app_id: app!, profile_id: profile!, key: pairs[2 * i]!, value: pairs[2 * i + 1]!, updated_at: time as unknown as number })),
      )
      .onConflict((conflict) =>
        conflict
          .columns(['app_id', 'profile_id', 'key'])
          .doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') })),
      ),
  ).execute(db, [appId, profileId, now, ...set.flat()]);
}
