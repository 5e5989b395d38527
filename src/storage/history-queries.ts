import { type Kysely, sql } from 'kysely';
import type { HistoryKind, HistoryRecord, WriteActor } from '../domain/identifier-writes.js';
import type { Dialect } from './dialect.js';
import type { Database } from './schema.js';

/** The queries of the identifier history: entries appended by writes, read back, and purged. */

type Db = Kysely<Database>;

/** Writes history entries, 100 rows per statement (a batch can have thousands). */
export async function appendHistory(db: Db, appId: string, actor: WriteActor, entries: readonly HistoryRecord[], now: number) {
  for (let start = 0; start < entries.length; start += 100) {
    await db
      .insertInto('identifier_history')
      .values(
        entries.slice(start, start + 100).map((entry) => ({
          app_id: appId,
          profile_id: entry.profileId,
          key: entry.key,
          kind: entry.kind,
          old_value: entry.oldValue,
          new_value: entry.newValue,
          other_profile_id: entry.otherProfileId,
          source: actor.source,
          api_key_id: actor.apiKeyId,
          request_id: actor.requestId,
          changed_at: now,
        })),
      )
      .execute();
  }
}

/** The newest history entry of each of the given keys of the given profiles (none for a key without history). */
export async function latestHistory(db: Db, appId: string, profileIds: readonly string[], keys: readonly string[]): Promise<HistoryRecord[]> {
  const found: HistoryRecord[] = [];
  if (keys.length === 0) return found;
  for (let start = 0; start < profileIds.length; start += 200) {
    const rows = await db
      .selectFrom('identifier_history as h')
      .select(['h.profile_id', 'h.key', 'h.kind', 'h.old_value', 'h.new_value', 'h.other_profile_id'])
      .where('h.app_id', '=', appId)
      .where('h.profile_id', 'in', profileIds.slice(start, start + 200))
      .where('h.key', 'in', keys)
      // The profile's entries by the (app, profile, seq) index; a profile's history is short.
      .where('h.seq', '=', (eb) =>
        eb
          .selectFrom('identifier_history as n')
          .select((max) => max.fn.max('n.seq').as('seq'))
          .whereRef('n.app_id', '=', 'h.app_id')
          .whereRef('n.profile_id', '=', 'h.profile_id')
          .whereRef('n.key', '=', 'h.key'),
      )
      .execute();
    for (const row of rows) {
      found.push({
        profileId: row.profile_id,
        key: row.key,
        kind: row.kind as HistoryKind,
        oldValue: row.old_value,
        newValue: row.new_value,
        otherProfileId: row.other_profile_id,
      });
    }
  }
  return found;
}

/**
 * Deletes, among the `limit` oldest history entries of every app, those written before `cutoff`;
 * answers how many. Entries are taken in the order they were written (their sequence, the table's
 * key), so no index on the time is needed and a run that finds nothing old reads `limit` rows.
 */
export async function purgeHistoryBefore(db: Db, cutoff: number, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('identifier_history')
    .where('seq', 'in', (eb) => eb.selectFrom('identifier_history').select('seq').orderBy('seq').limit(limit))
    .where('changed_at', '<', cutoff)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Whether this transaction may purge the history: on PostgreSQL a transaction-scoped advisory lock
 * that another process purging at the same moment holds (it then answers false, and waits for
 * nothing); SQLite's single write lock already makes purges take turns.
 */
export async function takeHistoryPurge(db: Db, dialect: Dialect): Promise<boolean> {
  if (dialect.name !== 'postgres') return true;
  const { rows } = await sql<{ taken: boolean }>`select pg_try_advisory_xact_lock(hashtextextended('crosswalk:history-retention', 0)) as taken`.execute(db);
  return rows[0]?.taken === true;
}
