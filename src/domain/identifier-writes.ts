import type { IdentifierKey } from './identifiers.js';
import type { DroppedValue } from './rules.js';

/** Who made a write, as the identifier history records it. */
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

/** One history entry to record, before the actor and time that all entries of a write share. */
export interface HistoryRecord {
  profileId: string;
  key: string;
  kind: HistoryKind;
  oldValue: string | null;
  newValue: string | null;
  otherProfileId: string | null;
}

/** What writing `newValue` over `oldValue` changes; null when they are equal. */
export function changeOf(key: IdentifierKey, oldValue: string | null, newValue: string | null): IdentifierChange | null {
  if (newValue === oldValue) return null;
  return { key, oldValue, newValue, kind: newValue === null ? 'clear' : oldValue === null ? 'set' : 'change' };
}

/**
 * Whether dropping placeholder `sent` from a key whose value is `kept` repeats the key's newest
 * history entry, `latest`: a drop of the same placeholder over the same value, with no change of
 * the key since. Such a repeat changes nothing and adds no history entry; the first one stays.
 */
export function repeatsLatestDrop(latest: HistoryRecord | undefined, kept: string | null, sent: string): boolean {
  return latest !== undefined && latest.kind === 'dropped' && latest.newValue === sent && latest.oldValue === kept;
}
