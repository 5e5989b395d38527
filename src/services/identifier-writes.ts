import { identifierChangesData } from '../domain/events.js';
import { changeOf, type HistoryRecord, type IdentifierChange, type IdentifierWriteResult, type WriteActor } from '../domain/identifier-writes.js';
import type { IdentifierChanges } from '../domain/identifiers.js';
import { type AppRules, applyPlaceholderRule } from '../domain/rules.js';
import { IdentifierConflictError } from '../errors.js';
import type { ProfileRef, WriteTransaction } from '../storage/store.js';

/**
 * Sets and clears the given keys of a profile that the transaction holds, following the app's
 * rules:
 * - placeholder values are dropped, refused or accepted (applyPlaceholderRule);
 * - a value held by another profile is allowed, refused (IdentifierConflictError, nothing written),
 *   or moved (the other profile loses it);
 * then records every real change in the identifier history and in the webhook outbox, all in the
 * caller's transaction. Each key is its own row, so the profile's other keys are left alone.
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
    change.movedFrom = from[0];
    for (const other of from) {
      // The losing profile is held too, so that its own history stays in commit order.
      const loser = await tx.profileForWrite(appId, { profileId: other });
      if (!loser) continue;
      await tx.clearIdentifiers(appId, other, [change.key]);
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
  for (const { key, value } of dropped) {
    history.push({ profileId: profile.id, key, kind: 'dropped', oldValue: current.get(key) ?? null, newValue: value, otherProfileId: null });
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
