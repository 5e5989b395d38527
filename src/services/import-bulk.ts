import { randomUUID } from 'node:crypto';
import { identifierChangesData, profileEventData } from '../domain/events.js';
import { changeOf, type HistoryRecord, type IdentifierChange, repeatsLatestDrop } from '../domain/identifier-writes.js';
import type { IdentifierChanges, IdentifierKey } from '../domain/identifiers.js';
import { MAX_CUSTOM_ATTRIBUTES, type ProfilePatch } from '../domain/profile.js';
import { type AppRules, applyPlaceholderRule, type DroppedValue } from '../domain/rules.js';
import { ApiError, CustomAttributeLimitError, CustomerUserIdTakenError, IdentifierConflictError } from '../errors.js';
import type { ProfileRef, WriteTransaction } from '../storage/store.js';
import { type CustomValue, type ImportItem, type ImportOutcome, Overtaken, type Plan, readStored, setOf, slotOf, type Stored, write } from './import-bulk-state.js';

export { IMPORT_ACTOR, type ImportItem, type ImportOutcome } from './import-bulk-state.js';

/**
 * The set-based import: a run of lines is decided in memory on what a few reads found (the
 * addressed profiles, held; their identifiers, custom attributes and devices; who holds the values
 * of keys under a conflict policy), in line order, each line seeing the lines before it, and the
 * result is written in multi-row statements. It gives each line the outcome that applying it alone
 * would give. A line it cannot decide alone (revenue, a customer user id attached to an existing
 * profile, a value to move under `move`) ends the run; the caller applies that line by itself.
 */

export const patchIsEmpty = (patch: ProfilePatch) =>
  Object.keys(patch.attributes).length === 0 && patch.customAttributes === undefined && patch.installation === undefined;

/** What an item changes, for its event: its devices are named `installation_meta`, as an update names a device. */
export const eventPatch = (item: ImportItem): ProfilePatch =>
  item.installations.length > 0 && item.patch.installation === undefined ? { ...item.patch, installation: item.installations[0] } : item.patch;

/** Whether the set-based path may take the item at all (revenue goes item by item). */
export const bulkCandidate = (item: ImportItem) => item.revenue === null;

/**
 * Applies a prefix of `items` (all bulk candidates) set-based and answers their outcomes, in order;
 * fewer outcomes than items means the next item must be applied by itself.
 */
export async function applyRun(tx: WriteTransaction, appId: string, items: readonly ImportItem[], rules: AppRules): Promise<ImportOutcome[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const found = await tx.profilesForWrite(appId, ...addressesOf(items));
    const stored = await readStored(tx, appId, items, found, rules);
    const plan = decide(items, found, stored, rules);
    try {
      await tx.savepoint(() => write(tx, appId, plan, stored));
      return plan.outcomes;
    } catch (error) {
      if (!(error instanceof Overtaken)) throw error;
    }
  }
  return [];
}

function addressesOf(items: readonly ImportItem[]): [string[], string[]] {
  const ids = new Set<string>();
  const cuids = new Set<string>();
  for (const { address } of items) {
    if (address.profileId !== undefined) ids.add(address.profileId);
    if (address.customerUserId !== undefined) cuids.add(address.customerUserId);
  }
  return [[...ids], [...cuids]];
}

/** The lines in order, in memory, until one that must be applied by itself. */
function decide(items: readonly ImportItem[], found: readonly ProfileRef[], stored: Stored, rules: AppRules): Plan {
  const plan: Plan = { outcomes: [], profiles: new Map(), identifiers: new Map(stored.identifiers), history: [], events: [] };
  const byId = new Map(found.map((p) => [p.id, p]));
  const byCuid = new Map(found.flatMap((p) => (p.customerUserId === null ? [] : [[p.customerUserId, p] as const])));
  const latest = new Map(stored.latest);
  const holders = new Map([...stored.holders].map(([pair, set]) => [pair, new Set(set)]));
  const stateOf = (ref: ProfileRef, isNew: boolean) => {
    let state = plan.profiles.get(ref.id);
    if (!state) plan.profiles.set(ref.id, (state = { ref, isNew, touched: false, attributes: {}, devices: new Map() }));
    return state;
  };

  for (const item of items) {
    // The profile, found or to be created (ensureProfile's rules).
    const { profileId, customerUserId } = item.address;
    let ref = profileId !== undefined ? byId.get(profileId) : byCuid.get(customerUserId!);
    let created = false;
    if (ref && profileId !== undefined && customerUserId !== undefined && ref.customerUserId !== customerUserId) break; // an attach
    if (!ref) {
      if (profileId !== undefined && customerUserId !== undefined && byCuid.has(customerUserId)) {
        plan.outcomes.push({ ok: false, error: new CustomerUserIdTakenError() });
        continue;
      }
      ref = { id: profileId ?? randomUUID(), customerUserId: customerUserId ?? null };
      created = true;
    }
    const before = plan.profiles.get(ref.id);
    const custom = customAfter(item.patch, before?.custom ?? stored.custom.get(ref.id) ?? new Map());
    if (custom instanceof CustomAttributeLimitError) {
      plan.outcomes.push({ ok: false, error: custom });
      continue;
    }
    const identifiers = item.identifiers.size > 0 ? identifiersAfter(item.identifiers, ref, plan.identifiers, holders, rules) : null;
    if (identifiers === 'move') break;
    if (identifiers instanceof Error) {
      plan.outcomes.push({ ok: false, error: identifiers });
      continue;
    }

    // Accepted: its effects, in the order a line applies them.
    if (created) {
      byId.set(ref.id, ref);
      if (ref.customerUserId !== null) byCuid.set(ref.customerUserId, ref);
    }
    const state = stateOf(ref, created);
    if (!patchIsEmpty(item.patch) || item.installations.length > 0) state.touched = true;
    Object.assign(state.attributes, item.patch.attributes);
    if (custom !== undefined) state.custom = custom;
    for (const installation of item.patch.installation ? [item.patch.installation, ...item.installations] : item.installations) {
      const { device_id, ...fields } = installation;
      const meta = state.devices.get(device_id) ?? stored.devices.get(ref.id)?.get(device_id) ?? {};
      state.devices.set(device_id, { ...meta, ...fields });
    }
    const changed = eventPatch(item);
    if (created || !patchIsEmpty(changed)) plan.events.push({ type: created ? 'profile.created' : 'profile.updated', data: profileEventData({ profileId: ref.id, customerUserId: ref.customerUserId }, changed) });
    if (identifiers) recordIdentifiers(plan, latest, holders, rules, ref, identifiers);
    plan.outcomes.push({ ok: true, profileId: ref.id });
  }
  return plan;
}

/** The profile's custom attributes after the patch (undefined: untouched), or the limit refused. */
function customAfter(patch: ProfilePatch, current: ReadonlyMap<string, CustomValue>): Map<string, CustomValue> | undefined | CustomAttributeLimitError {
  if (patch.customAttributes === undefined) return undefined;
  if (patch.customAttributes === null) return new Map();
  const next = new Map(current);
  let written = false;
  for (const { key, value } of patch.customAttributes) {
    if (value === null) next.delete(key);
    else next.set(key, { value: String(value), isNumber: typeof value === 'number' });
  }
  // Later entries for the same key win; the limit is checked when something is written.
  for (const [, value] of new Map(patch.customAttributes.map((change) => [change.key, change.value]))) if (value !== null) written = true;
  return written && next.size > MAX_CUSTOM_ATTRIBUTES ? new CustomAttributeLimitError(MAX_CUSTOM_ATTRIBUTES) : next;
}

interface IdentifierDecision {
  changes: IdentifierChange[];
  dropped: DroppedValue[];
}

/** writeIdentifiers' decisions on the values in memory: the changes, a refusal, or `move` (applied by itself). */
function identifiersAfter(
  requested: IdentifierChanges,
  ref: ProfileRef,
  current: ReadonlyMap<string, string>,
  holders: ReadonlyMap<string, Set<string>>,
  rules: AppRules,
): IdentifierDecision | ApiError | IdentifierConflictError | 'move' {
  let filtered: ReturnType<typeof applyPlaceholderRule>;
  try {
    filtered = applyPlaceholderRule(rules, requested);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  const changes: IdentifierChange[] = [];
  for (const [key, value] of filtered.kept) {
    const change = changeOf(key, current.get(slotOf(ref.id, key)) ?? null, value);
    if (change) changes.push(change);
  }
  const conflicts: IdentifierKey[] = [];
  let moves = false;
  for (const change of changes) {
    const policy = rules.conflictPolicies[change.key];
    if (policy === undefined || change.newValue === null) continue;
    const held = holders.get(slotOf(change.key, change.newValue));
    if (!held || [...held].every((id) => id === ref.id)) continue;
    if (policy === 'reject') conflicts.push(change.key);
    else moves = true;
  }
  if (conflicts.length > 0) return new IdentifierConflictError(conflicts);
  if (moves) return 'move';
  return { changes, dropped: filtered.dropped };
}

/** An accepted line's identifier changes: the values in memory, history entries and its event. */
function recordIdentifiers(plan: Plan, latest: Map<string, HistoryRecord>, holders: Map<string, Set<string>>, rules: AppRules, ref: ProfileRef, decision: IdentifierDecision) {
  for (const change of decision.changes) {
    const slot = slotOf(ref.id, change.key);
    if (rules.conflictPolicies[change.key] !== undefined) {
      if (change.oldValue !== null) holders.get(slotOf(change.key, change.oldValue))?.delete(ref.id);
      if (change.newValue !== null) setOf(holders, slotOf(change.key, change.newValue)).add(ref.id);
    }
    if (change.newValue === null) plan.identifiers.delete(slot);
    else plan.identifiers.set(slot, change.newValue);
    const entry: HistoryRecord = { profileId: ref.id, key: change.key, kind: change.kind, oldValue: change.oldValue, newValue: change.newValue, otherProfileId: null };
    plan.history.push(entry);
    latest.set(slot, entry);
  }
  for (const { key, value } of decision.dropped) {
    const slot = slotOf(ref.id, key);
    const kept = plan.identifiers.get(slot) ?? null;
    if (repeatsLatestDrop(latest.get(slot), kept, value)) continue;
    const entry: HistoryRecord = { profileId: ref.id, key, kind: 'dropped', oldValue: kept, newValue: value, otherProfileId: null };
    plan.history.push(entry);
    latest.set(slot, entry);
  }
  if (decision.changes.length > 0) {
    plan.events.push({
      type: 'integration_identifiers.updated',
      data: { profile_id: ref.id, customer_user_id: ref.customerUserId, changes: identifierChangesData(decision.changes) },
    });
  }
}

