import type { EventData, EventType } from '../domain/events.js';
import type { HistoryRecord, WriteActor } from '../domain/identifier-writes.js';
import type { IdentifierKey, IdentifierSet } from '../domain/identifiers.js';
import type { InstallationMeta, ProfileAddress, ProfileAttributes, ProfilePatch, ProfileRecord } from '../domain/profile.js';
import type { KeyScope } from '../domain/api-keys.js';
import type { AuditActor, AuditChange, AuditEntry } from '../domain/audit.js';
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
import type { DestinationStore } from './destination-store.js';
import type { OneStatementWrites } from './postgres/one-statement.js';
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
  scope: KeyScope;
  createdAt: number;
  revokedAt: number | null;
  /** When the key stops working; null: never. */
  expiresAt: number | null;
  /** When the key last authenticated a request (to the minute); null: never. */
  lastUsedAt: number | null;
}

/** How a key is registered. */
export interface NewKeyOptions {
  /** Default: admin. */
  scope?: KeyScope;
  /** When the key stops working; default: never. */
  expiresAt?: number | null;
  /** Whether Crosswalk generated the secret (its hint then shows the public prefix); default: false. */
  generated?: boolean;
}

/** Who a valid key acts for, and what it may do. */
export interface KeyOwner {
  keyId: string;
  appId: string;
  scope: KeyScope;
  /** When the key stops working; null: never. */
  expiresAt: number | null;
}

/** A page of an app's audit trail, newest first. */
export interface AuditQuery {
  limit: number;
  /** Only entries older than this id (the cursor of the previous page). */
  before?: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** The cursor of the next page, or null when this page is the last. */
  next: number | null;
}

/** What a management operation answers, with the entry of the audit trail that records its change (null: nothing changed). */
export interface Managed<T> {
  result: T;
  audit: AuditChange | null;
}

/**
 * The management changes, made in one transaction with the audit entry that records them (see
 * Store.manage). Only writes and the reads they depend on: nothing here reads outside the transaction.
 */
export interface ManagementTransaction {
  /** Throws AppNameTakenError when the name is in use. */
  createApp(name: string): Promise<App>;
  findApiKey(keyId: string): Promise<ApiKeyInfo | null>;
  /** Registers a key (stored as its hash); the existing record, `created` false, when the key is already known. */
  addApiKey(appId: string, secret: string, name: string, options?: NewKeyOptions): Promise<{ key: ApiKeyInfo; created: boolean }>;
  /** Marks a key revoked (revoking twice keeps the first time); null when there is no such key. */
  revokeApiKey(keyId: string): Promise<ApiKeyInfo | null>;
  /** Null when there is no such key. */
  setApiKeyScope(keyId: string, scope: KeyScope): Promise<ApiKeyInfo | null>;
  rules(appId: string): Promise<AppRules>;
  setRules(appId: string, rules: AppRules): Promise<void>;
  readonly webhooks: Pick<WebhookStore, 'addEndpoint' | 'removeEndpoint' | 'redeliver'>;
  readonly destinations: Pick<DestinationStore, 'addDestination' | 'removeDestination' | 'redeliverToDestination'>;
  readonly revenue: Pick<
    RevenueStore,
    | 'listAccessLevels' | 'addAccessLevel' | 'removeAccessLevel' | 'listProducts' | 'saveProduct' | 'removeProduct'
    | 'unknownAccessLevelMode' | 'setUnknownAccessLevelMode' | 'listRates' | 'setRate' | 'removeRate'
  >;
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

/** A profile that holds a looked-up identifier value, and under which key. */
export interface IdentifierHolder {
  profileId: string;
  customerUserId: string | null;
  key: IdentifierKey;
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

/** One custom attribute of one profile, as the set-based import reads and writes them. */
export interface CustomAttributeRow {
  profileId: string;
  key: string;
  /** The value as text; `isNumber` says whether it is read back as a number. */
  value: string;
  isNumber: boolean;
}

/** One device of one profile: its installation_meta fields other than device_id, as JSON text. */
export interface InstallationRow {
  profileId: string;
  deviceId: string;
  meta: string;
}

/** A profile the set-based import creates, with the attributes its lines set. */
export interface NewProfile {
  id: string;
  customerUserId: string | null;
  attributes: Partial<ProfileAttributes>;
}

/** The attributes the set-based import sets on an existing profile (none: only its updated_at). */
export interface ProfileUpdate {
  id: string;
  attributes: Partial<ProfileAttributes>;
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
  /**
   * Deletes the profile's `key` only while it still holds `value` (a move); answers whether it did.
   * A holder that changed the key since it was read keeps its newer value.
   */
  takeIdentifier(appId: string, profileId: string, key: IdentifierKey, value: string): Promise<boolean>;
  upsertIdentifiers(appId: string, profileId: string, entries: readonly [string, string][], now: number): Promise<void>;
  appendHistory(appId: string, actor: WriteActor, records: readonly HistoryRecord[], now: number): Promise<void>;
  /** The newest history entry of each given key of each given profile (none for a key without history). */
  latestHistory(appId: string, profileIds: readonly string[], keys: readonly string[]): Promise<HistoryRecord[]>;
  /**
   * Deletes, among the `limit` oldest history entries of every app, those written before `cutoff`,
   * and answers how many; null when another process is purging at this moment (PostgreSQL).
   */
  purgeHistory(cutoff: number, limit: number): Promise<number | null>;

  /** Set-based forms for batches: the addressed profiles that exist, held (PostgreSQL: locked in id order). */
  profilesForWrite(appId: string, profileIds: readonly string[], customerUserIds: readonly string[]): Promise<ProfileRef[]>;
  /** Creates profiles for customer user ids; answers those it created and those another writer created meanwhile. */
  createProfiles(appId: string, customerUserIds: readonly string[]): Promise<{ created: ProfileRef[]; concurrent: ProfileRef[] }>;
  /** Every identifier row of the given profiles. */
  identifierRowsOf(appId: string, profileIds: readonly string[]): Promise<IdentifierRow[]>;
  /** Writes the rows (insert or update) and deletes the given keys, in multi-row statements. */
  writeIdentifierRows(appId: string, upserts: readonly IdentifierRow[], clears: ReadonlyMap<string, readonly string[]>, now: number): Promise<void>;

  /** Set-based forms for the import: every custom attribute of the given profiles. */
  customAttributesOf(appId: string, profileIds: readonly string[]): Promise<CustomAttributeRow[]>;
  /** Every device of the given profiles. */
  installationsOf(appId: string, profileIds: readonly string[]): Promise<InstallationRow[]>;
  /** The profiles holding each value under its key; on PostgreSQL the values are locked first, as by `otherHolders`. */
  identifierHolders(appId: string, pairs: readonly { key: string; value: string }[]): Promise<IdentifierRow[]>;
  /** Inserts profiles, skipping those whose id or customer user id exists; answers the ids inserted. */
  insertProfiles(appId: string, profiles: readonly NewProfile[], now: number): Promise<string[]>;
  /** Sets attributes (and updated_at) of profiles the transaction holds. */
  updateProfiles(appId: string, updates: readonly ProfileUpdate[], now: number): Promise<void>;
  /** Deletes the given custom attributes and writes (insert or update) the others. */
  writeCustomAttributes(appId: string, removals: readonly { profileId: string; key: string }[], upserts: readonly CustomAttributeRow[]): Promise<void>;
  /** Writes devices, each replacing the stored meta of its device. */
  upsertInstallations(appId: string, rows: readonly InstallationRow[], now: number): Promise<void>;
  /** writeIdentifierRows in fewer statements (on PostgreSQL, one per table whatever the number of rows). */
  writeIdentifierRowsInBulk(appId: string, upserts: readonly IdentifierRow[], clears: ReadonlyMap<string, readonly string[]>, now: number): Promise<void>;
  /** appendHistory in fewer statements (on PostgreSQL, one whatever the number of entries). */
  appendHistoryInBulk(appId: string, actor: WriteActor, records: readonly HistoryRecord[], now: number): Promise<void>;
  /** recordEvent for many events, in their order, in a few statements (one insert per table). */
  recordEvents(appId: string, events: readonly { type: EventType; data: EventData }[], now: number): Promise<void>;

  /** The event types some webhook endpoint of the app subscribes to. */
  subscribedEventTypes(appId: string): Promise<Set<string>>;
  /**
   * The transactional outbox: records an event with one pending delivery per endpoint subscribed to
   * its type; stores nothing when no endpoint is. Answers whether anything was stored.
   */
  recordEvent(appId: string, type: EventType, data: EventData, now?: number): Promise<boolean>;
  /**
   * Erases a deleted profile's personal data from the outbox: its stored events keep only ids, type
   * and time, its pending deliveries are cancelled, receivers' answers kept with its failed ones are
   * replaced. Answers when an attempt still under way for one of them ends (null: none is).
   */
  eraseProfileEvents(appId: string, profileId: string, now: number): Promise<number | null>;
  /** Makes the profile's pending deliveries wait until `until`. */
  delayProfileDeliveries(appId: string, profileId: string, until: number): Promise<void>;

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
  /**
   * PostgreSQL only (null on SQLite): writes that run as one statement, so one round trip, each
   * its own transaction; what they queue for delivery is announced like a `write`'s.
   */
  readonly oneStatement: OneStatementWrites | null;

  createApp(name: string): Promise<App>;
  listApps(): Promise<App[]>;
  findApp(appId: string): Promise<App | null>;

  /**
   * Registers a key (stored as its hash), with no audit entry: for tests and tools; services use
   * `manage`. Returns the existing record if the key is already known.
   */
  addApiKey(appId: string, secret: string, name: string, options?: NewKeyOptions): Promise<{ key: ApiKeyInfo; created: boolean }>;
  listApiKeys(appId?: string): Promise<ApiKeyInfo[]>;
  /** Marks a key revoked, with no audit entry; false if there is no such key. Revoking twice keeps the first time. */
  revokeApiKey(keyId: string): Promise<boolean>;
  /** The owner of a key that exists, is not revoked and has not expired at `now`. */
  findKeyOwner(secret: string, now?: number): Promise<KeyOwner | null>;
  /** Notes that keys authenticated requests at `at` (a later time already noted is kept). */
  touchApiKeys(keyIds: readonly string[], at: number): Promise<void>;

  /**
   * Runs a management change in one transaction with the audit entry `work` answers (none when it
   * answers null), recorded as made by `actor`: a change that fails leaves no entry, and an entry
   * that cannot be written undoes the change.
   */
  manage<T>(actor: AuditActor, work: (tx: ManagementTransaction) => Promise<Managed<T>>): Promise<T>;
  /** A page of the app's audit trail, newest first. */
  auditLog(appId: string, query: AuditQuery): Promise<AuditPage>;

  findProfile(appId: string, address: ProfileAddress): Promise<ProfileRecord | null>;
  /** All 16 keys of the addressed profile, null where unset; null when the profile is not found. */
  getIdentifiers(appId: string, address: ProfileAddress): Promise<IdentifierSet | null>;
  /**
   * Every profile of the app whose `key` holds exactly `value` (at most `limit`), by profile id; with
   * `key` null, every holding under any key, by key, then profile id.
   */
  lookupIdentifier(appId: string, key: IdentifierKey | null, value: string, limit: number): Promise<IdentifierHolder[]>;
  /** A page of the profile's identifier history, newest first; null when the profile is not found. */
  identifierHistory(appId: string, address: ProfileAddress, query: HistoryQuery): Promise<HistoryEntry[] | null>;

  /** The app's identifier rules (the defaults when none were set). */
  getRules(appId: string): Promise<AppRules>;
  /** Replaces the app's identifier rules. */
  setRules(appId: string, rules: AppRules): Promise<void>;

  /** Webhook endpoints, the outbox's deliveries and the delivery worker's queue. */
  readonly webhooks: WebhookStore;
  /** Destinations: tools revenue is sent to, endpoints of the same outbox. */
  readonly destinations: DestinationStore;
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
