import type { IdentifierWriteResult, WriteActor } from '../../domain/identifier-writes.js';
import type { IdentifierChanges, IdentifierKey } from '../../domain/identifiers.js';
import type { ProfileAddress, ProfilePatch, ProfileRecord } from '../../domain/profile.js';
import type { AppRules, ConflictPolicy, DroppedValue } from '../../domain/rules.js';

/** What the one-statement writes of PostgreSQL take and answer (implemented in statements.ts). */

/** An app's identifier rules and the version they were stored as ('' for an app without rules). */
export interface VersionedRules {
  version: string;
  rules: AppRules;
}

/** An identifier write whose placeholder rule is already applied (`kept`, `dropped`) under rules of `rulesVersion`. */
export interface IdentifierWriteCall {
  appId: string;
  address: ProfileAddress;
  kept: IdentifierChanges;
  dropped: DroppedValue[];
  policies: Partial<Record<IdentifierKey, ConflictPolicy>>;
  /** The version of the rules `kept` and `policies` come from; null when none is known yet. */
  rulesVersion: string | null;
  actor: WriteActor;
  now: number;
}

/**
 * What the one-statement write did: nothing when the profile is not found, when the rules changed
 * since (`stale`, with the stored rules) or when a `reject` policy refused keys (`conflict`).
 */
export type IdentifierWriteAnswer =
  | { status: 'not_found' }
  | { status: 'stale'; rules: VersionedRules }
  | { status: 'conflict'; keys: IdentifierKey[] }
  | { status: 'written'; result: IdentifierWriteResult };

/** Writes that PostgreSQL runs as one statement, each its own transaction (functions of migration 0008). */
export interface OneStatementWrites {
  writeIdentifiers(call: IdentifierWriteCall): Promise<IdentifierWriteAnswer>;
  /** The addressed profile with its custom attributes and, when it has any, its revenue; null when not found. */
  readProfile(appId: string, address: ProfileAddress): Promise<ProfileRecord | null>;
  /**
   * ProfileService.ensure in one statement: finds or creates the addressed profile, applies the
   * patch and records profile.created, or profile.updated naming `fields` (and `customer_user_id`
   * when the address gave the profile a new one). Throws CustomerUserIdTakenError or
   * CustomAttributeLimitError, having written nothing.
   */
  ensureProfile(appId: string, address: ProfileAddress, patch: ProfilePatch, fields: readonly string[]): Promise<ProfileRecord>;
}
