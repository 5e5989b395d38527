import { randomUUID } from 'node:crypto';
import type { Kysely, SelectQueryBuilder } from 'kysely';
import { CustomAttributeLimitError, CustomerUserIdTakenError } from '../errors.js';
import {
  ATTRIBUTE_NAMES,
  type CustomAttribute,
  MAX_CUSTOM_ATTRIBUTES,
  type ProfileAddress,
  type ProfileAttributes,
  type ProfilePatch,
  type ProfileRecord,
} from '../domain/profile.js';
import { NO_REVENUE, type ProfileRevenue } from '../domain/revenue.js';
import type { Dialect } from './dialect.js';
import { addressShape, preparedQuery } from './prepared.js';
import { readRevenue } from './revenue-queries.js';
import type { Database, ProfilesTable } from './schema.js';
import type { ProfileRef } from './store.js';

type Db = Kysely<Database>;

/** Narrows a query on `profiles` to the addressed profile of one app. */
export function whereAddress<O>(
  query: SelectQueryBuilder<Database, 'profiles', O>,
  appId: string,
  address: ProfileAddress,
): SelectQueryBuilder<Database, 'profiles', O> {
  let narrowed = query.where('profiles.app_id', '=', appId);
  if (address.profileId !== undefined) narrowed = narrowed.where('profiles.id', '=', address.profileId);
  if (address.customerUserId !== undefined) {
    narrowed = narrowed.where('profiles.customer_user_id', '=', address.customerUserId);
  }
  return narrowed;
}

/** An address of the given shape made of stand-in values, for preparing a query. */
export function shapedAddress(shape: string, profileId: string, customerUserId: string): ProfileAddress {
  const address: ProfileAddress = {};
  if (shape.includes('p')) address.profileId = profileId;
  if (shape.includes('c')) address.customerUserId = customerUserId;
  return address;
}

/**
 * The addressed profile's id and customer user id, held for the rest of the transaction: FOR UPDATE
 * on PostgreSQL; on SQLite the transaction already holds the database's one write lock.
 */
export async function selectProfileForWrite(db: Db, dialect: Dialect, appId: string, address: ProfileAddress): Promise<ProfileRef | null> {
  const shape = addressShape(address);
  const query = preparedQuery(dialect.prepared, `profile:for-write:${shape}`, 3, (app, profileId, customerUserId) => {
    const select = whereAddress(dialect.db.selectFrom('profiles').select(['id', 'customer_user_id']), app!, shapedAddress(shape, profileId!, customerUserId!));
    return dialect.lockForUpdate ? select.forUpdate() : select;
  });
  const [row] = await query.execute(db, [appId, address.profileId, address.customerUserId]);
  return row ? { id: row.id, customerUserId: row.customer_user_id } : null;
}

/** The profile attributes of a stored row, in their wire types. */
export function attributesOf(row: ProfilesTable): ProfileAttributes {
  const attributes = {} as Record<keyof ProfileAttributes, unknown>;
  for (const name of ATTRIBUTE_NAMES) attributes[name] = row[name];
  attributes.analytics_disabled = row.analytics_disabled === null ? null : row.analytics_disabled === 1;
  return attributes as ProfileAttributes;
}

function toRecord(row: ProfilesTable, custom: CustomAttribute[], revenue: ProfileRevenue): ProfileRecord {
  return { appId: row.app_id, profileId: row.id, customerUserId: row.customer_user_id, attributes: attributesOf(row), customAttributes: custom, revenue };
}

/** The profile; `known` is its revenue when the caller already holds it (a write that just made it), which is then not read again. */
export async function readProfile(db: Db, appId: string, address: ProfileAddress, known?: ProfileRevenue): Promise<ProfileRecord | null> {
  const row = await whereAddress(db.selectFrom('profiles').selectAll(), appId, address).executeTakeFirst();
  if (!row) return null;
  const custom = await db
    .selectFrom('custom_attributes')
    .select(['key', 'value', 'is_number'])
    .where('app_id', '=', appId)
    .where('profile_id', '=', row.id)
    .execute();
  // Sorted here, by code point, so the order does not depend on the database's collation.
  custom.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // Most profiles never buy anything: their reads skip the revenue tables.
  const revenue = known ?? (row.revenue_at === null ? NO_REVENUE : await readRevenue(db, appId, row.id));
  return toRecord(
    row,
    custom.map(({ key, value, is_number }) => ({ key, value: is_number === 1 ? Number(value) : value })),
    revenue,
  );
}

async function insertProfile(db: Db, appId: string, id: string, customerUserId: string | null): Promise<boolean> {
  const now = Date.now();
  const result = await db
    .insertInto('profiles')
    .values({ app_id: appId, id, customer_user_id: customerUserId, created_at: now, updated_at: now })
    .onConflict((conflict) => conflict.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Gives an existing profile the customer user id, unless another profile of the app holds it. */
async function attach(db: Db, dialect: Dialect, appId: string, profileId: string, customerUserId: string) {
  const holder = (await selectProfileForWrite(db, dialect, appId, { customerUserId }))?.id ?? null;
  if (holder === profileId) return;
  if (holder !== null) throw new CustomerUserIdTakenError();
  try {
    await db
      .updateTable('profiles')
      .set({ customer_user_id: customerUserId, updated_at: Date.now() })
      .where('app_id', '=', appId)
      .where('id', '=', profileId)
      .execute();
  } catch (error) {
    if (dialect.isUniqueViolation(error)) throw new CustomerUserIdTakenError();
    throw error;
  }
}

/**
 * Finds or creates the addressed profile (the create operation's rules); returns its id and
 * whether this call created it.
 */
export async function ensureProfileRow(
  db: Db,
  dialect: Dialect,
  appId: string,
  address: ProfileAddress,
): Promise<{ id: string; created: boolean }> {
  const { profileId, customerUserId } = address;
  if (profileId !== undefined) {
    const existed = (await selectProfileForWrite(db, dialect, appId, { profileId })) !== null;
    if (!existed && (await insertProfile(db, appId, profileId, customerUserId ?? null))) return { id: profileId, created: true };
    // The profile exists (perhaps created concurrently a moment ago), or the insert hit a
    // customer user id that another profile holds.
    if (customerUserId !== undefined) {
      if (!existed && !(await selectProfileForWrite(db, dialect, appId, { profileId }))) {
        throw new CustomerUserIdTakenError();
      }
      await attach(db, dialect, appId, profileId, customerUserId);
    }
    return { id: profileId, created: false };
  }
  if (customerUserId === undefined) throw new Error('a profile address needs an id or a customer user id');
  const created = await insertProfile(db, appId, randomUUID(), customerUserId);
  const id = (await selectProfileForWrite(db, dialect, appId, { customerUserId }))?.id ?? null;
  if (id === null) throw new Error('profile vanished while it was being created');
  return { id, created };
}

/** Applies a validated patch to a profile that the transaction has already found (and locked). */
export async function applyPatch(db: Db, appId: string, profileId: string, patch: ProfilePatch): Promise<void> {
  const now = Date.now();
  const { analytics_disabled, ...rest } = patch.attributes;
  const set: Partial<ProfilesTable> = { ...rest, updated_at: now };
  if (analytics_disabled !== undefined) set.analytics_disabled = analytics_disabled === null ? null : Number(analytics_disabled);
  await db.updateTable('profiles').set(set).where('app_id', '=', appId).where('id', '=', profileId).execute();
  if (patch.customAttributes !== undefined) await applyCustomAttributes(db, appId, profileId, patch.customAttributes);
  if (patch.installation) await upsertInstallation(db, appId, profileId, patch.installation, now);
}

async function applyCustomAttributes(
  db: Db,
  appId: string,
  profileId: string,
  changes: NonNullable<ProfilePatch['customAttributes']> | null,
) {
  const owned = db.deleteFrom('custom_attributes').where('app_id', '=', appId).where('profile_id', '=', profileId);
  if (changes === null) {
    await owned.execute();
    return;
  }
  // Later entries for the same key win, as they would if sent one after the other.
  const latest = new Map(changes.map((change) => [change.key, change.value]));
  const removed = [...latest].filter(([, value]) => value === null).map(([key]) => key);
  const written = [...latest].flatMap(([key, value]) =>
    value === null ? [] : [{ app_id: appId, profile_id: profileId, key, value: String(value), is_number: typeof value === 'number' ? 1 : 0 }],
  );
  if (removed.length > 0) await owned.where('key', 'in', removed).execute();
  if (written.length === 0) return;
  await db
    .insertInto('custom_attributes')
    .values(written)
    .onConflict((conflict) =>
      conflict.columns(['app_id', 'profile_id', 'key']).doUpdateSet((eb) => ({
        value: eb.ref('excluded.value'),
        is_number: eb.ref('excluded.is_number'),
      })),
    )
    .execute();
  const { count } = await db
    .selectFrom('custom_attributes')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('app_id', '=', appId)
    .where('profile_id', '=', profileId)
    .executeTakeFirstOrThrow();
  if (Number(count) > MAX_CUSTOM_ATTRIBUTES) throw new CustomAttributeLimitError(MAX_CUSTOM_ATTRIBUTES);
}

async function upsertInstallation(
  db: Db,
  appId: string,
  profileId: string,
  installation: NonNullable<ProfilePatch['installation']>,
  now: number,
) {
  const { device_id, ...fields } = installation;
  const existing = await db
    .selectFrom('installations')
    .select('meta')
    .where('app_id', '=', appId)
    .where('profile_id', '=', profileId)
    .where('device_id', '=', device_id)
    .executeTakeFirst();
  const meta = JSON.stringify({ ...(existing ? (JSON.parse(existing.meta) as object) : {}), ...fields });
  await db
    .insertInto('installations')
    .values({ app_id: appId, profile_id: profileId, device_id, meta, updated_at: now })
    .onConflict((conflict) =>
      conflict.columns(['app_id', 'profile_id', 'device_id']).doUpdateSet({ meta, updated_at: now }),
    )
    .execute();
}

/** Removes a profile and everything that hangs off it: identifier history, purchases, grants and settings included. */
export async function deleteProfileRows(db: Db, appId: string, profileId: string): Promise<void> {
  const tables = [
    'integration_identifiers', 'identifier_history', 'custom_attributes', 'installations',
    'transactions', 'access_grants', 'refund_saver_settings', 'access_level_clock',
  ] as const;
  for (const table of tables) {
    await db.deleteFrom(table).where('app_id', '=', appId).where('profile_id', '=', profileId).execute();
  }
  await db.deleteFrom('profiles').where('app_id', '=', appId).where('id', '=', profileId).execute();
}
