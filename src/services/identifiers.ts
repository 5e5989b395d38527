import type { IdentifierWriteResult, WriteActor } from '../domain/identifier-writes.js';
import type { IdentifierChanges, IdentifierKey, IdentifierSet } from '../domain/identifiers.js';
import type { ProfileAddress } from '../domain/profile.js';
import type { HistoryEntry, HistoryQuery, IdentifierHolder, Store } from '../storage/store.js';
import { RulesCache, writeIdentifiers, writeIdentifiersInOneStatement } from './identifier-writes.js';

/** History entries one purge transaction deletes at most: short transactions, so writes never wait long behind one. */
export const HISTORY_PURGE_BATCH = 500;

/** Integration identifiers of one profile: read, written under the app's rules, looked up, and their history. */
export class IdentifierService {
  private readonly rules = new RulesCache();

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
  async set(appId: string, address: ProfileAddress, changes: IdentifierChanges, actor: WriteActor): Promise<IdentifierWriteResult | null> {
    // On PostgreSQL, one statement, so one round trip, when it can decide alone.
    if (this.store.oneStatement !== null) {
      const result = await writeIdentifiersInOneStatement(this.store.oneStatement, this.rules, appId, address, changes, actor);
      if (result !== undefined) return result;
    }
    return this.store.write(async (tx) => {
      // Held first: writes to one profile take turns, so its history is in commit order and each
      // entry's old value is the one that was really replaced.
      const profile = await tx.profileForWrite(appId, address);
      if (profile === null) return null;
      return writeIdentifiers(tx, appId, profile, changes, actor, await tx.rules(appId));
    });
  }

  /** Every profile of the app whose `key` (any key when null) is exactly `value`, at most `limit`, by profile id. */
  lookup(appId: string, key: IdentifierKey | null, value: string, limit: number): Promise<IdentifierHolder[]> {
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

  /**
   * Deletes history entries of every app written before `cutoff`, HISTORY_PURGE_BATCH at a time, each
   * batch a transaction of its own, until none is left (`done`), another process is purging (also
   * `done`: it carries on), or `budgetMs` has passed. Answers how many entries it deleted.
   */
  async purgeHistory(cutoff: number, budgetMs = Number.POSITIVE_INFINITY, clock: () => number = Date.now): Promise<{ deleted: number; done: boolean }> {
    const until = clock() + budgetMs;
    let deleted = 0;
    for (;;) {
      const batch = await this.store.write((tx) => tx.purgeHistory(cutoff, HISTORY_PURGE_BATCH));
      if (batch === null) return { deleted, done: true };
      deleted += batch;
      if (batch < HISTORY_PURGE_BATCH) return { deleted, done: true };
      if (clock() >= until) return { deleted, done: false };
    }
  }
}

/** Tuning of HistoryRetention; the defaults suit a server. */
export interface HistoryRetentionOptions {
  /** How often a purge starts; default hourly. */
  intervalMs?: number;
  /** How long one poll works on a purge at most, so that the poll's other work is not held up. Default 200 ms. */
  sliceMs?: number;
  clock?: () => number;
}

/**
 * HISTORY_RETENTION_DAYS as work for the delivery worker's poll (composed in main.ts): a purge of
 * the entries older than the retention starts at the first poll and then hourly, and each poll
 * works on it for at most a slice, continuing at the next poll until it is done.
 */
export class HistoryRetention {
  private readonly intervalMs: number;
  private readonly sliceMs: number;
  private readonly clock: () => number;
  private nextStart = Number.NEGATIVE_INFINITY;
  /** The cutoff of the purge under way, or null when none is. */
  private cutoff: number | null = null;

  constructor(
    private readonly identifiers: IdentifierService,
    private readonly retentionMs: number,
    options: HistoryRetentionOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 3_600_000;
    this.sliceMs = options.sliceMs ?? 200;
    this.clock = options.clock ?? Date.now;
  }

  /** One poll's share of the work; answers how many entries it deleted. */
  async onPoll(): Promise<number> {
    const now = this.clock();
    if (this.cutoff === null) {
      if (now < this.nextStart) return 0;
      this.cutoff = now - this.retentionMs;
      this.nextStart = now + this.intervalMs;
    }
    const { deleted, done } = await this.identifiers.purgeHistory(this.cutoff, this.sliceMs, this.clock);
    if (done) this.cutoff = null;
    return deleted;
  }
}
