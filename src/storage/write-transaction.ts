import { type Kysely, sql } from 'kysely';
import type { EventData, EventType } from '../domain/events.js';
import type { HistoryRecord, WriteActor } from '../domain/identifier-writes.js';
import type { IdentifierKey } from '../domain/identifiers.js';
import type { ProfileAddress, ProfilePatch } from '../domain/profile.js';
import type { Dialect } from './dialect.js';
import { createProfiles, findProfiles, identifierRowsOf, writeIdentifierRows } from './identifier-bulk-queries.js';
import { appendHistory, latestHistory, purgeHistoryBefore, takeHistoryPurge } from './history-queries.js';
import { currentValues, deleteKeys, otherHolders, readRules, takeValue, upsertKeys } from './identifier-queries.js';
import { delayProfileDeliveries, eraseProfileEvents } from './event-erasure.js';
import { type QueuedDeliveries, recordEvent, subscribedEventTypes } from './outbox.js';
import { applyPatch, deleteProfileRows, ensureProfileRow, readProfile, selectProfileForWrite } from './profile-queries.js';
import type { AccessGrant, ProfileRevenue, RefundSaverSettings, TransactionRecord } from '../domain/revenue.js';
import * as revenue from './revenue-queries.js';
import type { DueAccessChange } from './revenue-queries.js';
import type { Database } from './schema.js';
import * as importBulk from './import-bulk-queries.js';
import type { CustomAttributeRow, IdentifierRow, InstallationRow, NewProfile, ProfileUpdate, WriteTransaction } from './store.js';

/** A WriteTransaction on one Kysely transaction: each method is one query module's function. */
export class KyselyWriteTransaction implements WriteTransaction {
  private savepoints = 0;

  constructor(
    private readonly trx: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly queued: QueuedDeliveries,
  ) {}

  profileForWrite(appId: string, address: ProfileAddress) {
    return selectProfileForWrite(this.trx, this.dialect, appId, address);
  }

  ensureProfile(appId: string, address: ProfileAddress) {
    return ensureProfileRow(this.trx, this.dialect, appId, address);
  }

  readProfile(appId: string, address: ProfileAddress, revenue?: ProfileRevenue) {
    return readProfile(this.trx, appId, address, revenue);
  }

  applyPatch(appId: string, profileId: string, patch: ProfilePatch) {
    return applyPatch(this.trx, appId, profileId, patch);
  }

  deleteProfile(appId: string, profileId: string) {
    return deleteProfileRows(this.trx, appId, profileId);
  }

  rules(appId: string) {
    return readRules(this.trx, this.dialect, appId);
  }

  identifierValues(appId: string, profileId: string, keys: readonly string[]) {
    return currentValues(this.trx, this.dialect, appId, profileId, keys);
  }

  otherHolders(appId: string, key: IdentifierKey, value: string, exceptProfileId: string) {
    return otherHolders(this.trx, this.dialect, appId, key, value, exceptProfileId);
  }

  clearIdentifiers(appId: string, profileId: string, keys: readonly string[]) {
    return deleteKeys(this.trx, this.dialect, appId, profileId, keys);
  }

  takeIdentifier(appId: string, profileId: string, key: IdentifierKey, value: string) {
    return takeValue(this.trx, this.dialect, appId, profileId, key, value);
  }

  upsertIdentifiers(appId: string, profileId: string, entries: readonly [string, string][], now: number) {
    return upsertKeys(this.trx, this.dialect, appId, profileId, entries, now);
  }

  appendHistory(appId: string, actor: WriteActor, records: readonly HistoryRecord[], now: number) {
    return appendHistory(this.trx, appId, actor, records, now);
  }

  latestHistory(appId: string, profileIds: readonly string[], keys: readonly string[]) {
    return latestHistory(this.trx, appId, profileIds, keys);
  }

  async purgeHistory(cutoff: number, limit: number) {
    return (await takeHistoryPurge(this.trx, this.dialect)) ? purgeHistoryBefore(this.trx, cutoff, limit) : null;
  }

  profilesForWrite(appId: string, profileIds: readonly string[], customerUserIds: readonly string[]) {
    return findProfiles(this.trx, this.dialect, appId, profileIds, customerUserIds);
  }

  createProfiles(appId: string, customerUserIds: readonly string[]) {
    return createProfiles(this.trx, this.dialect, appId, customerUserIds);
  }

  identifierRowsOf(appId: string, profileIds: readonly string[]) {
    return identifierRowsOf(this.trx, appId, profileIds);
  }

  writeIdentifierRows(appId: string, upserts: readonly IdentifierRow[], clears: ReadonlyMap<string, readonly string[]>, now: number) {
    return writeIdentifierRows(this.trx, appId, upserts, clears, now);
  }

  customAttributesOf(appId: string, profileIds: readonly string[]) {
    return importBulk.customAttributesOf(this.trx, appId, profileIds);
  }

  installationsOf(appId: string, profileIds: readonly string[]) {
    return importBulk.installationsOf(this.trx, appId, profileIds);
  }

  identifierHolders(appId: string, pairs: readonly { key: string; value: string }[]) {
    return importBulk.holdersOf(this.trx, this.dialect, appId, pairs);
  }

  insertProfiles(appId: string, profiles: readonly NewProfile[], now: number) {
    return importBulk.insertProfiles(this.trx, this.dialect, appId, profiles, now);
  }

  updateProfiles(appId: string, updates: readonly ProfileUpdate[], now: number) {
    return importBulk.updateProfiles(this.trx, this.dialect, appId, updates, now);
  }

  writeCustomAttributes(appId: string, removals: readonly { profileId: string; key: string }[], upserts: readonly CustomAttributeRow[]) {
    return importBulk.writeCustomAttributes(this.trx, this.dialect, appId, removals, upserts);
  }

  upsertInstallations(appId: string, rows: readonly InstallationRow[], now: number) {
    return importBulk.upsertInstallations(this.trx, this.dialect, appId, rows, now);
  }

  writeIdentifierRowsInBulk(appId: string, upserts: readonly IdentifierRow[], clears: ReadonlyMap<string, readonly string[]>, now: number) {
    return importBulk.writeIdentifiers(this.trx, this.dialect, appId, upserts, clears, now);
  }

  appendHistoryInBulk(appId: string, actor: WriteActor, records: readonly HistoryRecord[], now: number) {
    return importBulk.appendHistory(this.trx, this.dialect, appId, actor, records, now);
  }

  async recordEvents(appId: string, events: readonly { type: EventType; data: EventData }[], now: number) {
    const types = await importBulk.recordEvents(this.trx, this.dialect, appId, events, now);
    for (const type of types) this.queued.noteEvent(type);
  }

  subscribedEventTypes(appId: string) {
    return subscribedEventTypes(this.trx, this.dialect, appId);
  }

  recordEvent(appId: string, type: EventType, data: EventData, now = Date.now()) {
    return recordEvent(this.trx, this.dialect, this.queued, appId, type, data, now);
  }

  eraseProfileEvents(appId: string, profileId: string, now: number) {
    return eraseProfileEvents(this.trx, appId, profileId, now);
  }

  delayProfileDeliveries(appId: string, profileId: string, until: number) {
    return delayProfileDeliveries(this.trx, appId, profileId, until);
  }

  revenueOf(appId: string, profileId: string) {
    return revenue.readRevenue(this.trx, appId, profileId);
  }

  findTransaction(appId: string, store: string, storeTransactionId: string) {
    return revenue.findTransaction(this.trx, appId, store, storeTransactionId);
  }

  saveTransaction(appId: string, record: TransactionRecord) {
    return revenue.saveTransaction(this.trx, appId, record);
  }

  saveGrant(appId: string, grant: AccessGrant) {
    return revenue.saveGrant(this.trx, appId, grant);
  }

  endAccess(appId: string, profileId: string, accessLevelId: string, at: number) {
    return revenue.endAccess(this.trx, appId, profileId, accessLevelId, at);
  }

  markRevenue(appId: string, profileId: string, now: number) {
    return revenue.markRevenue(this.trx, appId, profileId, now);
  }

  unknownAccessLevelMode(appId: string) {
    return revenue.unknownAccessLevelMode(this.trx, appId);
  }

  accessLevelExists(appId: string, accessLevelId: string) {
    return revenue.accessLevelExists(this.trx, appId, accessLevelId);
  }

  addAccessLevel(appId: string, accessLevelId: string, now: number) {
    return revenue.addAccessLevel(this.trx, appId, accessLevelId, now);
  }

  product(appId: string, storeProductId: string) {
    return revenue.findProduct(this.trx, appId, storeProductId);
  }

  usdRate(appId: string, currency: string) {
    return revenue.usdRate(this.trx, appId, currency);
  }

  refundSaver(appId: string, profileId: string) {
    return revenue.readRefundSaver(this.trx, appId, profileId);
  }

  saveRefundSaver(appId: string, profileId: string, settings: RefundSaverSettings, now: number) {
    return revenue.saveRefundSaver(this.trx, appId, profileId, settings, now);
  }

  setAccessClock(appId: string, profileId: string, accessLevelId: string, dueAt: number | null) {
    return revenue.setClock(this.trx, appId, profileId, accessLevelId, dueAt);
  }

  takeAccessClock(due: DueAccessChange) {
    return revenue.takeClock(this.trx, due);
  }

  async savepoint<T>(work: () => Promise<T>): Promise<T> {
    // Numbered, so that savepoints can nest (a batch item inside SQLite's per-write savepoint).
    const name = sql.id(`item_${++this.savepoints}`);
    await sql`savepoint ${name}`.execute(this.trx);
    try {
      const value = await work();
      await sql`release ${name}`.execute(this.trx);
      return value;
    } catch (error) {
      await sql`rollback to ${name}`.execute(this.trx);
      await sql`release ${name}`.execute(this.trx);
      throw error;
    } finally {
      this.savepoints--;
    }
  }
}
