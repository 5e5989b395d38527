import { type Kysely, sql } from 'kysely';
import type { IdentifierChanges, IdentifierKey } from '../domain/identifiers.js';
import { type AppRules, applyPlaceholderRule, DEFAULT_RULES, type DroppedValue, parseConflictPolicies, isPlaceholderMode, placeholderForm } from '../domain/rules.js';
import { IdentifierConflictError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { emitEvent } from './outbox.js';
import { preparedQuery } from './prepared.js';
import { type LockedProfile, lockProfileRow } from './profile-queries.js';
import type { Database } from './schema.js';

type Db = Kysely<Database>;

/** Who made a write, as history records it. */
export interface WriteActor {
  source: 'api' | 'batch' | 'import';
  apiKeyId: string | null;
  requestId: string | null;
}

/** What an identifier history entry records. `moved_away`: another profile took the value. */
export type HistoryKind = 'set' | 'change' | 'clear' | 'moved_away' | 'dropped';

/** One key of one profile that really changed. */
export interface IdentifierChange {
  key: IdentifierKey;
  oldValue: string | null;
  newValue: string | null;
  kind: Exclude<HistoryKind, 'dropped'>;
  /** Under the `move` policy: the profile that lost the value to this write. */
  movedFrom?: string;
}

/** What an identifier write did. */
export interface IdentifierWriteResult {
  profileId: string;
  /** Keys whose stored value changed; a key written with its current value is not here. */
  changes: IdentifierChange[];
  /** Placeholder values left out of the write (placeholder mode `drop`). */
  dropped: DroppedValue[];
  /** Other profiles that lost a value to this write (conflict policy `move`). */
  moves: { profileId: string; key: IdentifierKey; value: string }[];
}

/** The app's rules as stored, or the defaults for an app that has none. */
export async function readRules(db: Db, dialect: Dialect, appId: string): Promise<AppRules> {
  const [row] = await preparedQuery(dialect.prepared, 'rules:get', 1, (app) =>
    dialect.db.selectFrom('app_rules').select(['placeholder_mode', 'extra_placeholders', 'conflict_policies']).where('app_id', '=', app!),
  ).execute(db, [appId]);
  if (!row) return DEFAULT_RULES;
  const extra = JSON.parse(row.extra_placeholders) as unknown;
  return {
    placeholderMode: isPlaceholderMode(row.placeholder_mode) ? row.placeholder_mode : DEFAULT_RULES.placeholderMode,
    extraPlaceholders: Array.isArray(extra) ? extra.filter((v): v is string => typeof v === 'string').map(placeholderForm) : [],
    conflictPolicies: parseConflictPolicies(JSON.parse(row.conflict_policies)),
  };
}

async function currentValues(db: Db, dialect: Dialect, appId: string, profileId: string, keys: readonly string[]) {
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

/** The other profiles of the app that hold `value` under `key`. */
async function holders(db: Db, dialect: Dialect, appId: string, key: string, value: string, profileId: string) {
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

/** One history entry, before the actor and time that all entries of a write share. */
export interface HistoryRow {
  profileId: string;
  key: string;
  kind: HistoryKind;
  oldValue: string | null;
  newValue: string | null;
  otherProfileId: string | null;
}

/** Writes history entries, 100 rows per statement (a batch can have thousands). */
export async function appendHistory(db: Db, appId: string, actor: WriteActor, entries: readonly HistoryRow[], now: number) {
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

/** What writing `newValue` over `oldValue` changes; null when they are equal. */
export function changeOf(key: IdentifierKey, oldValue: string | null, newValue: string | null): IdentifierChange | null {
  if (newValue === oldValue) return null;
  return { key, oldValue, newValue, kind: newValue === null ? 'clear' : oldValue === null ? 'set' : 'change' };
}

async function deleteKeys(db: Db, dialect: Dialect, appId: string, profileId: string, keys: readonly string[]) {
  await preparedQuery(dialect.prepared, `identifiers:clear:${keys.length}`, 2 + keys.length, (app, profile, ...names) =>
    dialect.db
      .deleteFrom('integration_identifiers')
      .where('app_id', '=', app!)
      .where('profile_id', '=', profile!)
      .where('key', 'in', names),
  ).execute(db, [appId, profileId, ...keys]);
}

async function upsertKeys(db: Db, dialect: Dialect, appId: string, profileId: string, set: readonly [string, string][], now: number) {
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

/** The `changes` of an integration_identifiers.updated event. */
export const changesData = (changes: readonly { key: string; oldValue: string | null; newValue: string | null }[]) =>
  Object.fromEntries(changes.map((change) => [change.key, { old: change.oldValue, new: change.newValue }]));

/**
 * Sets and clears the given keys of a profile that the transaction holds locked (FOR UPDATE on
 * PostgreSQL, so that writes to one profile, and so its history, are serialised), following the
 * app's rules:
 * - placeholder values are dropped, refused or accepted (applyPlaceholderRule);
 * - a value held by another profile is allowed, refused (IdentifierConflictError, nothing written),
 *   or moved (the other profile loses it);
 * then records every real change in the identifier history and in the webhook outbox, all in the
 * caller's transaction. Each key is its own row, so the profile's other keys are left alone.
 */
export async function writeIdentifiers(
  db: Db,
  dialect: Dialect,
  appId: string,
  profile: LockedProfile,
  requested: IdentifierChanges,
  actor: WriteActor,
  rules: AppRules,
): Promise<IdentifierWriteResult> {
  const { kept, dropped } = applyPlaceholderRule(rules, requested);
  const now = Date.now();
  const result: IdentifierWriteResult = { profileId: profile.id, changes: [], dropped, moves: [] };
  // Dropped keys are read too: their history entry shows the value that was kept.
  const current = await currentValues(db, dialect, appId, profile.id, [...requested.keys()]);
  for (const [key, value] of kept) {
    const change = changeOf(key, current.get(key) ?? null, value);
    if (change) result.changes.push(change);
  }

  // Conflict policies: every refusal is found before anything is written.
  const conflicts: string[] = [];
  const moves: { change: IdentifierChange; from: string[] }[] = [];
  for (const change of result.changes) {
    const policy = rules.conflictPolicies[change.key];
    if (policy === undefined || change.newValue === null) continue;
    const others = await holders(db, dialect, appId, change.key, change.newValue, profile.id);
    if (others.length === 0) continue;
    if (policy === 'reject') conflicts.push(change.key);
    else moves.push({ change, from: others });
  }
  if (conflicts.length > 0) throw new IdentifierConflictError(conflicts);

  const history: HistoryRow[] = [];
  for (const { change, from } of moves) {
    change.movedFrom = from[0];
    for (const other of from) {
      // The losing profile is locked too, so that its own history stays in commit order.
      const loser = await lockProfileRow(db, dialect, appId, { profileId: other }, 'update');
      if (!loser) continue;
      await deleteKeys(db, dialect, appId, other, [change.key]);
      result.moves.push({ profileId: other, key: change.key, value: change.newValue! });
      history.push({ profileId: other, key: change.key, kind: 'moved_away', oldValue: change.newValue, newValue: null, otherProfileId: profile.id });
      await emitEvent(db, dialect, appId, 'integration_identifiers.updated', {
        profile_id: other,
        customer_user_id: loser.customerUserId,
        changes: { [change.key]: { old: change.newValue, new: null } },
        moved_to_profile_id: profile.id,
      }, now);
    }
  }

  const cleared = result.changes.filter((change) => change.newValue === null).map((change) => change.key);
  const set = result.changes.flatMap((change) => (change.newValue === null ? [] : [[change.key, change.newValue] as [string, string]]));
  if (cleared.length > 0) await deleteKeys(db, dialect, appId, profile.id, cleared);
  if (set.length > 0) await upsertKeys(db, dialect, appId, profile.id, set, now);

  for (const change of result.changes) {
    history.push({ profileId: profile.id, key: change.key, kind: change.kind, oldValue: change.oldValue, newValue: change.newValue, otherProfileId: change.movedFrom ?? null });
  }
  for (const { key, value } of dropped) {
    history.push({ profileId: profile.id, key, kind: 'dropped', oldValue: current.get(key) ?? null, newValue: value, otherProfileId: null });
  }
  await appendHistory(db, appId, actor, history, now);
  if (result.changes.length > 0) {
    await emitEvent(db, dialect, appId, 'integration_identifiers.updated', {
      profile_id: profile.id,
      customer_user_id: profile.customerUserId,
      changes: changesData(result.changes),
    }, now);
  }
  return result;
}
