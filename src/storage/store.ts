import type { EventData, EventType } from '../domain/events.js';
import type { HistoryRecord, WriteActor } from '../domain/identifier-writes.js';
import type { IdentifierKey, IdentifierSet } from '../domain/identifiers.js';
import type { InstallationMeta, ProfileAddress, ProfilePatch, ProfileRecord } from '../domain/profile.js';
import type { AppRules } from '../domain/rules.js';
import type {
  AccessGrant,
  Product,
  ProfileRevenue,
  RefundSaverSettings,
  TransactionRecord,
  UnknownAccessLevelMode,
} from '../domain/revenue.js';
import type { DueAccessChange } from './revenue-queries.js';
import type { WebhookStore } from './webhook-store.js';

export type { DueAccessChange } from './revenue-queries.js';


export interface App {
  id: string;
  name: string;
  createdAt: number;
}

export interface ApiKeyInfo {
  id: string;
  appId: string;
  name: string;
  /** A recognisable prefix of the key; the key itself is never stored. */
  hint: string;
  createdAt: number;
  revokedAt: number | null;
}

/** Who a valid key acts for. */
export interface KeyOwner {
  keyId: string;
  appId: string;
}

/**
 * A profile as the export writes it: the stored record (its transactions and grants included, in a
 * fixed order) plus the identifiers that are set, its devices and its Refund Saver settings.
 */
export interface ExportedProfile extends ProfileRecord {
  identifiers: Partial<Record<IdentifierKey, string>>;
  /** Every device of the profile (installation_meta), in device_id order; empty when it has none. */
  installations: InstallationMeta[];
  /** The Refund Saver settings the profile set; null when it set none. */
  refundSaver: RefundSaverSettings | null;
}

/** A profile that holds a looked-up identifier value. */
export interface IdentifierHolder {
  profileId: string;
  customerUserId: string | null;
}

/** One entry of a profile's identifier history. */
export interface HistoryEntry {
  /** Increasing within the database: newer entries have larger ids. */
  id: number;
  key: string;
  kind: string;
  oldValue: string | null;
  newValue: string | null;
  otherProfileId: string | null;
  source: string;
  apiKeyId: string | null;
  requestId: string | null;
  changedAt: number;
}

export interface HistoryQuery {
  key?: IdentifierKey;
  limit: number;
  /** Only entries older than this id (the cursor of the previous page). */
  before?: number;
}

/** Counts for one app. */
export interface AppStats {
  profiles: number;
  /** Every one of the 16 keys, 0 where no profile has it. */
  identifiers: Record<IdentifierKey, number>;
  apiKeys: { active: number; revoked: number };
}

/** How much disk the data takes, and how that was measured. */
export type DatabaseSize =
  /** page_count * page_size of the main file, plus the size of its WAL file. */
  | { dialect: 'sqlite'; bytes: number; file: string; mainFileBytes: number; walBytes: number }
  /** The sum of pg_total_relation_size (tables with their indexes and TOAST) over the tables of `schema`. */
  | { dialect: 'postgres'; bytes: number; schema: string };

/** Called after a commit that queued webhook deliveries, so a worker can start at once. */
export type DeliveriesQueuedListener = () => void;

/** A profile that a write transaction holds: enough to name it in history and events. */
export interface ProfileRef {
  id: string;
  customerUserId: string | null;
}

/** One identifier row of one profile, as the set-based batch reads and writes them. */
export interface IdentifierRow {
  profileId: string;
  key: string;
  value: string;
}

/**
 * The reads and writes a service makes inside one write transaction, in domain words. Storage
 * runs them; which to run, and what they mean, the services decide. Every tenant method takes the
 * app id first.
 */
export interface WriteTransaction {
  /**
   * The addressed profile, held until the transaction ends so that writes to one profile take
   * turns: a row lock (FOR UPDATE) on PostgreSQL; on SQLite the transaction holds the database's
   * only write lock from its start, which already serialises every write.
   */
  profileForWrite(appId: string, address: ProfileAddress): Promise<ProfileRef | null>;
  /**
   * Finds or creates the addressed profile by the create operation's rules (attaching the customer
   * user id to a given profile id); throws CustomerUserIdTakenError when another profile holds it.
   */
  ensureProfile(appId: string, address: ProfileAddress): Promise<{ id: string; created: boolean }>;
  /** `revenue`: the profile's revenue as the caller just wrote it, so that it is not read again. */
  readProfile(appId: string, address: ProfileAddress, revenue?: ProfileRevenue): Promise<ProfileRecord | null>;
  /** Applies a validated patch; throws CustomAttributeLimitError past the limit. */
  applyPatch(appId: string, profileId: string, patch: ProfilePatch): Promise<void>;
  /** Removes a profile and everything that hangs off it, its identifier history included. */
  deleteProfile(appId: string, profileId: string): Promise<void>;

  /** The app's identifier rules (the defaults when none were set). */
  rules(appId: string): Promise<AppRules>;
  /** The stored values of the given keys of one profile (keys without a value are absent). */
  identifierValues(appId: string, profileId: string, keys: readonly string[]): Promise<Map<string, string>>;
  /**
   * The other profiles of the app that hold `value` under `key`, in id order. On PostgreSQL the
   * value is locked until the transaction ends, so that two writers of one value cannot both see
   * that nobody holds it.
   */
  otherHolders(appId: string, key: IdentifierKey, value: string, exceptProfileId: string): Promise<string[]>;
  clearIdentifiers(appId: string, profileId: string, keys: readonly string[]): Promise<void>;
  upsertIdentifiers(appId: string, profileId: string, entries: readonly [string, string][], now: number): Promise<void>;
  appendHistory(appId: string, actor: WriteActor, records: readonly HistoryRecord[], now: number): Promise<void>;

  /** Set-based forms for batches: the addressed profiles that exist, held (PostgreSQL: locked in id order). */
  profilesForWrite(appId: string, profileIds: readonly string[], customerUserIds: readonly string[]): Promise<ProfileRef[]>;
  /** Creates profiles for customer user ids; answers those it created and those another writer created meanwhile. */
  createProfiles(appId: string, customerUserIds: readonly string[]): Promise<{ created: ProfileRef[]; concurrent: ProfileRef[] }>;
  /** Every identifier row of the given profiles. */
  identifierRowsOf(appId: string, profileIds: readonly string[]): Promise<IdentifierRow[]>;
  /** Writes the rows (insert or update) and deletes the given keys, in multi-row statements. */
  writeIdentifierRows(appId: string, upserts: readonly IdentifierRow[], clears: ReadonlyMap<string, readonly string[]>, now: number): Promise<void>;

  /** The event types some webhook endpoint of the app subscribes to. */
  subscribedEventTypes(appId: string): Promise<Set<string>>;
  /**
   * The transactional outbox: records an event with one pending delivery per endpoint subscribed to
   * its type; stores nothing when no endpoint is. Answers whether anything was stored.
   */
  recordEvent(appId: string, type: EventType, data: EventData, now?: number): Promise<boolean>;

  /** Every transaction and grant of a profile. */
  revenueOf(appId: string, profileId: string): Promise<ProfileRevenue>;
  /** The stored transaction with this store and store transaction id, whichever profile holds it. */
  findTransaction(appId: string, store: string, storeTransactionId: string): Promise<TransactionRecord | null>;
  /** Inserts a transaction, or replaces the one with the same store and store transaction id. */
  saveTransaction(appId: string, record: TransactionRecord): Promise<void>;
  /** Inserts a grant, or replaces the profile's grant of the same access level. */
  saveGrant(appId: string, grant: AccessGrant): Promise<void>;
  /** Ends, at `at`, the access every current transaction and grant of the level gives the profile. */
  endAccess(appId: string, profileId: string, accessLevelId: string, at: number): Promise<void>;
  /** Notes that the profile has revenue data, so that its reads include it. */
  markRevenue(appId: string, profileId: string, now: number): Promise<void>;
  unknownAccessLevelMode(appId: string): Promise<UnknownAccessLevelMode>;
  accessLevelExists(appId: string, accessLevelId: string): Promise<boolean>;
  addAccessLevel(appId: string, accessLevelId: string, now: number): Promise<boolean>;
  product(appId: string, storeProductId: string): Promise<Product | null>;
  /** US dollars per unit of the currency (1 for USD); null when no rate is set. */
  usdRate(appId: string, currency: string): Promise<number | null>;
  refundSaver(appId: string, profileId: string): Promise<RefundSaverSettings | null>;
  saveRefundSaver(appId: string, profileId: string, settings: RefundSaverSettings, now: number): Promise<void>;
  /** When the access-level clock looks at this level of the profile again (null: never). */
  setAccessClock(appId: string, profileId: string, accessLevelId: string, dueAt: number | null): Promise<void>;
  /** Takes a due entry off the clock; false when another process took it first. */
  takeAccessClock(due: DueAccessChange): Promise<boolean>;

  /** Runs `work` in a savepoint: when it throws, its writes are undone and the error is rethrown. */
  savepoint<T>(work: () => Promise<T>): Promise<T>;
}

/** One transaction count per store and environment, for `crosswalk stats`. */
export interface TransactionStats {
  store: string;
  environment: string;
  count: number;
  refunded: number;
  /** The converted price of the transactions not refunded. */
  revenueUsd: number;
}

/** Revenue configuration and reads outside a write: access levels, products, rates, settings. */
export interface RevenueStore {
  listAccessLevels(appId: string): Promise<{ id: string; createdAt: number }[]>;
  /** False when it was configured already. */
  addAccessLevel(appId: string, accessLevelId: string): Promise<boolean>;
  removeAccessLevel(appId: string, accessLevelId: string): Promise<boolean>;
  listProducts(appId: string): Promise<Product[]>;
  /** Creates or replaces a product; its access level is configured too when it was not. */
  saveProduct(appId: string, product: Product): Promise<void>;
  removeProduct(appId: string, storeProductId: string): Promise<boolean>;
  unknownAccessLevelMode(appId: string): Promise<UnknownAccessLevelMode>;
  setUnknownAccessLevelMode(appId: string, mode: UnknownAccessLevelMode): Promise<void>;
  listRates(appId: string): Promise<{ currency: string; usdPerUnit: number; updatedAt: number }[]>;
  setRate(appId: string, currency: string, usdPerUnit: number): Promise<void>;
  removeRate(appId: string, currency: string): Promise<boolean>;
  /** The addressed profile's id and Refund Saver settings (null when it set none); null when not found. */
  refundSaver(appId: string, address: ProfileAddress): Promise<{ profileId: string; settings: RefundSaverSettings | null } | null>;
  /** Access levels of any app whose start or end is due at `now`, oldest first. */
  dueAccessChanges(now: number, limit: number): Promise<DueAccessChange[]>;
  stats(appId: string): Promise<{ transactions: TransactionStats[]; grants: number }>;
}

/** How a write transaction is run. */
export interface WriteOptions {
  /**
   * A transaction of its own, not shared with other writes (SQLite's group commit shares one
   * commit among the writes that arrive together): for large writes that are one commit already.
   */
  alone?: boolean;
}

/**
 * Everything Crosswalk keeps, in domain terms. Every method that touches a tenant's data takes the
 * app id first, and a profile belonging to another app is simply not found. Writes that need
 * decisions run through `write`, which gives the services a WriteTransaction.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /**
   * Runs `work` in one transaction and resolves once it is durably committed. On SQLite the writes
   * that arrive together share one commit, each in a savepoint of its own; on PostgreSQL a
   * transaction ended to break a deadlock is run again, up to three times.
   */
  write<T>(work: (tx: WriteTransaction) => Promise<T>, options?: WriteOptions): Promise<T>;

  createApp(name: string): Promise<App>;
  listApps(): Promise<App[]>;
  findApp(appId: string): Promise<App | null>;

  /** Registers a key (stored as its hash). Returns the existing record if the key is already known. */
  addApiKey(appId: string, secret: string, name: string): Promise<{ key: ApiKeyInfo; created: boolean }>;
  listApiKeys(appId?: string): Promise<ApiKeyInfo[]>;
  /** Marks a key revoked; false if there is no such key. Revoking twice keeps the first time. */
  revokeApiKey(keyId: string): Promise<boolean>;
  /** The owner of a key that exists and is not revoked. */
  findKeyOwner(secret: string): Promise<KeyOwner | null>;

  findProfile(appId: string, address: ProfileAddress): Promise<ProfileRecord | null>;
  /** All 16 keys of the addressed profile, null where unset; null when the profile is not found. */
  getIdentifiers(appId: string, address: ProfileAddress): Promise<IdentifierSet | null>;
  /** Every profile of the app whose `key` holds exactly `value` (at most `limit`), by profile id. */
  lookupIdentifier(appId: string, key: IdentifierKey, value: string, limit: number): Promise<IdentifierHolder[]>;
  /** A page of the profile's identifier history, newest first; null when the profile is not found. */
  identifierHistory(appId: string, address: ProfileAddress, query: HistoryQuery): Promise<HistoryEntry[] | null>;

  /** The app's identifier rules (the defaults when none were set). */
  getRules(appId: string): Promise<AppRules>;
  /** Replaces the app's identifier rules. */
  setRules(appId: string, rules: AppRules): Promise<void>;

  /** Webhook endpoints, the outbox's deliveries and the delivery worker's queue. */
  readonly webhooks: WebhookStore;
  /** Access levels, products, currency rates and other revenue reads outside a write. */
  readonly revenue: RevenueStore;
  /** Called after every commit that queued webhook deliveries (for the delivery worker of this process). */
  onDeliveriesQueued(listener: DeliveriesQueuedListener): void;
  /**
   * Called after every write transaction that committed events for delivery, with their number by
   * type (for metrics). A transaction that failed, or a write undone within a shared commit, counts
   * nothing.
   */
  onEventsRecorded(listener: (counts: ReadonlyMap<string, number>) => void): void;

  /**
   * One page of the app's profiles in profile id order, starting after `afterProfileId` (null:
   * from the first), with their identifiers and custom attributes. Keyset pagination: a page
   * shorter than `limit` is the last.
   */
  exportPage(appId: string, afterProfileId: string | null, limit: number): Promise<ExportedProfile[]>;
  /** Profile, identifier (per key) and API key counts of one app. */
  appStats(appId: string): Promise<AppStats>;
  /** The size of the whole database (SQLite) or of the current schema's tables (PostgreSQL). */
  databaseSize(): Promise<DatabaseSize>;
}
