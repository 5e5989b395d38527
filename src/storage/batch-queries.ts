import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { IdentifierKey } from '../domain/identifiers.js';
import { type AppRules, applyPlaceholderRule, type DroppedValue } from '../domain/rules.js';
import { ApiError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { appendHistory, changeOf, changesData, type HistoryRow, type IdentifierChange, type IdentifierWriteResult, type WriteActor } from './identifier-queries.js';
import { emitEvent, subscribedEventTypes } from './outbox.js';
import type { Database } from './schema.js';
import type { BatchItem, BatchOutcome } from './store.js';

type Db = Kysely<Database>;

/** Rows per multi-row statement: well under SQLite's and PostgreSQL's limits on parameters. */
const CHUNK = 200;

const chunks = <T>(list: readonly T[], size = CHUNK): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

interface Holder {
  id: string;
  customerUserId: string | null;
}

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
async function findProfiles(db: Db, dialect: Dialect, appId: string, ids: readonly string[], cuids: readonly string[]): Promise<Holder[]> {
  return [...(await profilesWhere(db, dialect, appId, 'id', ids)), ...(await profilesWhere(db, dialect, appId, 'customer_user_id', cuids))];
}

/**
 * Creates profiles for customer user ids that have none. Returns those it created, and those that
 * another writer created in the meantime (found and locked like any existing profile).
 */
async function createProfiles(db: Db, dialect: Dialect, appId: string, cuids: readonly string[]) {
  const created: Holder[] = [];
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

/**
 * A batch applied with a handful of set-based statements instead of several per item: every
 * addressed profile is found (and locked) at once, the current values of all their keys are read
 * at once, the items are then applied in order in memory (an item sees the writes of the items
 * before it), and the resulting rows, history entries and events are written in bulk. The outcome
 * is the same as applying the items one by one: each item succeeds or fails on its own, and a
 * failed item changes nothing. Only for apps whose keys all allow shared values (no conflict
 * policy), where no item's outcome depends on other profiles' values.
 */
export async function applyBatchInBulk(
  db: Db,
  dialect: Dialect,
  appId: string,
  items: readonly BatchItem[],
  createMissing: boolean,
  actor: WriteActor,
  rules: AppRules,
): Promise<BatchOutcome[]> {
  const outcomes: (BatchOutcome | undefined)[] = new Array(items.length);
  const filtered: ({ kept: Map<IdentifierKey, string | null>; dropped: DroppedValue[] } | undefined)[] = items.map((item, i) => {
    try {
      return applyPlaceholderRule(rules, item.changes);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      outcomes[i] = { ok: false, error };
      return undefined;
    }
  });

  // Find the profiles, and create the missing ones the items may create.
  const live = items.map((item, i) => ({ item, i })).filter(({ i }) => outcomes[i] === undefined);
  const ids = [...new Set(live.flatMap(({ item }) => (item.address.profileId === undefined ? [] : [item.address.profileId])))];
  const cuids = [...new Set(live.flatMap(({ item }) => (item.address.customerUserId === undefined ? [] : [item.address.customerUserId])))];
  const found = await findProfiles(db, dialect, appId, ids, cuids);
  const byId = new Map(found.map((h) => [h.id, h]));
  const byCuid = new Map(found.flatMap((h) => (h.customerUserId === null ? [] : [[h.customerUserId, h] as const])));
  const resolve = ({ profileId, customerUserId }: BatchItem['address']): Holder | undefined => {
    if (profileId !== undefined) {
      const holder = byId.get(profileId);
      return holder && (customerUserId === undefined || holder.customerUserId === customerUserId) ? holder : undefined;
    }
    return customerUserId === undefined ? undefined : byCuid.get(customerUserId);
  };
  const createdIds = new Set<string>();
  if (createMissing) {
    const toCreate = [...new Set(live.flatMap(({ item }) =>
      item.address.profileId === undefined && item.address.customerUserId !== undefined && !resolve(item.address) ? [item.address.customerUserId] : [],
    ))];
    const { created, concurrent } = await createProfiles(db, dialect, appId, toCreate);
    for (const holder of [...created, ...concurrent]) {
      byId.set(holder.id, holder);
      byCuid.set(holder.customerUserId!, holder);
    }
    for (const holder of created) createdIds.add(holder.id);
  }

  // Current values of every key of every profile involved.
  const profiles = [...new Set(live.flatMap(({ item }) => resolve(item.address)?.id ?? []))];
  const initial = new Map<string, string>();
  for (const part of chunks(profiles, 500)) {
    const rows = await db
      .selectFrom('integration_identifiers')
      .select(['profile_id', 'key', 'value'])
      .where('app_id', '=', appId)
      .where('profile_id', 'in', part)
      .execute();
    for (const row of rows) initial.set(`${row.profile_id}\u0000${row.key}`, row.value);
  }
  const current = new Map(initial);

  // The items in order, in memory.
  const now = Date.now();
  const history: HistoryRow[] = [];
  const reported = new Set<string>();
  const events: { profile: Holder; changes: IdentifierChange[] }[] = [];
  for (const { item, i } of live) {
    const holder = resolve(item.address);
    if (!holder) {
      outcomes[i] = { ok: false, error: 'profile_not_found' };
      continue;
    }
    const { kept, dropped } = filtered[i]!;
    const changes: IdentifierChange[] = [];
    for (const [key, value] of kept) {
      const slot = `${holder.id}\u0000${key}`;
      const change = changeOf(key, current.get(slot) ?? null, value);
      if (!change) continue;
      changes.push(change);
      if (value === null) current.delete(slot);
      else current.set(slot, value);
    }
    for (const change of changes) history.push({ profileId: holder.id, otherProfileId: null, ...change });
    for (const { key, value } of dropped) {
      history.push({ profileId: holder.id, key, kind: 'dropped', oldValue: current.get(`${holder.id}\u0000${key}`) ?? null, newValue: value, otherProfileId: null });
    }
    if (changes.length > 0) events.push({ profile: holder, changes });
    const created = createdIds.has(holder.id) && !reported.has(holder.id);
    if (created) reported.add(holder.id);
    const result: IdentifierWriteResult = { profileId: holder.id, changes, dropped, moves: [] };
    outcomes[i] = { ok: true, result, customerUserId: holder.customerUserId, created };
  }

  // The final state, written in bulk: only rows whose value differs from the stored one.
  const upserts: { key: string; profile: string; value: string }[] = [];
  const clears = new Map<string, string[]>();
  for (const slot of new Set([...initial.keys(), ...current.keys()])) {
    const [profile, key] = slot.split('\u0000') as [string, string];
    const before = initial.get(slot);
    const after = current.get(slot);
    if (after === before) continue;
    if (after === undefined) clears.set(key, [...(clears.get(key) ?? []), profile]);
    else upserts.push({ key, profile, value: after });
  }
  for (const [key, owners] of clears) {
    for (const part of chunks(owners, 500)) {
      await db.deleteFrom('integration_identifiers').where('app_id', '=', appId).where('key', '=', key).where('profile_id', 'in', part).execute();
    }
  }
  for (const part of chunks(upserts)) {
    await db
      .insertInto('integration_identifiers')
      .values(part.map((row) => ({ app_id: appId, profile_id: row.profile, key: row.key, value: row.value, updated_at: now })))
      .onConflict((conflict) =>
        conflict.columns(['app_id', 'profile_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') })),
      )
      .execute();
  }
  await appendHistory(db, appId, actor, history, now);

  // Events, only when an endpoint of the app wants them.
  const wanted = await subscribedEventTypes(db, dialect, appId);
  if (wanted.has('profile.created')) {
    for (const id of createdIds) {
      await emitEvent(db, dialect, appId, 'profile.created', { profile_id: id, customer_user_id: byId.get(id)!.customerUserId, fields: [] }, now);
    }
  }
  if (wanted.has('integration_identifiers.updated')) {
    for (const { profile, changes } of events) {
      await emitEvent(db, dialect, appId, 'integration_identifiers.updated', {
        profile_id: profile.id,
        customer_user_id: profile.customerUserId,
        changes: changesData(changes),
      }, now);
    }
  }
  return outcomes as BatchOutcome[];
}
