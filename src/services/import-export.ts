import { profileEventData } from '../domain/events.js';
import type { WriteActor } from '../domain/identifier-writes.js';
import type { IdentifierChanges } from '../domain/identifiers.js';
import type { InstallationMeta, ProfileAddress, ProfilePatch } from '../domain/profile.js';
import { ApiError, CustomAttributeLimitError, CustomerUserIdTakenError, IdentifierConflictError } from '../errors.js';
import type { AppStats, DatabaseSize, ExportedProfile, Store } from '../storage/store.js';
import { writeIdentifiers } from './identifier-writes.js';
import { RevenueRestoreError, type RevenueRestore, RevenueService } from './revenue.js';

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

const IMPORT_ACTOR: WriteActor = { source: 'import', apiKeyId: null, requestId: null };

const patchIsEmpty = (patch: ProfilePatch) =>
  Object.keys(patch.attributes).length === 0 && patch.customAttributes === undefined && patch.installation === undefined;

/** What an item changes, for its event: its devices are named `installation_meta`, as an update names a device. */
const eventPatch = (item: ImportItem): ProfilePatch =>
  item.installations.length > 0 && item.patch.installation === undefined ? { ...item.patch, installation: item.installations[0] } : item.patch;

/** The CLI's data commands: import (the API's create and set-identifiers rules, in bulk), export and stats. */
export class ImportExportService {
  private readonly revenue: RevenueService;

  constructor(private readonly store: Store) {
    this.revenue = new RevenueService(store);
  }

  /**
   * Applies the items in order in ONE transaction of its own. Each item follows the create
   * operation's rules and then sets its identifiers under the app's rules, in a savepoint: an item
   * refused by a rule of the data (customer user id held elsewhere, too many custom attributes, an
   * identifier rule, revenue refused by RevenueService.restore) is undone alone and reported in
   * its outcome; any other error fails the whole batch. Applying the same items again leaves the
   * same state. Restored revenue records no event (see RevenueService.restore).
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
            for (const installation of item.installations) await tx.applyPatch(appId, id, { attributes: {}, installation });
            const profile = (await tx.profileForWrite(appId, { profileId: id }))!;
            const changed = eventPatch(item);
            if (created || !patchIsEmpty(changed)) {
              await tx.recordEvent(appId, created ? 'profile.created' : 'profile.updated', profileEventData({ profileId: id, customerUserId: profile.customerUserId }, changed));
            }
            if (item.identifiers.size > 0) await writeIdentifiers(tx, appId, profile, item.identifiers, IMPORT_ACTOR, rules);
            if (item.revenue !== null) await this.revenue.restore(tx, appId, id, item.revenue);
            return id;
          });
          outcomes.push({ ok: true, profileId });
        } catch (error) {
          const refused =
            error instanceof CustomerUserIdTakenError ||
            error instanceof CustomAttributeLimitError ||
            error instanceof IdentifierConflictError ||
            error instanceof RevenueRestoreError ||
            error instanceof ApiError;
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
