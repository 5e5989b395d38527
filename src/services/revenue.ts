import { randomUUID } from 'node:crypto';
import type { AccessLevelChange, EventData } from '../domain/events.js';
import { IDENTIFIER_KEYS, identifierSet } from '../domain/identifiers.js';
import type { ProfileAddress, ProfileRecord } from '../domain/profile.js';
import {
  type AccessGrant,
  accessLevelToWire,
  changedTransactionFields,
  DEFAULT_ACCESS_LEVEL,
  DEFAULT_REFUND_SAVER,
  levelIsActive,
  nextAccessChange,
  priceInUsd,
  type ProfileRevenue,
  type RefundSaverSettings,
  spansByLevel,
  withRefundSaverChange,
  toCents,
  type TransactionInput,
  type TransactionRecord,
  transactionProblem,
  transactionToWire,
} from '../domain/revenue.js';
import { ApiError, TransactionOwnedError } from '../errors.js';
import type { DueAccessChange, ProfileRef, Store, TransactionStats, WriteTransaction } from '../storage/store.js';

/** What `crosswalk stats` reports of an app's revenue. */
export interface RevenueStats {
  transactions: TransactionStats[];
  grants: number;
  /** Production transactions not refunded, in US dollars, rounded to cents. */
  revenueUsd: number;
}

/** A grant as the operation asks it. */
export interface GrantRequest {
  accessLevelId: string;
  startsAt: number | null;
  expiresAt: number | null;
}

/** A revocation: now (null) or at a later moment. */
export interface RevokeRequest {
  accessLevelId: string;
  revokeAt: number | null;
}

/** The fields an export carries with a transaction beyond the set-transaction body; each may be left out. */
export type StoredTransactionFields = Partial<
  Pick<TransactionRecord, 'purchaseId' | 'priceUsd' | 'accessLevelId' | 'isConsumable' | 'accessEndsAt' | 'createdAt' | 'updatedAt'>
>;

/** One transaction to restore: the set-transaction body, validated and checked by transactionProblem, and its stored fields. */
export interface RestoredTransaction {
  input: TransactionInput;
  stored: StoredTransactionFields;
}

/** One grant to restore: the grant body's fields, and the stored ones (`grantedAt` left out: now). */
export interface RestoredGrant extends GrantRequest {
  accessEndsAt: number | null;
  grantedAt?: number;
}

/** A profile's revenue as `crosswalk import` restores it. */
export interface RevenueRestore {
  transactions: readonly RestoredTransaction[];
  grants: readonly RestoredGrant[];
  /** The Refund Saver settings to change (as the operation changes them), or null. */
  refundSaver: Partial<RefundSaverSettings> | null;
}

/** Why `restore` refused a profile's revenue: one problem, its source naming the item (`transactions.0.price.currency`). */
export class RevenueRestoreError extends Error {
  constructor(
    readonly source: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RevenueRestoreError';
  }
}

/** What a change to a profile's revenue answers: the profile as it now stands, or null when not found. */
export type RevenueAnswer = Promise<ProfileRecord | null>;

function accessLevelUnknown(accessLevelId: string): ApiError {
  return ApiError.general('paid_access_level_does_not_exist', `Paid access level \`${accessLevelId}\` does not exist`);
}

/**
 * The revenue half of a profile: transactions, access levels granted and revoked, Refund Saver
 * settings, and the clock that notices access levels starting and expiring. Every change records
 * its `transaction.recorded` and `access_level.updated` events, with the profile's integration
 * identifiers as they stand at that moment, in the same transaction.
 */
export class RevenueService {
  constructor(private readonly store: Store) {}

  /**
   * Records a transaction, or updates the one with the same store and store transaction id (its
   * revenue is counted once). Throws the vendor's error for a transaction its rules refuse,
   * TransactionOwnedError when another profile holds it.
   */
  setTransaction(appId: string, address: ProfileAddress, input: TransactionInput): RevenueAnswer {
    const problem = transactionProblem(input);
    if (problem) throw new ApiError(problem.code as ApiError['code'], [{ source: problem.source, errors: [problem.message] }]);
    return this.store.write(async (tx) => {
      const profile = await tx.profileForWrite(appId, address);
      if (!profile) return null;
      const now = Date.now();
      const existing = await tx.findTransaction(appId, input.store, input.storeTransactionId);
      if (existing && existing.profileId !== profile.id) throw new TransactionOwnedError();
      const product = await tx.product(appId, input.storeProductId);
      const accessLevelId = product ? product.accessLevelId : DEFAULT_ACCESS_LEVEL;
      if (accessLevelId !== null) await this.useAccessLevel(tx, appId, accessLevelId, now);
      const record: TransactionRecord = {
        ...input,
        profileId: profile.id,
        purchaseId: existing?.purchaseId ?? randomUUID(),
        priceUsd: await this.priceUsd(tx, appId, input),
        accessLevelId,
        isConsumable: product?.isConsumable ?? false,
        accessEndsAt: existing?.accessEndsAt ?? null,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      const changed = existing ? changedTransactionFields(existing, record) : [];
      if (!existing || changed.length > 0) {
        const before = await tx.revenueOf(appId, profile.id);
        await tx.saveTransaction(appId, record);
        await tx.markRevenue(appId, profile.id, now);
        const after: ProfileRevenue = {
          transactions: [...before.transactions.filter((t) => t.purchaseId !== record.purchaseId), record],
          grants: before.grants,
        };
        const events = new ProfileEvents(tx, appId, profile, now);
        await events.record('transaction.recorded', {
          transaction: transactionToWire(record),
          created: existing === null,
          changed_fields: changed,
        });
        await events.settle(before, after, new Map());
        return tx.readProfile(appId, { profileId: profile.id }, after);
      }
      return tx.readProfile(appId, { profileId: profile.id });
    });
  }

  /** Grants an access level (replacing an earlier grant of the same level), now or for a later span. */
  grant(appId: string, address: ProfileAddress, request: GrantRequest): RevenueAnswer {
    return this.store.write(async (tx) => {
      const profile = await tx.profileForWrite(appId, address);
      if (!profile) return null;
      const now = Date.now();
      await this.useAccessLevel(tx, appId, request.accessLevelId, now);
      const before = await tx.revenueOf(appId, profile.id);
      const grant: AccessGrant = {
        profileId: profile.id,
        accessLevelId: request.accessLevelId,
        startsAt: request.startsAt,
        expiresAt: request.expiresAt,
        accessEndsAt: null,
        grantedAt: now,
      };
      await tx.saveGrant(appId, grant);
      await tx.markRevenue(appId, profile.id, now);
      const after: ProfileRevenue = {
        transactions: before.transactions,
        grants: [...before.grants.filter((g) => g.accessLevelId !== grant.accessLevelId), grant],
      };
      await new ProfileEvents(tx, appId, profile, now).settle(before, after, new Map([[grant.accessLevelId, 'granted']]));
      return tx.readProfile(appId, { profileId: profile.id }, after);
    });
  }

  /**
   * Ends an access level now or at `revokeAt`: every transaction and grant that gives it stops
   * giving it then. A later transaction or grant gives it again.
   */
  revoke(appId: string, address: ProfileAddress, request: RevokeRequest): RevenueAnswer {
    return this.store.write(async (tx) => {
      const profile = await tx.profileForWrite(appId, address);
      if (!profile) return null;
      const now = Date.now();
      const { accessLevelId, revokeAt } = request;
      if (!(await tx.accessLevelExists(appId, accessLevelId))) throw accessLevelUnknown(accessLevelId);
      if (revokeAt !== null && revokeAt <= now) {
        throw new ApiError('value_error', [{ source: null, errors: ['Must be greater than the current time or null'] }]);
      }
      const before = await tx.revenueOf(appId, profile.id);
      const spans = spansByLevel(before).get(accessLevelId);
      if (!spans) {
        throw ApiError.general('profile_paid_access_level_does_not_exist', `The profile has no access level \`${accessLevelId}\``);
      }
      const current = accessLevelToWire(accessLevelId, spans, now);
      if (revokeAt !== null && current.expires_at !== null && revokeAt > Date.parse(current.expires_at)) {
        throw new ApiError('revocation_date_more_than_expiration_date', [
          { source: 'revoke_at', errors: ['Must not be later than the access level expires.'] },
        ]);
      }
      const at = revokeAt ?? now;
      await tx.endAccess(appId, profile.id, accessLevelId, at);
      const cap = (end: number | null) => (end === null ? at : Math.min(end, at));
      const after: ProfileRevenue = {
        transactions: before.transactions.map((t) => (t.accessLevelId === accessLevelId ? { ...t, accessEndsAt: cap(t.accessEndsAt) } : t)),
        grants: before.grants.map((g) => (g.accessLevelId === accessLevelId ? { ...g, accessEndsAt: cap(g.accessEndsAt) } : g)),
      };
      await new ProfileEvents(tx, appId, profile, now).settle(before, after, new Map([[accessLevelId, 'revoked']]));
      return tx.readProfile(appId, { profileId: profile.id }, after);
    });
  }

  /** The profile's id and Refund Saver settings (the defaults when it set none); null when not found. */
  async refundSaver(appId: string, address: ProfileAddress): Promise<{ profileId: string; settings: RefundSaverSettings } | null> {
    const found = await this.store.revenue.refundSaver(appId, address);
    return found && { profileId: found.profileId, settings: found.settings ?? DEFAULT_REFUND_SAVER };
  }

  /** Changes the settings named (undefined keeps one); answers them as they now stand, or null when not found. */
  setRefundSaver(
    appId: string,
    address: ProfileAddress,
    change: Partial<RefundSaverSettings>,
  ): Promise<{ profileId: string; settings: RefundSaverSettings } | null> {
    return this.store.write(async (tx) => {
      const profile = await tx.profileForWrite(appId, address);
      if (!profile) return null;
      const settings = withRefundSaverChange((await tx.refundSaver(appId, profile.id)) ?? DEFAULT_REFUND_SAVER, change);
      await tx.saveRefundSaver(appId, profile.id, settings, Date.now());
      return { profileId: profile.id, settings };
    });
  }

  /** Transactions per store and environment, with their revenue, and the number of grants, of one app. */
  async stats(appId: string): Promise<RevenueStats> {
    const { transactions, grants } = await this.store.revenue.stats(appId);
    const production = transactions.filter((row) => row.environment === 'Production');
    return { transactions, grants, revenueUsd: toCents(production.reduce((sum, row) => sum + row.revenueUsd, 0)) };
  }

  /**
   * The access-level clock: emits `started` and `expired` for every access level whose start or
   * end has come (of any app), and sets when to look at it again. Several processes may run it at
   * once: each entry is taken by one. Answers how many entries it took.
   */
  async runClock(now = Date.now(), limit = 200): Promise<number> {
    let taken = 0;
    for (;;) {
      const due = await this.store.revenue.dueAccessChanges(now, limit);
      let round = 0;
      for (const entry of due) {
        if (await this.store.write((tx) => this.tick(tx, entry, now))) round++;
      }
      taken += round;
      // Another round while a full page was taken (entries moved to a later moment may be due too).
      if (due.length < limit || round === 0) return taken;
    }
  }

  /**
   * One due entry: the access level's state just before and at its due moment; a change is an
   * event (the access level as it stood at that moment). The clock then moves to the next start
   * or end after that moment, so that a clock that was stopped for a while still reports every
   * change, in order.
   */
  private async tick(tx: WriteTransaction, entry: DueAccessChange, now: number): Promise<boolean> {
    // The profile first, as every revenue write locks it first.
    const profile = await tx.profileForWrite(entry.appId, { profileId: entry.profileId });
    if (!(await tx.takeAccessClock(entry)) || !profile) return false;
    const spans = spansByLevel(await tx.revenueOf(entry.appId, profile.id)).get(entry.accessLevelId) ?? [];
    const wasActive = levelIsActive(spans, entry.dueAt - 1);
    const isActive = levelIsActive(spans, entry.dueAt);
    if (spans.length > 0 && wasActive !== isActive) {
      const events = new ProfileEvents(tx, entry.appId, profile, now);
      await events.accessLevel(entry.accessLevelId, isActive ? 'started' : 'expired', accessLevelToWire(entry.accessLevelId, spans, entry.dueAt));
    }
    await tx.setAccessClock(entry.appId, profile.id, entry.accessLevelId, nextAccessChange(spans, entry.dueAt));
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Restoring (crosswalk import): state, not operations.

  /**
   * Writes a profile's transactions, grants and Refund Saver settings as `crosswalk import` reads
   * them, in the caller's transaction. A stored field given is kept as given (an export's line
   * restores what was exported); one left out is decided as setTransaction decides it (the
   * product's access level, `premium` by default; the price at the app's rate). Records NO event:
   * a restore puts back state that the tools were told about when it happened. Marks the profile
   * as having revenue and sets the access-level clock of each of its access levels, so that starts
   * and expiries still ahead are reported when they come. Throws RevenueRestoreError for the first
   * item it refuses (a transaction held by another profile, an access level the app rejects, a
   * production price without a rate); the caller undoes the profile's writes.
   */
  async restore(tx: WriteTransaction, appId: string, profileId: string, revenue: RevenueRestore): Promise<void> {
    const now = Date.now();
    for (const [i, { input, stored }] of revenue.transactions.entries()) {
      const at = (field: string) => `transactions.${i}.${field}`;
      const existing = await tx.findTransaction(appId, input.store, input.storeTransactionId);
      if (existing && existing.profileId !== profileId) {
        throw new RevenueRestoreError(at('store_transaction_id'), 'validation_error', 'This transaction is recorded for another profile of this app.');
      }
      // What the product unlocks is read only when the line leaves it out.
      const fromProduct = stored.accessLevelId === undefined || stored.isConsumable === undefined;
      const product = fromProduct ? await tx.product(appId, input.storeProductId) : null;
      const accessLevelId = stored.accessLevelId !== undefined ? stored.accessLevelId : product ? product.accessLevelId : DEFAULT_ACCESS_LEVEL;
      if (accessLevelId !== null) await this.restoreAccessLevel(tx, appId, accessLevelId, now, at('access_level_id'));
      let priceUsd = stored.priceUsd;
      if (priceUsd === undefined) {
        try {
          priceUsd = await this.priceUsd(tx, appId, input);
        } catch (error) {
          throw restoreErrorOf(error, at('price.currency'));
        }
      }
      const record: TransactionRecord = {
        ...input,
        profileId,
        purchaseId: stored.purchaseId ?? existing?.purchaseId ?? randomUUID(),
        priceUsd,
        accessLevelId,
        isConsumable: stored.isConsumable ?? product?.isConsumable ?? false,
        accessEndsAt: stored.accessEndsAt !== undefined ? stored.accessEndsAt : (existing?.accessEndsAt ?? null),
        createdAt: stored.createdAt ?? existing?.createdAt ?? now,
        updatedAt: stored.updatedAt ?? now,
      };
      // Imported again unchanged, a transaction keeps its time of update: an import can be re-run.
      const unchanged = existing && existing.accessEndsAt === record.accessEndsAt && changedTransactionFields(existing, record).length === 0;
      if (stored.updatedAt === undefined && unchanged) record.updatedAt = existing.updatedAt;
      await tx.saveTransaction(appId, record);
    }
    for (const [i, grant] of revenue.grants.entries()) {
      await this.restoreAccessLevel(tx, appId, grant.accessLevelId, now, `access_grants.${i}.access_level_id`);
      await tx.saveGrant(appId, {
        profileId,
        accessLevelId: grant.accessLevelId,
        startsAt: grant.startsAt,
        expiresAt: grant.expiresAt,
        accessEndsAt: grant.accessEndsAt,
        grantedAt: grant.grantedAt ?? now,
      });
    }
    if (revenue.refundSaver !== null) {
      // As the operation does: a field left out keeps the stored value (read only when needed).
      const change = revenue.refundSaver;
      const whole = change.consent !== undefined && change.customPreference !== undefined;
      const kept = whole ? DEFAULT_REFUND_SAVER : ((await tx.refundSaver(appId, profileId)) ?? DEFAULT_REFUND_SAVER);
      await tx.saveRefundSaver(appId, profileId, withRefundSaverChange(kept, change), now);
    }
    if (revenue.transactions.length === 0 && revenue.grants.length === 0) return;
    await tx.markRevenue(appId, profileId, now);
    for (const [accessLevelId, spans] of spansByLevel(await tx.revenueOf(appId, profileId))) {
      await tx.setAccessClock(appId, profileId, accessLevelId, nextAccessChange(spans, now));
    }
  }

  /** useAccessLevel for a restore: its refusal names the item. */
  private async restoreAccessLevel(tx: WriteTransaction, appId: string, accessLevelId: string, now: number, source: string): Promise<void> {
    try {
      await this.useAccessLevel(tx, appId, accessLevelId, now);
    } catch (error) {
      throw restoreErrorOf(error, source);
    }
  }

  /** An access level a transaction or grant names: configured on first use, or refused when the app says so. */
  private async useAccessLevel(tx: WriteTransaction, appId: string, accessLevelId: string, now: number): Promise<void> {
    if (await tx.accessLevelExists(appId, accessLevelId)) return;
    if ((await tx.unknownAccessLevelMode(appId)) === 'reject') throw accessLevelUnknown(accessLevelId);
    await tx.addAccessLevel(appId, accessLevelId, now);
  }

  /**
   * The price in dollars at the app's rate. A free price is 0 in any currency; a sandbox price
   * without a rate is kept unconverted (it never counts); a production price without one is refused.
   */
  private async priceUsd(tx: WriteTransaction, appId: string, input: TransactionInput): Promise<number | null> {
    if (input.price.value === 0) return 0;
    const rate = await tx.usdRate(appId, input.price.currency);
    if (rate !== null) return priceInUsd(input.price.value, rate);
    if (input.environment === 'Sandbox') return null;
    throw new ApiError('validation_error', [
      {
        source: 'price.currency',
        errors: [`No exchange rate to USD is set for ${input.price.currency}; set one with \`crosswalk revenue rates set\` or the currency-rates API.`],
      },
    ]);
  }
}

/** An ApiError of the revenue rules as a restore's refusal of one item, named by `source`. */
function restoreErrorOf(error: unknown, source: string): unknown {
  if (!(error instanceof ApiError)) return error;
  return new RevenueRestoreError(source, error.code, error.items.flatMap((item) => item.errors).join(' '));
}

/**
 * The revenue events of one profile within one write: each carries the profile's 16 integration
 * identifiers, read once, in the transaction, when the first event is recorded.
 */
class ProfileEvents {
  private identifiers: Record<string, string | null> | undefined;
  private subscribed: Set<string> | undefined;

  constructor(
    private readonly tx: WriteTransaction,
    private readonly appId: string,
    private readonly profile: ProfileRef,
    private readonly now: number,
  ) {}

  async record(type: 'transaction.recorded' | 'access_level.updated', data: Record<string, unknown>): Promise<void> {
    // Nobody subscribed: nothing is read and nothing is stored.
    this.subscribed ??= await this.tx.subscribedEventTypes(this.appId);
    if (!this.subscribed.has(type)) return;
    this.identifiers ??= identifierSet(await this.tx.identifierValues(this.appId, this.profile.id, IDENTIFIER_KEYS));
    const payload: EventData = {
      profile_id: this.profile.id,
      customer_user_id: this.profile.customerUserId,
      integration_identifiers: this.identifiers,
      ...data,
    };
    await this.tx.recordEvent(this.appId, type, payload, this.now);
  }

  accessLevel(accessLevelId: string, change: AccessLevelChange, accessLevel: unknown): Promise<void> {
    return this.record('access_level.updated', { access_level_id: accessLevelId, change, access_level: accessLevel });
  }

  /**
   * After a change to the profile's revenue: an access_level.updated event for each access level
   * whose state changed (or that the operation named, with the change it names), and the clock set
   * for each level's next start or end.
   */
  async settle(before: ProfileRevenue, after: ProfileRevenue, named: ReadonlyMap<string, AccessLevelChange>): Promise<void> {
    const was = spansByLevel(before);
    for (const [accessLevelId, spans] of spansByLevel(after)) {
      const oldSpans = was.get(accessLevelId);
      const old = oldSpans ? accessLevelToWire(accessLevelId, oldSpans, this.now) : null;
      const current = accessLevelToWire(accessLevelId, spans, this.now);
      let change = named.get(accessLevelId);
      if (change === undefined && JSON.stringify(old) !== JSON.stringify(current)) {
        const wasActive = old?.is_active ?? false;
        change = !wasActive && current.is_active ? 'granted' : wasActive && !current.is_active ? 'revoked' : 'updated';
      }
      if (change !== undefined) await this.accessLevel(accessLevelId, change, current);
      // Every change sets the clock, so a level whose next start or end did not move has it right.
      const next = nextAccessChange(spans, this.now);
      if (!oldSpans || next !== nextAccessChange(oldSpans, this.now)) await this.tx.setAccessClock(this.appId, this.profile.id, accessLevelId, next);
    }
  }
}
