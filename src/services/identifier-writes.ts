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
import { type AppRules, applyPlaceholderRule, DEFAULT_RULES, type DroppedValue } from '../domain/rules.js';
import { IdentifierConflictError } from '../errors.js';
import type { OneStatementWrites, VersionedRules } from '../storage/postgres/one-statement.js';
import type { ProfileRef, WriteTransaction } from '../storage/store.js';

/**
 * Sets and clears the given keys of a profile that the transaction holds, following the app's
 * rules:
 * - placeholder values are dropped, refused or accepted (applyPlaceholderRule);
 * - a value held by another profile is allowed, refused (IdentifierConflictError, nothing written),
 *   or moved (the other profile loses it);
 * then records every real change in the identifier history and in the webhook outbox, all in the
 * caller's transaction (a dropped placeholder unless it repeats the key's newest entry). Each key
 * is its own row, so the profile's other keys are left alone.
 */
export async function writeIdentifiers(
  tx: WriteTransaction,
  appId: string,
  profile: ProfileRef,
  requested: IdentifierChanges,
  actor: WriteActor,
  rules: AppRules,
): Promise<IdentifierWriteResult> {
  const { kept, dropped } = applyPlaceholderRule(rules, requested);
  const now = Date.now();
  const result: IdentifierWriteResult = { profileId: profile.id, changes: [], dropped, moves: [] };
  // Dropped keys are read too: their history entry shows the value that was kept.
  const current = await tx.identifierValues(appId, profile.id, [...requested.keys()]);
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
    const others = await tx.otherHolders(appId, change.key, change.newValue, profile.id);
    if (others.length === 0) continue;
    if (policy === 'reject') conflicts.push(change.key);
    else moves.push({ change, from: others });
  }
  if (conflicts.length > 0) throw new IdentifierConflictError(conflicts);

  const history: HistoryRecord[] = [];
  for (const { change, from } of moves) {
    for (const other of from) {
      // The losing profile is held too, so that its own history stays in commit order. The value is
      // taken only if the loser still holds it once held: it may have changed the key since it was
      // read, and then keeps its newer value and nothing moved.
      const loser = await tx.profileForWrite(appId, { profileId: other });
      if (!loser || !(await tx.takeIdentifier(appId, other, change.key, change.newValue!))) continue;
      change.movedFrom ??= other;
      result.moves.push({ profileId: other, key: change.key, value: change.newValue! });
      history.push({ profileId: other, key: change.key, kind: 'moved_away', oldValue: change.newValue, newValue: null, otherProfileId: profile.id });
      await tx.recordEvent(appId, 'integration_identifiers.updated', {
        profile_id: other,
        customer_user_id: loser.customerUserId,
        changes: { [change.key]: { old: change.newValue, new: null } },
        moved_to_profile_id: profile.id,
      }, now);
    }
  }

  const cleared = result.changes.filter((change) => change.newValue === null).map((change) => change.key);
  const set = result.changes.flatMap((change) => (change.newValue === null ? [] : [[change.key, change.newValue] as [string, string]]));
  if (cleared.length > 0) await tx.clearIdentifiers(appId, profile.id, cleared);
  if (set.length > 0) await tx.upsertIdentifiers(appId, profile.id, set, now);

  for (const change of result.changes) {
    history.push({ profileId: profile.id, key: change.key, kind: change.kind, oldValue: change.oldValue, newValue: change.newValue, otherProfileId: change.movedFrom ?? null });
  }
  // A placeholder sent again over the same value, with no change of the key since, adds no entry.
  const latest = dropped.length > 0 ? await tx.latestHistory(appId, [profile.id], dropped.map((drop) => drop.key)) : [];
  for (const { key, value } of dropped) {
    const kept = current.get(key) ?? null;
    if (repeatsLatestDrop(latest.find((entry) => entry.key === key), kept, value)) continue;
    history.push({ profileId: profile.id, key, kind: 'dropped', oldValue: kept, newValue: value, otherProfileId: null });
  }
  await tx.appendHistory(appId, actor, history, now);
  if (result.changes.length > 0) {
    await tx.recordEvent(appId, 'integration_identifiers.updated', {
      profile_id: profile.id,
      customer_user_id: profile.customerUserId,
      changes: identifierChangesData(result.changes),
    }, now);
  }
  return result;
}

/** Apps whose rules one process remembers at most; the oldest is forgotten first. */
const RULES_CACHE_SIZE = 10_000;

/**
 * The rules of each app as this process last saw them, with their stored version. A write sends
 * the version along and the database refuses it when the rules changed since: nothing is ever
 * decided on rules that are out of date, and no read of them is needed otherwise.
 */
export class RulesCache {
  private readonly byApp = new Map<string, VersionedRules>();

  get(appId: string): VersionedRules | undefined {
    return this.byApp.get(appId);
  }

  set(appId: string, rules: VersionedRules): void {
    this.byApp.delete(appId);
    if (this.byApp.size >= RULES_CACHE_SIZE) this.byApp.delete(this.byApp.keys().next().value!);
    this.byApp.set(appId, rules);
  }
}

/**
 * writeIdentifiers as one statement (PostgreSQL): the placeholder rule is applied here, on the
 * cached rules, and everything else (current values, conflicts, moves, rows, history, events) in
 * the database. Null when the profile is not found; undefined when this path cannot decide (the
 * placeholder rule refuses the write, whose answer then depends on reading the profile first, or
 * the rules kept changing), and the caller runs writeIdentifiers in a transaction instead.
 */
export async function writeIdentifiersInOneStatement(
  statements: OneStatementWrites,
  cache: RulesCache,
  appId: string,
  address: ProfileAddress,
  requested: IdentifierChanges,
  actor: WriteActor,
): Promise<IdentifierWriteResult | null | undefined> {
  let known = cache.get(appId);
  // A second call only when the rules changed since they were cached (or were never read).
  for (let attempt = 0; attempt < 2; attempt++) {
    let applied: { kept: IdentifierChanges; dropped: DroppedValue[] };
    try {
      applied = applyPlaceholderRule(known?.rules ?? DEFAULT_RULES, requested);
    } catch {
      return undefined;
    }
    const answer = await statements.writeIdentifiers({
      appId,
      address,
      ...applied,
      policies: (known?.rules ?? DEFAULT_RULES).conflictPolicies,
      rulesVersion: known?.version ?? null,
      actor,
      now: Date.now(),
    });
    switch (answer.status) {
      case 'not_found':
        return null;
      case 'conflict':
        throw new IdentifierConflictError(answer.keys);
      case 'written':
        return answer.result;
      case 'stale':
        known = answer.rules;
        cache.set(appId, known);
    }
  }
  return undefined;
}
