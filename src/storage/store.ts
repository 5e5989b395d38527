import type { IdentifierChanges, IdentifierKey, IdentifierSet } from '../domain/identifiers.js';
import type { AppRules } from '../domain/rules.js';
import type { IdentifierWriteResult, WriteActor } from './identifier-queries.js';
import type { OutboxSignal } from './outbox.js';
import type { WebhookStore } from './webhook-store.js';

export type { IdentifierChange, IdentifierWriteResult, WriteActor } from './identifier-queries.js';
import type { ProfileAddress, ProfilePatch, ProfileRecord } from '../domain/profile.js';
export type { ProfileAddress } from '../domain/profile.js';
import type { ApiError, CustomAttributeLimitError, CustomerUserIdTakenError, IdentifierConflictError } from '../errors.js';


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

/** One validated line of a bulk import: the create operation's address and patch, plus identifier writes. */
export interface ImportItem {
  address: ProfileAddress;
  patch: ProfilePatch;
  /** Keys to set or clear, as parseIdentifierChanges returns them; empty when the line names none. */
  identifiers: IdentifierChanges;
}

/** What became of one import item: written, or refused for a reason that concerns that item alone. */
export type ImportOutcome =
  | { ok: true; profileId: string }
  | { ok: false; error: CustomerUserIdTakenError | CustomAttributeLimitError | IdentifierConflictError | ApiError };

/** A profile as the export writes it: the stored record plus the identifiers that are set. */
export interface ExportedProfile extends ProfileRecord {
  identifiers: Partial<Record<IdentifierKey, string>>;
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

/** One item of a batch write, already validated. */
export interface BatchItem {
  address: ProfileAddress;
  changes: IdentifierChanges;
}

/** What became of one batch item. */
export type BatchOutcome =
  | { ok: true; result: IdentifierWriteResult; customerUserId: string | null; created: boolean }
  | { ok: false; error: 'profile_not_found' | CustomerUserIdTakenError | IdentifierConflictError | ApiError };

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

/**
 * Everything Crosswalk keeps, in domain terms. Every method that touches a tenant's data takes the
 * app id first, and a profile belonging to another app is simply not found.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;

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
  /**
   * Makes sure the addressed profile exists (creating it, or attaching the customer user id to
   * the given profile id) and applies the patch, all in one transaction.
   * Throws CustomerUserIdTakenError when another profile holds the customer user id.
   */
  ensureProfile(appId: string, address: ProfileAddress, patch: ProfilePatch): Promise<ProfileRecord>;
  /** Applies a patch to an existing profile; null when not found. */
  updateProfile(appId: string, address: ProfileAddress, patch: ProfilePatch): Promise<ProfileRecord | null>;
  /** Deletes a profile with its identifiers, attributes and devices; false when not found. */
  deleteProfile(appId: string, address: ProfileAddress): Promise<boolean>;

  /**
   * Sets and clears the given keys, leaving the others alone, under the app's rules (placeholders,
   * conflicts), with history and outbox events in the same transaction; null when the profile is
   * not found. Throws IdentifierConflictError or a validation ApiError (placeholder refused).
   */
  setIdentifiers(appId: string, address: ProfileAddress, changes: IdentifierChanges, actor: WriteActor): Promise<IdentifierWriteResult | null>;
  /** Every profile of the app whose `key` holds exactly `value` (at most `limit`), by profile id. */
  lookupIdentifier(appId: string, key: IdentifierKey, value: string, limit: number): Promise<IdentifierHolder[]>;
  /** A page of the profile's identifier history, newest first; null when the profile is not found. */
  identifierHistory(appId: string, address: ProfileAddress, query: HistoryQuery): Promise<HistoryEntry[] | null>;
  /**
   * Applies the items in order in ONE transaction, each in a savepoint of its own: an item that
   * fails is undone alone and reported in its outcome. With `createMissing`, an item addressed by
   * customer user id whose profile does not exist creates it.
   */
  batchIdentifiers(appId: string, items: readonly BatchItem[], createMissing: boolean, actor: WriteActor): Promise<BatchOutcome[]>;

  /** The app's identifier rules (the defaults when none were set). */
  getRules(appId: string): Promise<AppRules>;
  /** Replaces the app's identifier rules. */
  setRules(appId: string, rules: AppRules): Promise<void>;

  /** Webhook endpoints, the outbox and deliveries. */
  readonly webhooks: WebhookStore;
  /** Called after a commit that wrote webhook events (for the delivery worker of this process). */
  onOutbox(signal: OutboxSignal): void;
  getIdentifiers(appId: string, address: ProfileAddress): Promise<IdentifierSet | null>;

  /**
   * Bulk import: applies the items in order, all in ONE transaction. Each item follows the create
   * operation's rules (ensureProfile) and then sets its identifiers. An item refused because
   * another profile holds its customer user id, or because it would exceed the custom attribute
   * limit, is rolled back alone (savepoint) and reported in its outcome; any other error fails
   * the whole batch. Applying the same items again leaves the same state.
   */
  importBatch(appId: string, items: readonly ImportItem[]): Promise<ImportOutcome[]>;
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
