import type { EventData, EventType } from '../domain/events.js';
import type { HistoryRecord, WriteActor } from '../domain/identifier-writes.js';
import type { IdentifierChanges } from '../domain/identifiers.js';
import type { InstallationMeta, ProfileAddress, ProfileAttributes, ProfilePatch } from '../domain/profile.js';
import { type AppRules, applyPlaceholderRule } from '../domain/rules.js';
import type { ApiError, CustomAttributeLimitError, CustomerUserIdTakenError, IdentifierConflictError } from '../errors.js';
import type { CustomAttributeRow, IdentifierRow, InstallationRow, ProfileRef, WriteTransaction } from '../storage/store.js';
import type { RevenueRestore, RevenueRestoreError } from './revenue.js';

/**
 * The set-based import's reads and writes (import-bulk.ts decides): what a run reads before its
 * lines are decided, and how the decisions are written, in multi-row statements.
 */

/** One validated line of a bulk import: the create operation's address and patch, plus identifier and device writes. */
export interface ImportItem {
  address: ProfileAddress;
  patch: ProfilePatch;
  /** Keys to set or clear, as toIdentifierChanges returns them; empty when the line names none. */
  identifiers: IdentifierChanges;
  /** Devices to upsert, each as an update's installation_meta is; empty when the line names none. */
  installations: readonly InstallationMeta[];
  /** Transactions, grants and Refund Saver settings to restore (RevenueService.restore); null when the line has none. */
  revenue: RevenueRestore | null;
}

/** What became of one import item: written, or refused for a reason that concerns that item alone. */
export type ImportOutcome =
  | { ok: true; profileId: string }
  | { ok: false; error: CustomerUserIdTakenError | CustomAttributeLimitError | IdentifierConflictError | RevenueRestoreError | ApiError };

export const IMPORT_ACTOR: WriteActor = { source: 'import', apiKeyId: null, requestId: null };

export const slotOf = (profileId: string, key: string) => `${profileId}\u0000${key}`;

/** One profile as the run sees it: what it was, what the lines before made of it. */
export interface ProfileState {
  ref: ProfileRef;
  /** Created by this run (inserted at its end). */
  isNew: boolean;
  /** The profile row is written (attributes or updated_at). */
  touched: boolean;
  attributes: Partial<ProfileAttributes>;
  /** Custom attributes, key -> [text, is number]; undefined until a line touches them. */
  custom?: Map<string, CustomValue>;
  /** Devices touched by the run, device id -> meta object. */
  devices: Map<string, Record<string, unknown>>;
}

export type CustomValue = { value: string; isNumber: boolean };

/** What was read before the run: the stored state of the profiles and values its lines name. */
export interface Stored {
  custom: Map<string, Map<string, CustomValue>>;
  devices: Map<string, Map<string, Record<string, unknown>>>;
  identifiers: Map<string, string>;
  latest: Map<string, HistoryRecord>;
  /** key \0 value -> profiles holding it, for keys under a conflict policy. */
  holders: Map<string, Set<string>>;
}

/** A run's decisions, waiting to be written. */
export interface Plan {
  outcomes: ImportOutcome[];
  profiles: Map<string, ProfileState>;
  identifiers: Map<string, string>;
  history: HistoryRecord[];
  events: { type: EventType; data: EventData }[];
}

/** The run may have been overtaken: a profile it meant to create was created meanwhile (PostgreSQL). */
export class Overtaken extends Error {}

/** The stored profile an address names, if the read found it (before any line applies). */
function resolveFound(items: readonly ImportItem[], found: readonly ProfileRef[]) {
  const byId = new Map(found.map((p) => [p.id, p]));
  const byCuid = new Map(found.flatMap((p) => (p.customerUserId === null ? [] : [[p.customerUserId, p] as const])));
  const touched = { custom: new Set<string>(), devices: new Set<string>(), identifiers: new Set<string>() };
  for (const { address, patch, installations, identifiers } of items) {
    const profile = address.profileId !== undefined ? byId.get(address.profileId) : byCuid.get(address.customerUserId!);
    if (!profile) continue;
    if (patch.customAttributes !== undefined) touched.custom.add(profile.id);
    if (patch.installation !== undefined || installations.length > 0) touched.devices.add(profile.id);
    if (identifiers.size > 0) touched.identifiers.add(profile.id);
  }
  return touched;
}

export async function readStored(tx: WriteTransaction, appId: string, items: readonly ImportItem[], found: readonly ProfileRef[], rules: AppRules): Promise<Stored> {
  const touched = resolveFound(items, found);
  const stored: Stored = { custom: new Map(), devices: new Map(), identifiers: new Map(), latest: new Map(), holders: new Map() };
  for (const row of touched.custom.size > 0 ? await tx.customAttributesOf(appId, [...touched.custom]) : []) {
    mapOf(stored.custom, row.profileId).set(row.key, { value: row.value, isNumber: row.isNumber });
  }
  for (const row of touched.devices.size > 0 ? await tx.installationsOf(appId, [...touched.devices]) : []) {
    mapOf(stored.devices, row.profileId).set(row.deviceId, JSON.parse(row.meta) as Record<string, unknown>);
  }
  const withIdentifiers = [...touched.identifiers];
  for (const row of withIdentifiers.length > 0 ? await tx.identifierRowsOf(appId, withIdentifiers) : []) stored.identifiers.set(slotOf(row.profileId, row.key), row.value);

  // Placeholders dropped (their newest history entry), and values of keys under a conflict policy.
  const dropKeys = new Set<string>();
  const pairs: { key: string; value: string }[] = [];
  for (const item of items) {
    if (item.identifiers.size === 0) continue;
    let filtered: ReturnType<typeof applyPlaceholderRule>;
    try {
      filtered = applyPlaceholderRule(rules, item.identifiers);
    } catch {
      continue;
    }
    for (const { key } of filtered.dropped) dropKeys.add(key);
    for (const [key, value] of filtered.kept) if (value !== null && rules.conflictPolicies[key] !== undefined) pairs.push({ key, value });
  }
  if (dropKeys.size > 0 && withIdentifiers.length > 0) {
    for (const entry of await tx.latestHistory(appId, withIdentifiers, [...dropKeys])) stored.latest.set(slotOf(entry.profileId, entry.key), entry);
  }
  for (const row of await tx.identifierHolders(appId, pairs)) setOf(stored.holders, slotOf(row.key, row.value)).add(row.profileId);
  for (const { key, value } of pairs) setOf(stored.holders, slotOf(key, value));
  return stored;
}

function mapOf<K, V>(maps: Map<string, Map<K, V>>, id: string): Map<K, V> {
  let map = maps.get(id);
  if (!map) maps.set(id, (map = new Map()));
  return map;
}

export function setOf(sets: Map<string, Set<string>>, id: string): Set<string> {
  let set = sets.get(id);
  if (!set) sets.set(id, (set = new Set()));
  return set;
}

/** The plan's final state, written in multi-row statements: only what differs from what was read. */
export async function write(tx: WriteTransaction, appId: string, plan: Plan, stored: Stored): Promise<void> {
  const now = Date.now();
  const states = [...plan.profiles.values()];
  const created = states.filter((state) => state.isNew);
  if (created.length > 0) {
    const inserted = await tx.insertProfiles(appId, created.map((s) => ({ id: s.ref.id, customerUserId: s.ref.customerUserId, attributes: s.attributes })), now);
    if (inserted.length !== created.length) throw new Overtaken();
  }
  const updated = states.filter((state) => !state.isNew && state.touched);
  if (updated.length > 0) await tx.updateProfiles(appId, updated.map((s) => ({ id: s.ref.id, attributes: s.attributes })), now);

  const removals: { profileId: string; key: string }[] = [];
  const customRows: CustomAttributeRow[] = [];
  const devices: InstallationRow[] = [];
  for (const state of states) {
    const profileId = state.ref.id;
    if (state.custom) {
      const before = stored.custom.get(profileId) ?? new Map<string, CustomValue>();
      for (const key of before.keys()) if (!state.custom.has(key)) removals.push({ profileId, key });
      for (const [key, value] of state.custom) {
        const old = before.get(key);
        if (!old || old.value !== value.value || old.isNumber !== value.isNumber) customRows.push({ profileId, key, ...value });
      }
    }
    for (const [deviceId, meta] of state.devices) devices.push({ profileId, deviceId, meta: JSON.stringify(meta) });
  }
  if (removals.length > 0 || customRows.length > 0) await tx.writeCustomAttributes(appId, removals, customRows);
  if (devices.length > 0) await tx.upsertInstallations(appId, devices, now);

  const upserts: IdentifierRow[] = [];
  const clears = new Map<string, string[]>();
  for (const slot of new Set([...stored.identifiers.keys(), ...plan.identifiers.keys()])) {
    const after = plan.identifiers.get(slot);
    if (after === stored.identifiers.get(slot)) continue;
    const [profileId, key] = slot.split('\u0000') as [string, string];
    if (after === undefined) clears.set(key, [...(clears.get(key) ?? []), profileId]);
    else upserts.push({ profileId, key, value: after });
  }
  if (upserts.length > 0 || clears.size > 0) await tx.writeIdentifierRowsInBulk(appId, upserts, clears, now);
  if (plan.history.length > 0) await tx.appendHistoryInBulk(appId, IMPORT_ACTOR, plan.history, now);

  // Events in line order (stored only when some endpoint of the app wants them).
  if (plan.events.length > 0) await tx.recordEvents(appId, plan.events, now);
}
