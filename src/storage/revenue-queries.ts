import type { Kysely } from 'kysely';
import {
  type AccessGrant,
  type Environment,
  type Offer,
  type Product,
  type ProfileRevenue,
  type PurchaseType,
  type RefundPreference,
  type RefundSaverSettings,
  type TransactionRecord,
  type UnknownAccessLevelMode,
} from '../domain/revenue.js';
import type { AccessGrantsTable, Database, TransactionsTable } from './schema.js';

type Db = Kysely<Database>;

const bool = (value: number | null) => (value === null ? null : value === 1);
const int = (value: boolean) => (value ? 1 : 0);

export function toTransaction(row: TransactionsTable): TransactionRecord {
  return {
    profileId: row.profile_id,
    purchaseId: row.purchase_id,
    purchaseType: row.purchase_type as PurchaseType,
    store: row.store,
    storeProductId: row.store_product_id,
    storeBasePlanId: row.store_base_plan_id,
    storeTransactionId: row.store_transaction_id,
    storeOriginalTransactionId: row.store_original_transaction_id,
    environment: row.environment as Environment,
    isFamilyShared: row.is_family_shared === 1,
    price: { country: row.price_country, currency: row.price_currency, value: Number(row.price_value) },
    priceUsd: row.price_usd === null ? null : Number(row.price_usd),
    purchasedAt: Number(row.purchased_at),
    originallyPurchasedAt: numberOrNull(row.originally_purchased_at),
    expiresAt: numberOrNull(row.expires_at),
    renewStatus: bool(row.renew_status),
    renewStatusChangedAt: numberOrNull(row.renew_status_changed_at),
    billingIssueDetectedAt: numberOrNull(row.billing_issue_detected_at),
    gracePeriodExpiresAt: numberOrNull(row.grace_period_expires_at),
    variationId: row.variation_id,
    offer: row.offer === null ? null : (JSON.parse(row.offer) as Offer),
    refundedAt: numberOrNull(row.refunded_at),
    cancellationReason: row.cancellation_reason,
    accessLevelId: row.access_level_id,
    isConsumable: row.is_consumable === 1,
    accessEndsAt: numberOrNull(row.access_ends_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

// PostgreSQL's driver answers bigint columns as strings.
function numberOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

function toRow(appId: string, record: TransactionRecord): TransactionsTable {
  return {
    app_id: appId,
    store: record.store,
    store_transaction_id: record.storeTransactionId,
    profile_id: record.profileId,
    purchase_id: record.purchaseId,
    purchase_type: record.purchaseType,
    store_product_id: record.storeProductId,
    store_base_plan_id: record.storeBasePlanId,
    store_original_transaction_id: record.storeOriginalTransactionId,
    environment: record.environment,
    is_family_shared: int(record.isFamilyShared),
    price_country: record.price.country,
    price_currency: record.price.currency,
    price_value: record.price.value,
    price_usd: record.priceUsd,
    purchased_at: record.purchasedAt,
    originally_purchased_at: record.originallyPurchasedAt,
    expires_at: record.expiresAt,
    renew_status_changed_at: record.renewStatusChangedAt,
    billing_issue_detected_at: record.billingIssueDetectedAt,
    grace_period_expires_at: record.gracePeriodExpiresAt,
    refunded_at: record.refundedAt,
    access_ends_at: record.accessEndsAt,
    renew_status: record.renewStatus === null ? null : int(record.renewStatus),
    variation_id: record.variationId,
    offer: record.offer === null ? null : JSON.stringify(record.offer),
    cancellation_reason: record.cancellationReason,
    access_level_id: record.accessLevelId,
    is_consumable: int(record.isConsumable),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

export const toGrant = (row: AccessGrantsTable): AccessGrant => ({
  profileId: row.profile_id,
  accessLevelId: row.access_level_id,
  startsAt: numberOrNull(row.starts_at),
  expiresAt: numberOrNull(row.expires_at),
  accessEndsAt: numberOrNull(row.access_ends_at),
  grantedAt: Number(row.granted_at),
});

/** Every transaction and grant of one profile. */
export async function readRevenue(db: Db, appId: string, profileId: string): Promise<ProfileRevenue> {
  const [transactions, grants] = await Promise.all([
    db.selectFrom('transactions').selectAll().where('app_id', '=', appId).where('profile_id', '=', profileId).execute(),
    db.selectFrom('access_grants').selectAll().where('app_id', '=', appId).where('profile_id', '=', profileId).execute(),
  ]);
  return { transactions: transactions.map(toTransaction), grants: grants.map(toGrant) };
}

/** The revenue of many profiles of one app at once (the export), by profile id. */
export async function readRevenueOf(db: Db, appId: string, profileIds: readonly string[]): Promise<Map<string, ProfileRevenue>> {
  const byProfile = new Map<string, ProfileRevenue>();
  if (profileIds.length === 0) return byProfile;
  const of = (profileId: string) => {
    let revenue = byProfile.get(profileId);
    if (!revenue) byProfile.set(profileId, (revenue = { transactions: [], grants: [] }));
    return revenue;
  };
  const transactions = await db.selectFrom('transactions').selectAll().where('app_id', '=', appId).where('profile_id', 'in', profileIds).execute();
  for (const row of transactions) of(row.profile_id).transactions.push(toTransaction(row));
  const grants = await db.selectFrom('access_grants').selectAll().where('app_id', '=', appId).where('profile_id', 'in', profileIds).execute();
  for (const row of grants) of(row.profile_id).grants.push(toGrant(row));
  return byProfile;
}

export async function findTransaction(db: Db, appId: string, store: string, storeTransactionId: string): Promise<TransactionRecord | null> {
  const row = await db
    .selectFrom('transactions')
    .selectAll()
    .where('app_id', '=', appId)
    .where('store', '=', store)
    .where('store_transaction_id', '=', storeTransactionId)
    .executeTakeFirst();
  return row ? toTransaction(row) : null;
}

/** Inserts the transaction, or replaces the stored one with the same store and store transaction id. */
export async function saveTransaction(db: Db, appId: string, record: TransactionRecord): Promise<void> {
  const row = toRow(appId, record);
  const { app_id: _app, store: _store, store_transaction_id: _id, purchase_id: _purchase, created_at: _created, ...changed } = row;
  await db
    .insertInto('transactions')
    .values(row)
    .onConflict((conflict) => conflict.columns(['app_id', 'store', 'store_transaction_id']).doUpdateSet(changed))
    .execute();
}

/** Records that the profile has revenue data (its reads then include the revenue tables). */
export async function markRevenue(db: Db, appId: string, profileId: string, now: number): Promise<void> {
  await db
    .updateTable('profiles')
    .set({ revenue_at: now })
    .where('app_id', '=', appId)
    .where('id', '=', profileId)
    .where('revenue_at', 'is', null)
    .execute();
}

export async function saveGrant(db: Db, appId: string, grant: AccessGrant): Promise<void> {
  const row = {
    app_id: appId,
    profile_id: grant.profileId,
    access_level_id: grant.accessLevelId,
    starts_at: grant.startsAt,
    expires_at: grant.expiresAt,
    access_ends_at: grant.accessEndsAt,
    granted_at: grant.grantedAt,
  };
  const { app_id: _app, profile_id: _profile, access_level_id: _level, ...changed } = row;
  await db
    .insertInto('access_grants')
    .values(row)
    .onConflict((conflict) => conflict.columns(['app_id', 'profile_id', 'access_level_id']).doUpdateSet(changed))
    .execute();
}

/** Ends the access that every current transaction and grant of one level gives the profile at `at`. */
export async function endAccess(db: Db, appId: string, profileId: string, accessLevelId: string, at: number): Promise<void> {
  for (const table of ['transactions', 'access_grants'] as const) {
    await db
      .updateTable(table)
      .set({ access_ends_at: at })
      .where('app_id', '=', appId)
      .where('profile_id', '=', profileId)
      .where('access_level_id', '=', accessLevelId)
      .execute();
  }
}

export async function readRefundSaver(db: Db, appId: string, profileId: string): Promise<RefundSaverSettings | null> {
  const row = await db
    .selectFrom('refund_saver_settings')
    .select(['consent', 'custom_preference'])
    .where('app_id', '=', appId)
    .where('profile_id', '=', profileId)
    .executeTakeFirst();
  return row ? { consent: row.consent === 1, customPreference: row.custom_preference as RefundPreference } : null;
}

export async function saveRefundSaver(db: Db, appId: string, profileId: string, settings: RefundSaverSettings, now: number): Promise<void> {
  const values = { consent: int(settings.consent), custom_preference: settings.customPreference, updated_at: now };
  await db
    .insertInto('refund_saver_settings')
    .values({ app_id: appId, profile_id: profileId, ...values })
    .onConflict((conflict) => conflict.columns(['app_id', 'profile_id']).doUpdateSet(values))
    .execute();
}

/** Sets (or, with null, removes) when the clock looks at one access level of a profile again. */
export async function setClock(db: Db, appId: string, profileId: string, accessLevelId: string, dueAt: number | null): Promise<void> {
  if (dueAt === null) {
    await db
      .deleteFrom('access_level_clock')
      .where('app_id', '=', appId)
      .where('profile_id', '=', profileId)
      .where('access_level_id', '=', accessLevelId)
      .execute();
    return;
  }
  await db
    .insertInto('access_level_clock')
    .values({ app_id: appId, profile_id: profileId, access_level_id: accessLevelId, due_at: dueAt })
    .onConflict((conflict) => conflict.columns(['app_id', 'profile_id', 'access_level_id']).doUpdateSet({ due_at: dueAt }))
    .execute();
}

/** One access level whose start or end is due. */
export interface DueAccessChange {
  appId: string;
  profileId: string;
  accessLevelId: string;
  dueAt: number;
}

export async function dueClocks(db: Db, now: number, limit: number): Promise<DueAccessChange[]> {
  const rows = await db.selectFrom('access_level_clock').selectAll().where('due_at', '<=', now).orderBy('due_at').limit(limit).execute();
  return rows.map((row) => ({ appId: row.app_id, profileId: row.profile_id, accessLevelId: row.access_level_id, dueAt: Number(row.due_at) }));
}

/**
 * Takes a due entry off the clock; false when another process took it first (or it was moved).
 * On PostgreSQL the delete waits for a process that is taking it, then finds nothing.
 */
export async function takeClock(db: Db, due: DueAccessChange): Promise<boolean> {
  const result = await db
    .deleteFrom('access_level_clock')
    .where('app_id', '=', due.appId)
    .where('profile_id', '=', due.profileId)
    .where('access_level_id', '=', due.accessLevelId)
    .where('due_at', '=', due.dueAt)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The configuration that decides what a transaction or grant unlocks: read in the write's transaction. */
export async function unknownAccessLevelMode(db: Db, appId: string): Promise<UnknownAccessLevelMode> {
  const row = await db.selectFrom('revenue_settings').select('unknown_access_levels').where('app_id', '=', appId).executeTakeFirst();
  return (row?.unknown_access_levels as UnknownAccessLevelMode | undefined) ?? 'create';
}

export async function setUnknownAccessLevelMode(db: Db, appId: string, mode: UnknownAccessLevelMode, now: number): Promise<void> {
  await db
    .insertInto('revenue_settings')
    .values({ app_id: appId, unknown_access_levels: mode, updated_at: now })
    .onConflict((conflict) => conflict.column('app_id').doUpdateSet({ unknown_access_levels: mode, updated_at: now }))
    .execute();
}

export async function accessLevelExists(db: Db, appId: string, id: string): Promise<boolean> {
  return (await db.selectFrom('paid_access_levels').select('id').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst()) !== undefined;
}

/** Configures an access level; false when it already was. */
export async function addAccessLevel(db: Db, appId: string, id: string, now: number): Promise<boolean> {
  const result = await db
    .insertInto('paid_access_levels')
    .values({ app_id: appId, id, created_at: now })
    .onConflict((conflict) => conflict.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function listAccessLevels(db: Db, appId: string): Promise<{ id: string; createdAt: number }[]> {
  const rows = await db.selectFrom('paid_access_levels').select(['id', 'created_at']).where('app_id', '=', appId).orderBy('id').execute();
  return rows.map((row) => ({ id: row.id, createdAt: Number(row.created_at) }));
}

export async function removeAccessLevel(db: Db, appId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('paid_access_levels').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function findProduct(db: Db, appId: string, storeProductId: string): Promise<Product | null> {
  const row = await db
    .selectFrom('products')
    .select(['store_product_id', 'access_level_id', 'is_consumable'])
    .where('app_id', '=', appId)
    .where('store_product_id', '=', storeProductId)
    .executeTakeFirst();
  return row ? { storeProductId: row.store_product_id, accessLevelId: row.access_level_id, isConsumable: row.is_consumable === 1 } : null;
}

export async function saveProduct(db: Db, appId: string, product: Product, now: number): Promise<void> {
  const values = { access_level_id: product.accessLevelId, is_consumable: int(product.isConsumable), updated_at: now };
  await db
    .insertInto('products')
    .values({ app_id: appId, store_product_id: product.storeProductId, ...values })
    .onConflict((conflict) => conflict.columns(['app_id', 'store_product_id']).doUpdateSet(values))
    .execute();
}

export async function listProducts(db: Db, appId: string): Promise<Product[]> {
  const rows = await db
    .selectFrom('products')
    .select(['store_product_id', 'access_level_id', 'is_consumable'])
    .where('app_id', '=', appId)
    .orderBy('store_product_id')
    .execute();
  return rows.map((row) => ({ storeProductId: row.store_product_id, accessLevelId: row.access_level_id, isConsumable: row.is_consumable === 1 }));
}

export async function removeProduct(db: Db, appId: string, storeProductId: string): Promise<boolean> {
  const result = await db.deleteFrom('products').where('app_id', '=', appId).where('store_product_id', '=', storeProductId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** US dollars per unit of `currency` (1 for USD), or null when the operator set no rate. */
export async function usdRate(db: Db, appId: string, currency: string): Promise<number | null> {
  if (currency === 'USD') return 1;
  const row = await db
    .selectFrom('currency_rates')
    .select('usd_per_unit')
    .where('app_id', '=', appId)
    .where('currency', '=', currency)
    .executeTakeFirst();
  return row ? Number(row.usd_per_unit) : null;
}

export async function setRate(db: Db, appId: string, currency: string, usdPerUnit: number, now: number): Promise<void> {
  await db
    .insertInto('currency_rates')
    .values({ app_id: appId, currency, usd_per_unit: usdPerUnit, updated_at: now })
    .onConflict((conflict) => conflict.columns(['app_id', 'currency']).doUpdateSet({ usd_per_unit: usdPerUnit, updated_at: now }))
    .execute();
}

export async function listRates(db: Db, appId: string): Promise<{ currency: string; usdPerUnit: number; updatedAt: number }[]> {
  const rows = await db.selectFrom('currency_rates').selectAll().where('app_id', '=', appId).orderBy('currency').execute();
  return rows.map((row) => ({ currency: row.currency, usdPerUnit: Number(row.usd_per_unit), updatedAt: Number(row.updated_at) }));
}

export async function removeRate(db: Db, appId: string, currency: string): Promise<boolean> {
  const result = await db.deleteFrom('currency_rates').where('app_id', '=', appId).where('currency', '=', currency).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Revenue counts of one app, for `crosswalk stats`. */
export async function revenueStats(db: Db, appId: string) {
  const rows = await db
    .selectFrom('transactions')
    .select((eb) => [
      'store',
      'environment',
      eb.fn.countAll<number>().as('count'),
      eb.fn.count<number>('refunded_at').as('refunded'),
      eb.fn.sum<number>(eb.case().when('refunded_at', 'is', null).then(eb.ref('price_usd')).else(null).end()).as('usd'),
    ])
    .where('app_id', '=', appId)
    .groupBy(['store', 'environment'])
    .orderBy('store')
    .orderBy('environment')
    .execute();
  const grants = await db
    .selectFrom('access_grants')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('app_id', '=', appId)
    .executeTakeFirstOrThrow();
  return {
    transactions: rows.map((row) => ({
      store: row.store,
      environment: row.environment,
      count: Number(row.count),
      refunded: Number(row.refunded),
      revenueUsd: row.usd === null ? 0 : Number(row.usd),
    })),
    grants: Number(grants.count),
  };
}
