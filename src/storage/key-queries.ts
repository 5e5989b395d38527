import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { apiKeyHint, DEFAULT_KEY_SCOPE, hashApiKey, isKeyScope, type KeyScope } from '../domain/api-keys.js';
import type { AuditActor, AuditChange, AuditDetail, AuditEntry } from '../domain/audit.js';
import type { AppRules } from '../domain/rules.js';
import type { ApiKeysTable, Database } from './schema.js';
import type { ApiKeyInfo, AuditPage, AuditQuery, KeyOwner, NewKeyOptions } from './store.js';

/** The statements of API keys, app rules and the audit trail; each takes the database or a transaction first. */

type Db = Kysely<Database>;

const KEY_COLUMNS = ['id', 'app_id', 'name', 'hint', 'scope', 'created_at', 'revoked_at', 'expires_at', 'last_used_at'] as const;

// A scope the code does not know (written by a later version) grants the least.
const scopeOf = (stored: string): KeyScope => (isKeyScope(stored) ? stored : 'read');

const toKey = (row: Omit<ApiKeysTable, 'key_hash'>): ApiKeyInfo => ({
  id: row.id,
  appId: row.app_id,
  name: row.name,
  hint: row.hint,
  scope: scopeOf(row.scope),
  createdAt: Number(row.created_at),
  revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
});

/** Registers a key; the existing record, `created` false, when its hash is already known. */
export async function addApiKey(db: Db, appId: string, secret: string, name: string, options: NewKeyOptions = {}) {
  const key_hash = hashApiKey(secret);
  const result = await db
    .insertInto('api_keys')
    .values({
      id: randomUUID(),
      app_id: appId,
      name,
      key_hash,
      hint: apiKeyHint(secret, options.generated === true),
      scope: options.scope ?? DEFAULT_KEY_SCOPE,
      created_at: Date.now(),
      revoked_at: null,
      expires_at: options.expiresAt ?? null,
      last_used_at: null,
    })
    .onConflict((conflict) => conflict.column('key_hash').doNothing())
    .executeTakeFirst();
  const row = await db.selectFrom('api_keys').select(KEY_COLUMNS).where('key_hash', '=', key_hash).executeTakeFirstOrThrow();
  return { key: toKey(row), created: Number(result.numInsertedOrUpdatedRows ?? 0) > 0 };
}

export async function findApiKey(db: Db, keyId: string): Promise<ApiKeyInfo | null> {
  const row = await db.selectFrom('api_keys').select(KEY_COLUMNS).where('id', '=', keyId).executeTakeFirst();
  return row ? toKey(row) : null;
}

export async function listApiKeys(db: Db, appId?: string): Promise<ApiKeyInfo[]> {
  let query = db.selectFrom('api_keys').select(KEY_COLUMNS).orderBy('created_at').orderBy('id');
  if (appId !== undefined) query = query.where('app_id', '=', appId);
  return (await query.execute()).map(toKey);
}

/** Marks a key revoked, keeping the first time; the key as it now stands, or null when there is none. */
export async function revokeApiKey(db: Db, keyId: string, now: number): Promise<ApiKeyInfo | null> {
  await db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', keyId).where('revoked_at', 'is', null).execute();
  return findApiKey(db, keyId);
}

export async function setApiKeyScope(db: Db, keyId: string, scope: KeyScope): Promise<ApiKeyInfo | null> {
  await db.updateTable('api_keys').set({ scope }).where('id', '=', keyId).execute();
  return findApiKey(db, keyId);
}

/** The owner of a key that exists, is not revoked and has not expired at `now`. */
export async function findKeyOwner(db: Db, secret: string, now: number): Promise<KeyOwner | null> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'app_id', 'scope', 'expires_at'])
    .where('key_hash', '=', hashApiKey(secret))
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  return row ? { keyId: row.id, appId: row.app_id, scope: scopeOf(row.scope), expiresAt: row.expires_at === null ? null : Number(row.expires_at) } : null;
}

/** Notes a use of the keys at `at`; a later use already noted (by another process) is kept. */
export async function touchApiKeys(db: Db, keyIds: readonly string[], at: number): Promise<void> {
  if (keyIds.length === 0) return;
  await db
    .updateTable('api_keys')
    .set({ last_used_at: at })
    .where('id', 'in', [...keyIds])
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
    .execute();
}

/** Replaces the app's identifier rules. */
export async function setRules(db: Db, appId: string, rules: AppRules, now: number): Promise<void> {
  const values = {
    placeholder_mode: rules.placeholderMode,
    extra_placeholders: JSON.stringify(rules.extraPlaceholders),
    conflict_policies: JSON.stringify(rules.conflictPolicies),
    updated_at: now,
  };
  await db
    .insertInto('app_rules')
    .values({ app_id: appId, ...values })
    .onConflict((conflict) => conflict.column('app_id').doUpdateSet(values))
    .execute();
}

export async function appendAudit(db: Db, actor: AuditActor, change: AuditChange, now: number): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      app_id: change.appId,
      actor,
      action: change.action,
      target_id: change.targetId,
      detail: JSON.stringify(change.detail),
      created_at: now,
    })
    .execute();
}

/** A page of the app's trail, newest first: one row more than asked tells whether another page follows. */
export async function auditLog(db: Db, appId: string, query: AuditQuery): Promise<AuditPage> {
  let select = db
    .selectFrom('audit_log')
    .select(['seq', 'app_id', 'actor', 'action', 'target_id', 'detail', 'created_at'])
    .where('app_id', '=', appId)
    .orderBy('seq', 'desc')
    .limit(query.limit + 1);
  if (query.before !== undefined) select = select.where('seq', '<', query.before);
  const rows = await select.execute();
  const entries = rows.slice(0, query.limit).map(
    (row): AuditEntry => ({
      id: Number(row.seq),
      appId: row.app_id,
      actor: row.actor,
      action: row.action as AuditEntry['action'],
      targetId: row.target_id,
      detail: JSON.parse(row.detail) as AuditDetail,
      createdAt: Number(row.created_at),
    }),
  );
  return { entries, next: rows.length > query.limit ? entries.at(-1)!.id : null };
}
