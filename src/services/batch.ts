import { identifierChangesData } from '../domain/events.js';
import {
  changeOf,
  type HistoryRecord,
  type IdentifierChange,
  type IdentifierWriteResult,
  repeatsLatestDrop,
  type WriteActor,
} from '../domain/identifier-writes.js';
import type { IdentifierChanges } from '../domain/identifiers.js';
import type { ProfileAddress } from '../domain/profile.js';
import { type AppRules, applyPlaceholderRule, type DroppedValue } from '../domain/rules.js';
import { ApiError, CustomerUserIdTakenError, IdentifierConflictError } from '../errors.js';
import type { IdentifierRow, ProfileRef, Store, WriteTransaction } from '../storage/store.js';
import { writeIdentifiers } from './identifier-writes.js';

/** One item of a batch write, already validated. */
export interface BatchItem {
  address: ProfileAddress;
  changes: IdentifierChanges;
}

/** What became of one batch item. */
export type BatchOutcome =
  | { ok: true; result: IdentifierWriteResult; customerUserId: string | null; created: boolean }
  | { ok: false; error: 'profile_not_found' | CustomerUserIdTakenError | IdentifierConflictError | ApiError };

/** Identifier writes to many profiles in one request and one transaction. */
export class BatchService {
  constructor(private readonly store: Store) {}

  /**
   * Applies the items in order in ONE transaction; each item succeeds or fails on its own, and a
   * failed item changes nothing. With `createMissing`, an item addressed only by customer user id
   * whose profile does not exist creates it. Apps without conflict policies take the set-based path
   * (a handful of statements for the whole batch); the others go item by item, each in a savepoint,
   * because an item's outcome then depends on other profiles' values.
   */
  apply(appId: string, items: readonly BatchItem[], createMissing: boolean, actor: WriteActor): Promise<BatchOutcome[]> {
    return this.store.write(async (tx) => {
      const rules = await tx.rules(appId);
      if (Object.keys(rules.conflictPolicies).length === 0) return applySetBased(tx, appId, items, createMissing, actor, rules);
      // Every addressed profile held at once, in one order, before the items take them one by one:
      // concurrent batches then cannot deadlock on the profiles they name.
      const { ids, cuids } = addressesOf(items.map((item) => item.address));
      await tx.profilesForWrite(appId, ids, cuids);
      const outcomes: BatchOutcome[] = [];
      for (const item of items) outcomes.push(await applyItem(tx, appId, item, createMissing, actor, rules));
      return outcomes;
    });
  }
}

const createsMissing = (address: ProfileAddress, createMissing: boolean) =>
  createMissing && address.customerUserId !== undefined && address.profileId === undefined;

/** One item in a savepoint of its own: a failed item is undone alone. */
async function applyItem(tx: WriteTransaction, appId: string, item: BatchItem, createMissing: boolean, actor: WriteActor, rules: AppRules): Promise<BatchOutcome> {
  try {
    return await tx.savepoint(async (): Promise<BatchOutcome> => {
      let profile = await tx.profileForWrite(appId, item.address);
      let created = false;
      if (profile === null && createsMissing(item.address, createMissing)) {
        const ensured = await tx.ensureProfile(appId, item.address);
        created = ensured.created;
        profile = { id: ensured.id, customerUserId: item.address.customerUserId! };
        if (created) await tx.recordEvent(appId, 'profile.created', { profile_id: profile.id, customer_user_id: profile.customerUserId, fields: [] });
      }
      if (profile === null) return { ok: false, error: 'profile_not_found' };
      const result = await writeIdentifiers(tx, appId, profile, item.changes, actor, rules);
      return { ok: true, result, customerUserId: profile.customerUserId, created };
    });
  } catch (error) {
    if (error instanceof CustomerUserIdTakenError || error instanceof IdentifierConflictError || error instanceof ApiError) return { ok: false, error };
    throw error;
  }
}

const slotOf = (profileId: string, key: string) => `${profileId}\u0000${key}`;

/** The distinct profile ids and customer user ids that the addresses name. */
const addressesOf = (addresses: readonly ProfileAddress[]) => ({
  ids: [...new Set(addresses.flatMap((a) => (a.profileId === undefined ? [] : [a.profileId])))],
  cuids: [...new Set(addresses.flatMap((a) => (a.customerUserId === undefined ? [] : [a.customerUserId])))],
});

/** The addressed profiles, found (and created where the items may create them) all at once. */
async function resolveProfiles(tx: WriteTransaction, appId: string, addresses: readonly ProfileAddress[], createMissing: boolean) {
  const { ids, cuids } = addressesOf(addresses);
  const found = await tx.profilesForWrite(appId, ids, cuids);
  const byId = new Map(found.map((p) => [p.id, p]));
  const byCuid = new Map(found.flatMap((p) => (p.customerUserId === null ? [] : [[p.customerUserId, p] as const])));
  const resolve = ({ profileId, customerUserId }: ProfileAddress): ProfileRef | undefined => {
    if (profileId !== undefined) {
      const profile = byId.get(profileId);
      return profile && (customerUserId === undefined || profile.customerUserId === customerUserId) ? profile : undefined;
    }
    return customerUserId === undefined ? undefined : byCuid.get(customerUserId);
  };
  const createdIds = new Set<string>();
  const toCreate = [...new Set(addresses.flatMap((a) => (createsMissing(a, createMissing) && !resolve(a) ? [a.customerUserId!] : [])))];
  if (toCreate.length > 0) {
    const { created, concurrent } = await tx.createProfiles(appId, toCreate);
    for (const profile of [...created, ...concurrent]) {
      byId.set(profile.id, profile);
      byCuid.set(profile.customerUserId!, profile);
    }
    for (const profile of created) createdIds.add(profile.id);
  }
  return { resolve, createdIds, byId };
}

/** The stored newest history entry of each slot (profile and key) asked for, by slot; read only when some placeholder is dropped. */
async function latestDrops(tx: WriteTransaction, appId: string, slots: readonly { profileId: string; key: string }[]) {
  const latest = new Map<string, HistoryRecord>();
  if (slots.length === 0) return latest;
  const profileIds = [...new Set(slots.map((slot) => slot.profileId))];
  const keys = [...new Set(slots.map((slot) => slot.key))];
  for (const entry of await tx.latestHistory(appId, profileIds, keys)) latest.set(slotOf(entry.profileId, entry.key), entry);
  return latest;
}

/**
 * The set-based path: every addressed profile is found (and held) at once, the current values of
 * all their keys are read at once, the items are then applied in order in memory (an item sees the
 * writes of the items before it), and the resulting rows, history entries and events are written
 * in bulk. The outcome is the same as applying the items one by one. Only for apps whose keys all
 * allow shared values (no conflict policy), where no item's outcome depends on other profiles.
 */
async function applySetBased(
  tx: WriteTransaction,
  appId: string,
  items: readonly BatchItem[],
  createMissing: boolean,
  actor: WriteActor,
  rules: AppRules,
): Promise<BatchOutcome[]> {
  const outcomes: (BatchOutcome | undefined)[] = new Array(items.length);
  const filtered: ({ kept: IdentifierChanges; dropped: DroppedValue[] } | undefined)[] = items.map((item, i) => {
    try {
      return applyPlaceholderRule(rules, item.changes);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      outcomes[i] = { ok: false, error };
      return undefined;
    }
  });
  const live = items.map((item, i) => ({ item, i })).filter(({ i }) => outcomes[i] === undefined);
  const { resolve, createdIds, byId } = await resolveProfiles(tx, appId, live.map(({ item }) => item.address), createMissing);

  const profiles = [...new Set(live.flatMap(({ item }) => resolve(item.address)?.id ?? []))];
  const initial = new Map((await tx.identifierRowsOf(appId, profiles)).map((row) => [slotOf(row.profileId, row.key), row.value]));
  const current = new Map(initial);
  // The newest history entry of each slot where a placeholder is dropped, kept up to date as the
  // items apply: a drop that repeats it adds no entry.
  const latest = await latestDrops(tx, appId, live.flatMap(({ item, i }) => {
    const profileId = resolve(item.address)?.id;
    return profileId === undefined ? [] : filtered[i]!.dropped.map(({ key }) => ({ profileId, key }));
  }));

  // The items in order, in memory.
  const now = Date.now();
  const history: HistoryRecord[] = [];
  const reported = new Set<string>();
  const events: { profile: ProfileRef; changes: IdentifierChange[] }[] = [];
  for (const { item, i } of live) {
    const profile = resolve(item.address);
    if (!profile) {
      outcomes[i] = { ok: false, error: 'profile_not_found' };
      continue;
    }
    const { kept, dropped } = filtered[i]!;
    const changes: IdentifierChange[] = [];
    for (const [key, value] of kept) {
      const slot = slotOf(profile.id, key);
      const change = changeOf(key, current.get(slot) ?? null, value);
      if (!change) continue;
      changes.push(change);
      if (value === null) current.delete(slot);
      else current.set(slot, value);
    }
    for (const change of changes) {
      const entry: HistoryRecord = { profileId: profile.id, otherProfileId: null, ...change };
      history.push(entry);
      latest.set(slotOf(profile.id, change.key), entry);
    }
    for (const { key, value } of dropped) {
      const slot = slotOf(profile.id, key);
      const kept = current.get(slot) ?? null;
      if (repeatsLatestDrop(latest.get(slot), kept, value)) continue;
      const entry: HistoryRecord = { profileId: profile.id, key, kind: 'dropped', oldValue: kept, newValue: value, otherProfileId: null };
      history.push(entry);
      latest.set(slot, entry);
    }
    if (changes.length > 0) events.push({ profile, changes });
    const created = createdIds.has(profile.id) && !reported.has(profile.id);
    if (created) reported.add(profile.id);
    outcomes[i] = { ok: true, result: { profileId: profile.id, changes, dropped, moves: [] }, customerUserId: profile.customerUserId, created };
  }

  // The final state, written in bulk: only rows whose value differs from the stored one.
  const upserts: IdentifierRow[] = [];
  const clears = new Map<string, string[]>();
  for (const slot of new Set([...initial.keys(), ...current.keys()])) {
    const [profileId, key] = slot.split('\u0000') as [string, string];
    const after = current.get(slot);
    if (after === initial.get(slot)) continue;
    if (after === undefined) clears.set(key, [...(clears.get(key) ?? []), profileId]);
    else upserts.push({ profileId, key, value: after });
  }
  await tx.writeIdentifierRows(appId, upserts, clears, now);
  await tx.appendHistory(appId, actor, history, now);

  // Events, only when an endpoint of the app wants them.
  const wanted = await tx.subscribedEventTypes(appId);
  if (wanted.has('profile.created')) {
    for (const id of createdIds) {
      await tx.recordEvent(appId, 'profile.created', { profile_id: id, customer_user_id: byId.get(id)!.customerUserId, fields: [] }, now);
    }
  }
  if (wanted.has('integration_identifiers.updated')) {
    for (const { profile, changes } of events) {
      await tx.recordEvent(appId, 'integration_identifiers.updated', {
        profile_id: profile.id,
        customer_user_id: profile.customerUserId,
        changes: identifierChangesData(changes),
      }, now);
    }
  }
  return outcomes as BatchOutcome[];
}
