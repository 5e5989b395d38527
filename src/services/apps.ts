import type { KeyScope } from '../domain/api-keys.js';
import type { AuditActor, AuditDetail } from '../domain/audit.js';
import { IDENTIFIER_KEYS } from '../domain/identifiers.js';
import type { AppRules } from '../domain/rules.js';
import type { ApiKeyInfo, App, KeyOwner, NewKeyOptions, Store } from '../storage/store.js';

/** What changed between two sets of rules, for the audit trail: only the parts that differ. */
function rulesChange(before: AppRules, after: AppRules): AuditDetail {
  const detail: AuditDetail = {};
  if (before.placeholderMode !== after.placeholderMode) detail.placeholder_mode = after.placeholderMode;
  const added = after.extraPlaceholders.filter((value) => !before.extraPlaceholders.includes(value));
  const removed = before.extraPlaceholders.filter((value) => !after.extraPlaceholders.includes(value));
  if (added.length > 0) detail.extra_placeholders_added = added;
  if (removed.length > 0) detail.extra_placeholders_removed = removed;
  const policies: Record<string, string> = {};
  for (const key of IDENTIFIER_KEYS) {
    const policy = after.conflictPolicies[key] ?? 'allow';
    if (policy !== (before.conflictPolicies[key] ?? 'allow')) policies[key] = policy;
  }
  if (Object.keys(policies).length > 0) detail.conflict_policies = policies;
  return detail;
}

/** What the trail says of a key: never the secret, not even its hint. */
const keyDetail = (key: ApiKeyInfo): AuditDetail => ({
  name: key.name,
  scope: key.scope,
  expires_at: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
});

/**
 * Apps, their API keys and their identifier rules: what operators set up with the CLI. Every
 * change is recorded in the audit trail as made by `actor`, in the change's own transaction.
 */
export class AppService {
  constructor(private readonly store: Store) {}

  /** Throws AppNameTakenError when the name is in use. */
  create(name: string, actor: AuditActor): Promise<App> {
    return this.store.manage(actor, async (tx) => {
      const app = await tx.createApp(name);
      return { result: app, audit: { appId: app.id, action: 'app.create', targetId: app.id, detail: { name } } };
    });
  }

  list(): Promise<App[]> {
    return this.store.listApps();
  }

  find(appId: string): Promise<App | null> {
    return this.store.findApp(appId);
  }

  /**
   * Registers a key (stored as its hash), an admin key unless `options.scope` says otherwise; the
   * existing record, `created` false and nothing recorded, when the key is already known.
   */
  addKey(appId: string, secret: string, name: string, actor: AuditActor, options: NewKeyOptions = {}): Promise<{ key: ApiKeyInfo; created: boolean }> {
    return this.store.manage(actor, async (tx) => {
      const added = await tx.addApiKey(appId, secret, name, options);
      const audit = added.created ? { appId, action: 'key.create' as const, targetId: added.key.id, detail: keyDetail(added.key) } : null;
      return { result: added, audit };
    });
  }

  listKeys(appId?: string): Promise<ApiKeyInfo[]> {
    return this.store.listApiKeys(appId);
  }

  /** The key as it now stands; null when there is no such key. Revoking twice keeps the first time and records nothing. */
  revokeKey(keyId: string, actor: AuditActor): Promise<ApiKeyInfo | null> {
    return this.store.manage(actor, async (tx) => {
      const before = await tx.findApiKey(keyId);
      if (before === null) return { result: null, audit: null };
      const key = await tx.revokeApiKey(keyId);
      const audit = before.revokedAt === null ? { appId: before.appId, action: 'key.revoke' as const, targetId: keyId, detail: { name: before.name } } : null;
      return { result: key, audit };
    });
  }

  /** Changes what a key may do, from its next request on (within the key cache's lifetime); null when there is no such key. */
  setKeyScope(keyId: string, scope: KeyScope, actor: AuditActor): Promise<ApiKeyInfo | null> {
    return this.store.manage(actor, async (tx) => {
      const before = await tx.findApiKey(keyId);
      if (before === null) return { result: null, audit: null };
      const key = await tx.setApiKeyScope(keyId, scope);
      const audit = before.scope === scope ? null : { appId: before.appId, action: 'key.scope' as const, targetId: keyId, detail: { from: before.scope, to: scope } };
      return { result: key, audit };
    });
  }

  /** The app and key a secret stands for, when it is a key that exists, is not revoked and has not expired. */
  keyOwner(secret: string): Promise<KeyOwner | null> {
    return this.store.findKeyOwner(secret);
  }

  /** Notes that keys authenticated requests at `at`. */
  keysUsed(keyIds: readonly string[], at: number): Promise<void> {
    return this.store.touchApiKeys(keyIds, at);
  }

  rules(appId: string): Promise<AppRules> {
    return this.store.getRules(appId);
  }

  /** Reads the app's rules, applies `change` and stores the result, in one transaction; answers the new rules. */
  changeRules(appId: string, change: (rules: AppRules) => AppRules, actor: AuditActor): Promise<AppRules> {
    return this.store.manage(actor, async (tx) => {
      const current = await tx.rules(appId);
      const updated = change(current);
      await tx.setRules(appId, updated);
      const detail = rulesChange(current, updated);
      const changed = Object.keys(detail).length > 0;
      return { result: updated, audit: changed ? { appId, action: 'rules.update', targetId: null, detail } : null };
    });
  }
}
