import type { IdentifierChanges, IdentifierSet } from '../domain/identifiers.js';
import type { ProfilePatch, ProfileRecord } from '../domain/profile.js';

/** How a request names a profile: by its id, by the customer's own user id, or by both. */
export interface ProfileAddress {
  profileId?: string;
  customerUserId?: string;
}

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

  /** Sets and clears the given keys, leaving the others alone; false when the profile is not found. */
  setIdentifiers(appId: string, address: ProfileAddress, changes: IdentifierChanges): Promise<boolean>;
  getIdentifiers(appId: string, address: ProfileAddress): Promise<IdentifierSet | null>;
}
