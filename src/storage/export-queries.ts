import fs from 'node:fs';
import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import { IDENTIFIER_KEYS, type IdentifierKey, isIdentifierKey } from '../domain/identifiers.js';
import { INSTALLATION_FIELDS, type InstallationMeta } from '../domain/profile.js';
import { type AccessGrant, NO_REVENUE, type RefundPreference, type TransactionRecord } from '../domain/revenue.js';
import type { Dialect } from './dialect.js';
import { attributesOf } from './profile-queries.js';
import { readRevenueOf } from './revenue-queries.js';
import type { Database } from './schema.js';
import type { AppStats, DatabaseSize, ExportedProfile } from './store.js';

/** Reads for the CLI's export and stats commands; kept apart from the request paths. */

type Db = Kysely<Database>;

/** Code point order, whatever the database's collation. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byKey = (a: { key: string }, b: { key: string }) => byText(a.key, b.key);
const byDevice = (a: InstallationMeta, b: InstallationMeta) => byText(a.device_id, b.device_id);
/** Oldest purchase first; one (store, store transaction id) is one transaction, so the order is total. */
const byPurchase = (a: TransactionRecord, b: TransactionRecord) =>
  a.purchasedAt - b.purchasedAt || byText(a.store, b.store) || byText(a.storeTransactionId, b.storeTransactionId);
const byAccessLevel = (a: AccessGrant, b: AccessGrant) => byText(a.accessLevelId, b.accessLevelId);

/** A stored device: its id and the fields its meta holds (null included), in INSTALLATION_FIELDS order. */
function installationOf(deviceId: string, meta: string): InstallationMeta {
  const stored = JSON.parse(meta) as Record<string, string | null>;
  const installation: InstallationMeta = { device_id: deviceId };
  for (const field of INSTALLATION_FIELDS) if (Object.hasOwn(stored, field)) installation[field] = stored[field] ?? null;
  return installation;
}

/**
 * One page of profiles after `after`, in id order. The page's identifiers, custom attributes,
 * devices and Refund Saver settings are read with one range query each (profile ids from the
 * page's first to its last): every profile in that range is on the page, so the range holds
 * exactly the page's rows. Transactions and grants are read, one query per table, only for the
 * page's profiles whose `revenue_at` is set (the others have none).
 */
export async function exportPage(db: Db, appId: string, after: string | null, limit: number): Promise<ExportedProfile[]> {
  let query = db.selectFrom('profiles').selectAll().where('app_id', '=', appId).orderBy('id').limit(limit);
  if (after !== null) query = query.where('id', '>', after);
  const rows = await query.execute();
  if (rows.length === 0) return [];
  const first = rows[0]!.id;
  const last = rows[rows.length - 1]!.id;
  // The rows of the page's profiles, in a table that hangs off them.
  const inPage = (eb: ExpressionBuilder<Database, 'integration_identifiers' | 'custom_attributes' | 'installations' | 'refund_saver_settings'>) =>
    eb.and([eb('app_id', '=', appId), eb('profile_id', '>=', first), eb('profile_id', '<=', last)]);
  const withRevenue = rows.filter((row) => row.revenue_at !== null).map((row) => row.id);
  const [identifiers, custom, devices, refundSavers, revenue] = await Promise.all([
    db.selectFrom('integration_identifiers').select(['profile_id', 'key', 'value']).where(inPage).execute(),
    db.selectFrom('custom_attributes').select(['profile_id', 'key', 'value', 'is_number']).where(inPage).execute(),
    db.selectFrom('installations').select(['profile_id', 'device_id', 'meta']).where(inPage).execute(),
    db.selectFrom('refund_saver_settings').select(['profile_id', 'consent', 'custom_preference']).where(inPage).execute(),
    readRevenueOf(db, appId, withRevenue),
  ]);
  const profiles = new Map<string, ExportedProfile>();
  for (const row of rows) {
    profiles.set(row.id, {
      appId,
      profileId: row.id,
      customerUserId: row.customer_user_id,
      attributes: attributesOf(row),
      customAttributes: [],
      identifiers: {},
      installations: [],
      revenue: revenue.get(row.id) ?? NO_REVENUE,
      refundSaver: null,
    });
  }
  const found: Map<string, Map<IdentifierKey, string>> = new Map();
  for (const { profile_id, key, value } of identifiers) {
    if (!isIdentifierKey(key) || !profiles.has(profile_id)) continue;
    let keys = found.get(profile_id);
    if (!keys) found.set(profile_id, (keys = new Map()));
    keys.set(key, value);
  }
  for (const [profileId, keys] of found) {
    const target = profiles.get(profileId)!.identifiers;
    // In the vendor schema's order, whatever order the database returned.
    for (const key of IDENTIFIER_KEYS) {
      const value = keys.get(key);
      if (value !== undefined) target[key] = value;
    }
  }
  for (const { profile_id, key, value, is_number } of custom) {
    profiles.get(profile_id)?.customAttributes.push({ key, value: is_number === 1 ? Number(value) : value });
  }
  for (const { profile_id, device_id, meta } of devices) profiles.get(profile_id)?.installations.push(installationOf(device_id, meta));
  for (const { profile_id, consent, custom_preference } of refundSavers) {
    const profile = profiles.get(profile_id);
    if (profile) profile.refundSaver = { consent: consent === 1, customPreference: custom_preference as RefundPreference };
  }
  for (const { transactions, grants } of revenue.values()) {
    transactions.sort(byPurchase);
    grants.sort(byAccessLevel);
  }
  // Sorted by code point, like readProfile, so the order does not depend on the database's collation.
  for (const profile of profiles.values()) {
    profile.customAttributes.sort(byKey);
    profile.installations.sort(byDevice);
  }
  return [...profiles.values()];
}

export async function appStats(db: Db, appId: string): Promise<AppStats> {
  const [profiles, identifiers, keys] = await Promise.all([
    db
      .selectFrom('profiles')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('app_id', '=', appId)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('integration_identifiers')
      .select((eb) => ['key', eb.fn.countAll<number>().as('count')])
      .where('app_id', '=', appId)
      .groupBy('key')
      .execute(),
    db
      .selectFrom('api_keys')
      .select((eb) => [
        eb.fn.count<number>('id').as('total'),
        eb.fn.count<number>('revoked_at').as('revoked'),
      ])
      .where('app_id', '=', appId)
      .executeTakeFirstOrThrow(),
  ]);
  const perKey = Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, 0])) as Record<IdentifierKey, number>;
  for (const { key, count } of identifiers) if (isIdentifierKey(key)) perKey[key] = Number(count);
  return {
    profiles: Number(profiles.count),
    identifiers: perKey,
    apiKeys: { active: Number(keys.total) - Number(keys.revoked), revoked: Number(keys.revoked) },
  };
}

export async function databaseSize(dialect: Dialect): Promise<DatabaseSize> {
  const db = dialect.db;
  if (dialect.name === 'sqlite') {
    const { rows } = await sql<{ page_count: number; page_size: number; file: string }>`
      select page_count, page_size, (select file from pragma_database_list where name = 'main') as file
      from pragma_page_count(), pragma_page_size()`.execute(db);
    const { page_count, page_size, file } = rows[0]!;
    let walBytes = 0;
    if (file) {
      try {
        walBytes = fs.statSync(`${file}-wal`).size;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    const mainFileBytes = Number(page_count) * Number(page_size);
    return { dialect: 'sqlite', bytes: mainFileBytes + walBytes, file: file || ':memory:', mainFileBytes, walBytes };
  }
  const { rows } = await sql<{ schema: string; bytes: string | number | null }>`
    select current_schema() as schema,
      (select coalesce(sum(pg_total_relation_size(c.oid)), 0)
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relkind in ('r', 'p', 'm')) as bytes`.execute(db);
  return { dialect: 'postgres', bytes: Number(rows[0]!.bytes ?? 0), schema: rows[0]!.schema };
}
