import { profileEventData } from '../domain/events.js';
import type { WriteActor } from '../domain/identifier-writes.js';
import type { IdentifierChanges } from '../domain/identifiers.js';
import type { ProfileAddress, ProfilePatch } from '../domain/profile.js';
import { ApiError, CustomAttributeLimitError, CustomerUserIdTakenError, IdentifierConflictError } from '../errors.js';
import type { AppStats, DatabaseSize, ExportedProfile, Store } from '../storage/store.js';
import { writeIdentifiers } from './identifier-writes.js';

/** One validated line of a bulk import: the create operation's address and patch, plus identifier writes. */
export interface ImportItem {
  address: ProfileAddress;
  patch: ProfilePatch;
  /** Keys to set or clear, as toIdentifierChanges returns them; empty when the line names none. */
  identifiers: IdentifierChanges;
}

/** What became of one import item: written, or refused for a reason that concerns that item alone. */
export type ImportOutcome =
  | { ok: true; profileId: string }
  | { ok: false; error: CustomerUserIdTakenError | CustomAttributeLimitError | IdentifierConflictError | ApiError };

const IMPORT_ACTOR: WriteActor = { source: 'import', apiKeyId: null, requestId: null };

const patchIsEmpty = (patch: ProfilePatch) =>
  Object.keys(patch.attributes).length === 0 && patch.customAttributes === undefined && patch.installation === undefined;

/** The CLI's data commands: import (the API's create and set-identifiers rules, in bulk), export and stats. */
export class ImportExportService {
  constructor(private readonly store: Store) {}

  /**
   * Applies the items in order in ONE transaction of its own. Each item follows the create
   * operation's rules and then sets its identifiers under the app's rules, in a savepoint: an item
   * refused by a rule of the data (customer user id held elsewhere, too many custom attributes, an
   * identifier rule) is undone alone and reported in its outcome; any other error fails the whole
   * batch. Applying the same items again leaves the same state.
   */
  importBatch(appId: string, items: readonly ImportItem[]): Promise<ImportOutcome[]> {
    return this.store.write(async (tx) => {
      const rules = await tx.rules(appId);
      const outcomes: ImportOutcome[] = [];
      for (const item of items) {
        try {
          const profileId = await tx.savepoint(async () => {
            const { id, created } = await tx.ensureProfile(appId, item.address);
            // A line that only names a profile (or only sets identifiers) leaves the profile row alone.
            if (!patchIsEmpty(item.patch)) await tx.applyPatch(appId, id, item.patch);
            const profile = (await tx.profileForWrite(appId, { profileId: id }))!;
            if (created || !patchIsEmpty(item.patch)) {
              await tx.recordEvent(appId, created ? 'profile.created' : 'profile.updated', profileEventData({ profileId: id, customerUserId: profile.customerUserId }, item.patch));
            }
            if (item.identifiers.size > 0) await writeIdentifiers(tx, appId, profile, item.identifiers, IMPORT_ACTOR, rules);
            return id;
          });
          outcomes.push({ ok: true, profileId });
        } catch (error) {
          const refused = error instanceof CustomerUserIdTakenError || error instanceof CustomAttributeLimitError || error instanceof IdentifierConflictError || error instanceof ApiError;
          if (!refused) throw error;
          outcomes.push({ ok: false, error });
        }
      }
      return outcomes;
    }, { alone: true });
  }

  /** One page of the app's profiles in profile id order after `afterProfileId`; a short page is the last. */
  exportPage(appId: string, afterProfileId: string | null, limit: number): Promise<ExportedProfile[]> {
    return this.store.exportPage(appId, afterProfileId, limit);
  }

  appStats(appId: string): Promise<AppStats> {
    return this.store.appStats(appId);
  }

  databaseSize(): Promise<DatabaseSize> {
    return this.store.databaseSize();
  }
}
