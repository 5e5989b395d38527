/** What the suites of key scopes, key expiry, shedding and the audit trail share. Not a test file itself. */
import { generateApiKey, type KeyScope } from '../src/domain/api-keys.js';
import type { NewKeyOptions } from '../src/storage/store.js';
import { queryRows, type TestContext } from './helpers.js';

export interface TestKey {
  id: string;
  secret: string;
  auth: { authorization: string };
}

/** A new generated key of `appId` with the given scope (and options), registered straight in the store. */
export async function keyOf(ctx: TestContext, appId: string, scope: KeyScope, options: NewKeyOptions = {}): Promise<TestKey> {
  const secret = generateApiKey();
  const { key } = await ctx.store.addApiKey(appId, secret, `${scope} key`, { generated: true, scope, ...options });
  return { id: key.id, secret, auth: { authorization: `Api-Key ${secret}` } };
}

/** The app's audit rows as stored, oldest first, read behind the app's back. */
export async function auditRows(ctx: TestContext, appId: string) {
  const rows = await queryRows(ctx.database, `select seq, actor, action, target_id, detail from audit_log where app_id = '${appId}' order by seq`);
  return rows.map((row) => ({
    actor: String(row.actor),
    action: String(row.action),
    target_id: row.target_id === null ? null : String(row.target_id),
    detail: JSON.parse(String(row.detail)) as Record<string, unknown>,
  }));
}

/**
 * Counts the key lookups that reach the database (Store.findKeyOwner, which the key cache's
 * lookups call), from now until `stop` is called.
 */
export function countKeyLookups(ctx: TestContext): { count(): number; stop(): void } {
  const original = ctx.store.findKeyOwner;
  let lookups = 0;
  ctx.store.findKeyOwner = function (this: typeof ctx.store, ...args: Parameters<typeof original>) {
    lookups++;
    return original.apply(this, args);
  };
  return {
    count: () => lookups,
    stop: () => {
      ctx.store.findKeyOwner = original;
    },
  };
}

/** The 403 of a key whose scope does not cover the operation. */
export function forbiddenBody(granted: KeyScope, needed: KeyScope) {
  return {
    errors: [{ source: 'non_field_errors', errors: [`This API key has the ${granted} scope; this operation needs the ${needed} scope.`] }],
    error_code: 'forbidden',
    status_code: 403,
  };
}

/** Every table a refused request must leave alone: the data, the set-up and the audit trail (not api_keys, whose last use is noted). */
export const GUARDED_TABLES = [
  'apps', 'profiles', 'custom_attributes', 'installations', 'integration_identifiers', 'identifier_history', 'app_rules',
  'webhook_endpoints', 'webhook_subscriptions', 'webhook_events', 'webhook_deliveries', 'paid_access_levels', 'products',
  'revenue_settings', 'currency_rates', 'transactions', 'access_grants', 'refund_saver_settings', 'access_level_clock', 'audit_log',
] as const;

/** Every row of the guarded tables as one comparable text (rows sorted by their JSON). */
export async function tablesText(ctx: TestContext): Promise<string> {
  const tables: Record<string, string[]> = {};
  for (const table of GUARDED_TABLES) {
    tables[table] = (await queryRows(ctx.database, `select * from ${table}`)).map((row) => JSON.stringify(row)).sort();
  }
  return JSON.stringify(tables);
}
