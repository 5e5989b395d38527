import { profileEventData } from '../domain/events.js';
import type { AppRules } from '../domain/rules.js';
import { ApiError, CustomAttributeLimitError, CustomerUserIdTakenError, IdentifierConflictError } from '../errors.js';
import type { AppStats, DatabaseSize, ExportedProfile, Store, WriteTransaction } from '../storage/store.js';
import { writeIdentifiers } from './identifier-writes.js';
import { applyRun, bulkCandidate, eventPatch, IMPORT_ACTOR, type ImportItem, type ImportOutcome, patchIsEmpty } from './import-bulk.js';
import { RevenueRestoreError, RevenueService } from './revenue.js';

export type { ImportItem, ImportOutcome } from './import-bulk.js';

/** Lines decided together by the set-based path at most: what it reads and holds in memory is bounded. */
const RUN_LINES = 1000;

/** The CLI's data commands: import (the API's create and set-identifiers rules, in bulk), export and stats. */
export class ImportExportService {
  private readonly revenue: RevenueService;

  constructor(private readonly store: Store) {
    this.revenue = new RevenueService(store);
  }

  /**
   * Applies the items in order in ONE transaction of its own. Each item follows the create
   * operation's rules and then sets its identifiers under the app's rules: an item refused by a
   * rule of the data (customer user id held elsewhere, too many custom attributes, an identifier
   * rule, revenue refused by RevenueService.restore) changes nothing and is reported in its
   * outcome; any other error fails the whole batch. Runs of items are decided and written
   * set-based (applyRun), with the outcome each would have alone; an item that path cannot decide
   * alone (revenue, a customer user id attached to an existing profile, a value moved under
   * `move`) is applied by itself, in a savepoint. Applying the same items again leaves the same
   * state. Restored revenue records no event (see RevenueService.restore).
   */
  importBatch(appId: string, items: readonly ImportItem[]): Promise<ImportOutcome[]> {
    return this.store.write(async (tx) => {
      const rules = await tx.rules(appId);
      const outcomes: ImportOutcome[] = [];
      while (outcomes.length < items.length) {
        const start = outcomes.length;
        let end = start;
        while (end < items.length && end - start < RUN_LINES && bulkCandidate(items[end]!)) end++;
        if (end > start) outcomes.push(...(await applyRun(tx, appId, items.slice(start, end), rules)));
        // The run stopped before its end (or never started): the next item is applied by itself.
        if (outcomes.length < end || end === start) outcomes.push(await this.applyOne(tx, appId, items[outcomes.length]!, rules));
      }
      return outcomes;
    }, { alone: true });
  }

  /** One item as the create operation and the identifier write apply it, in a savepoint of its own. */
  private async applyOne(tx: WriteTransaction, appId: string, item: ImportItem, rules: AppRules): Promise<ImportOutcome> {
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
      return { ok: true, profileId };
    } catch (error) {
      const refused =
        error instanceof CustomerUserIdTakenError ||
        error instanceof CustomAttributeLimitError ||
        error instanceof IdentifierConflictError ||
        error instanceof RevenueRestoreError ||
        error instanceof ApiError;
      if (!refused) throw error;
      return { ok: false, error };
    }
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
