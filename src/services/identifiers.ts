import type { IdentifierWriteResult, WriteActor } from '../domain/identifier-writes.js';
import type { IdentifierChanges, IdentifierKey, IdentifierSet } from '../domain/identifiers.js';
import type { ProfileAddress } from '../domain/profile.js';
import type { HistoryEntry, HistoryQuery, IdentifierHolder, Store } from '../storage/store.js';
import { writeIdentifiers } from './identifier-writes.js';

/** Integration identifiers of one profile: read, written under the app's rules, looked up, and their history. */
export class IdentifierService {
  constructor(private readonly store: Store) {}

  /** All 16 keys, null where unset; null when the profile is not found. */
  get(appId: string, address: ProfileAddress): Promise<IdentifierSet | null> {
    return this.store.getIdentifiers(appId, address);
  }

  /**
   * Sets and clears the given keys, leaving the others alone, under the app's rules, with history
   * and outbox events in the same transaction; null when the profile is not found. Throws
   * IdentifierConflictError, or a validation ApiError when the app refuses a placeholder.
   */
  set(appId: string, address: ProfileAddress, changes: IdentifierChanges, actor: WriteActor): Promise<IdentifierWriteResult | null> {
    return this.store.write(async (tx) => {
      // Held first: writes to one profile take turns, so its history is in commit order and each
      // entry's old value is the one that was really replaced.
      const profile = await tx.profileForWrite(appId, address);
      if (profile === null) return null;
      return writeIdentifiers(tx, appId, profile, changes, actor, await tx.rules(appId));
    });
  }

  /** Every profile of the app whose `key` is exactly `value`, at most `limit`, by profile id. */
  lookup(appId: string, key: IdentifierKey, value: string, limit: number): Promise<IdentifierHolder[]> {
    return this.store.lookupIdentifier(appId, key, value, limit);
  }

  /**
   * A page of the profile's identifier history, newest first, and the cursor of the next page
   * (null on the last); null when the profile is not found.
   */
  async history(appId: string, address: ProfileAddress, query: HistoryQuery): Promise<{ entries: HistoryEntry[]; next: number | null } | null> {
    // One entry more than asked for says whether there is a next page.
    const entries = await this.store.identifierHistory(appId, address, { ...query, limit: query.limit + 1 });
    if (!entries) return null;
    const page = entries.slice(0, query.limit);
    return { entries: page, next: entries.length > query.limit ? page[page.length - 1]!.id : null };
  }
}
