import { randomUUID } from 'node:crypto';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { EventData, EventPayload, EventType } from '../domain/events.js';
import type { HistoryRecord, WriteActor } from '../domain/identifier-writes.js';
import type { ProfileAttributes } from '../domain/profile.js';
import type { Dialect } from './dialect.js';
import type { Database, ProfilesTable } from './schema.js';
import type { CustomAttributeRow, IdentifierRow, InstallationRow, NewProfile, ProfileUpdate } from './store.js';

/** Set-based queries for the import: many profiles' attributes, custom attributes and devices in a few statements. */

type Db = Kysely<Database>;

/** Rows per multi-row statement: well under SQLite's and PostgreSQL's limits on parameters. */
const CHUNK = 200;

const chunks = <T>(list: readonly T[], size = CHUNK): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

type ColumnType = 'text' | 'integer' | 'bigint';

/**
 * Inserts rows (each a list of values in `columns` order), followed by `tail` (an ON CONFLICT
 * clause, RETURNING). On PostgreSQL each column travels as one array parameter and the rows come
 * from unnest: one short statement whatever the number of rows, parsed and planned in no time. On
 * SQLite, which runs in the process, multi-row VALUES.
 */
async function insertRows<Row = never>(
  db: Db,
  dialect: Dialect,
  table: string,
  columns: readonly (readonly [string, ColumnType])[],
  rows: readonly unknown[][],
  tail: RawBuilder<unknown> = sql``,
): Promise<Row[]> {
  const answered: Row[] = [];
  const names = sql.join(columns.map(([name]) => sql.ref(name)));
  for (const part of chunks(rows, dialect.name === 'postgres' ? 5000 : Math.floor(2000 / columns.length))) {
    const source =
      dialect.name === 'postgres'
        ? sql`select * from unnest(${sql.join(columns.map(([, type], i) => sql`cast(${part.map((row) => row[i])} as ${sql.raw(type)}[])`))})`
        : sql`values ${sql.join(part.map((row) => sql`(${sql.join(row)})`))}`;
    const { rows: found } = await sql<Row>`insert into ${sql.table(table)} (${names}) ${source} ${tail}`.execute(db);
    answered.push(...found);
  }
  return answered;
}

const PROFILE_COLUMNS: Record<string, ColumnType> = { att_status: 'integer', analytics_disabled: 'integer' };
const typeOf = (name: string): ColumnType => PROFILE_COLUMNS[name] ?? 'text';

/** The profile columns of validated attributes (analytics_disabled is stored as 0/1). */
function columnsOf(attributes: Partial<ProfileAttributes>): Partial<ProfilesTable> {
  const { analytics_disabled, ...rest } = attributes;
  const columns: Partial<ProfilesTable> = { ...rest };
  if (analytics_disabled !== undefined) columns.analytics_disabled = analytics_disabled === null ? null : Number(analytics_disabled);
  return columns;
}

/** Every custom attribute of the given profiles. */
export async function customAttributesOf(db: Db, appId: string, profileIds: readonly string[]): Promise<CustomAttributeRow[]> {
  const rows: CustomAttributeRow[] = [];
  for (const part of chunks(profileIds, 500)) {
    const found = await db
      .selectFrom('custom_attributes')
      .select(['profile_id', 'key', 'value', 'is_number'])
      .where('app_id', '=', appId)
      .where('profile_id', 'in', part)
      .execute();
    for (const row of found) rows.push({ profileId: row.profile_id, key: row.key, value: row.value, isNumber: row.is_number === 1 });
  }
  return rows;
}

/** Every device of the given profiles, its meta as stored (JSON text). */
export async function installationsOf(db: Db, appId: string, profileIds: readonly string[]): Promise<InstallationRow[]> {
  const rows: InstallationRow[] = [];
  for (const part of chunks(profileIds, 500)) {
    const found = await db
      .selectFrom('installations')
      .select(['profile_id', 'device_id', 'meta'])
      .where('app_id', '=', appId)
      .where('profile_id', 'in', part)
      .execute();
    for (const row of found) rows.push({ profileId: row.profile_id, deviceId: row.device_id, meta: row.meta });
  }
  return rows;
}

/**
 * The profiles that hold each value under its key. On PostgreSQL the values are locked first (the
 * same lock as a single write's `otherHolders`, taken in one order), so that two writers of one
 * value cannot both see that nobody holds it.
 */
export async function holdersOf(db: Db, dialect: Dialect, appId: string, pairs: readonly { key: string; value: string }[]): Promise<IdentifierRow[]> {
  if (pairs.length === 0) return [];
  if (dialect.name === 'postgres') {
    const names = [...new Set(pairs.map(({ key, value }) => JSON.stringify([appId, key, value])))].sort();
    await sql`select pg_advisory_xact_lock(hashtextextended(s.n, 0)) from (select n from unnest(cast(${names} as text[])) as n order by n) as s`.execute(db);
  }
  const byKey = new Map<string, string[]>();
  for (const { key, value } of pairs) byKey.set(key, [...(byKey.get(key) ?? []), value]);
  const rows: IdentifierRow[] = [];
  for (const [key, values] of byKey) {
    for (const part of chunks([...new Set(values)], 500)) {
      const found = await db
        .selectFrom('integration_identifiers')
        .select(['profile_id', 'value'])
        .where('app_id', '=', appId)
        .where('key', '=', key)
        .where('value', 'in', part)
        .execute();
      for (const row of found) rows.push({ profileId: row.profile_id, key, value: row.value });
    }
  }
  return rows;
}

const ATTRIBUTE_COLUMNS = [
  'first_name', 'last_name', 'gender', 'email', 'phone_number', 'birthday', 'ip_country', 'ip_v4_address',
  'store_country', 'store', 'store_account_token', 'att_status', 'analytics_disabled',
] as const;

/** Inserts profiles with their attributes, skipping any that exists by id or customer user id; answers the ids inserted. */
export async function insertProfiles(db: Db, dialect: Dialect, appId: string, profiles: readonly NewProfile[], now: number): Promise<string[]> {
  // In one order, so that two writers creating the same profiles wait for each other instead of deadlocking.
  const order = (profile: NewProfile) => `${profile.customerUserId ?? ''}\u0000${profile.id}`;
  const sorted = [...profiles].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  const columns = [['app_id', 'text'], ['id', 'text'], ['customer_user_id', 'text'], ...ATTRIBUTE_COLUMNS.map((name) => [name, typeOf(name)] as const), ['created_at', 'bigint'], ['updated_at', 'bigint']] as const;
  const rows = sorted.map((profile) => {
    const set = columnsOf(profile.attributes) as Record<string, unknown>;
    return [appId, profile.id, profile.customerUserId, ...ATTRIBUTE_COLUMNS.map((name) => set[name] ?? null), now, now];
  });
  const inserted = await insertRows<{ id: string }>(db, dialect, 'profiles', columns, rows, sql`on conflict do nothing returning id`);
  return inserted.map((row) => row.id);
}

/**
 * Sets the named attributes of existing profiles, and their updated_at. Profiles that name the
 * same attributes share a statement: an upsert on the primary key of profiles the caller holds, so
 * it always updates.
 */
export async function updateProfiles(db: Db, dialect: Dialect, appId: string, updates: readonly ProfileUpdate[], now: number): Promise<void> {
  const byShape = new Map<string, { id: string; columns: Record<string, unknown> }[]>();
  for (const { id, attributes } of updates) {
    const columns = columnsOf(attributes) as Record<string, unknown>;
    const shape = Object.keys(columns).sort().join(',');
    byShape.set(shape, [...(byShape.get(shape) ?? []), { id, columns }]);
  }
  for (const [shape, rows] of byShape) {
    const names = shape === '' ? [] : shape.split(',');
    const set = sql.join([...names, 'updated_at'].map((name) => sql`${sql.ref(name)} = excluded.${sql.ref(name)}`));
    await insertRows(
      db,
      dialect,
      'profiles',
      [['app_id', 'text'], ['id', 'text'], ...names.map((name) => [name, typeOf(name)] as const), ['created_at', 'bigint'], ['updated_at', 'bigint']],
      rows.map(({ id, columns }) => [appId, id, ...names.map((name) => columns[name]), now, now]),
      sql`on conflict (app_id, id) do update set ${set}`,
    );
  }
}

/** Deletes the given custom attributes and upserts the others. */
export async function writeCustomAttributes(db: Db, dialect: Dialect, appId: string, removals: readonly { profileId: string; key: string }[], upserts: readonly CustomAttributeRow[]) {
  const byProfile = new Map<string, string[]>();
  for (const { profileId, key } of removals) byProfile.set(profileId, [...(byProfile.get(profileId) ?? []), key]);
  for (const [profileId, keys] of byProfile) {
    await db.deleteFrom('custom_attributes').where('app_id', '=', appId).where('profile_id', '=', profileId).where('key', 'in', keys).execute();
  }
  await insertRows(
    db,
    dialect,
    'custom_attributes',
    [['app_id', 'text'], ['profile_id', 'text'], ['key', 'text'], ['value', 'text'], ['is_number', 'integer']],
    upserts.map((row) => [appId, row.profileId, row.key, row.value, row.isNumber ? 1 : 0]),
    sql`on conflict (app_id, profile_id, key) do update set value = excluded.value, is_number = excluded.is_number`,
  );
}

/** Writes devices (insert or replace the meta), in multi-row statements. */
export async function upsertInstallations(db: Db, dialect: Dialect, appId: string, rows: readonly InstallationRow[], now: number): Promise<void> {
  await insertRows(
    db,
    dialect,
    'installations',
    [['app_id', 'text'], ['profile_id', 'text'], ['device_id', 'text'], ['meta', 'text'], ['updated_at', 'bigint']],
    rows.map((row) => [appId, row.profileId, row.deviceId, row.meta, now]),
    sql`on conflict (app_id, profile_id, device_id) do update set meta = excluded.meta, updated_at = excluded.updated_at`,
  );
}

/**
 * writeIdentifierRows (identifier-bulk-queries.ts) in fewer statements: the deletes by key, then
 * every upsert at once. The caller holds every profile it writes.
 */
export async function writeIdentifiers(
  db: Db,
  dialect: Dialect,
  appId: string,
  upserts: readonly IdentifierRow[],
  clears: ReadonlyMap<string, readonly string[]>,
  now: number,
): Promise<void> {
  for (const [key, owners] of clears) {
    for (const part of chunks(owners, 500)) {
      await db.deleteFrom('integration_identifiers').where('app_id', '=', appId).where('key', '=', key).where('profile_id', 'in', part).execute();
    }
  }
  await insertRows(
    db,
    dialect,
    'integration_identifiers',
    [['app_id', 'text'], ['profile_id', 'text'], ['key', 'text'], ['value', 'text'], ['updated_at', 'bigint']],
    upserts.map((row) => [appId, row.profileId, row.key, row.value, now]),
    sql`on conflict (app_id, profile_id, key) do update set value = excluded.value, updated_at = excluded.updated_at`,
  );
}

/** appendHistory (history-queries.ts) in fewer statements; entries keep their order. */
export async function appendHistory(db: Db, dialect: Dialect, appId: string, actor: WriteActor, entries: readonly HistoryRecord[], now: number): Promise<void> {
  await insertRows(
    db,
    dialect,
    'identifier_history',
    [
      ['app_id', 'text'], ['profile_id', 'text'], ['key', 'text'], ['kind', 'text'], ['old_value', 'text'], ['new_value', 'text'],
      ['other_profile_id', 'text'], ['source', 'text'], ['api_key_id', 'text'], ['request_id', 'text'], ['changed_at', 'bigint'],
    ],
    entries.map((e) => [appId, e.profileId, e.key, e.kind, e.oldValue, e.newValue, e.otherProfileId, actor.source, actor.apiKeyId, actor.requestId, now]),
  );
}

/**
 * recordEvent (outbox.ts) for many events at once: each event some endpoint of the app subscribes
 * to is stored with one pending delivery per such endpoint, deliveries in the events' order; the
 * others store nothing. Answers the types of the events stored, one entry per event.
 */
export async function recordEvents(db: Db, dialect: Dialect, appId: string, events: readonly { type: EventType; data: EventData }[], now: number): Promise<string[]> {
  const subscriptions = await db.selectFrom('webhook_subscriptions').select(['event_type', 'endpoint_id']).where('app_id', '=', appId).orderBy('endpoint_id').execute();
  const endpoints = new Map<string, string[]>();
  for (const { event_type, endpoint_id } of subscriptions) endpoints.set(event_type, [...(endpoints.get(event_type) ?? []), endpoint_id]);
  const stored: unknown[][] = [];
  const deliveries: unknown[][] = [];
  const types: string[] = [];
  const createdAt = new Date(now).toISOString();
  for (const { type, data } of events) {
    const subscribed = endpoints.get(type);
    if (!subscribed) continue;
    const id = randomUUID();
    const payload: EventPayload = { id, type, created_at: createdAt, app_id: appId, data };
    stored.push([appId, id, type, data.profile_id, JSON.stringify(payload), now]);
    for (const endpointId of subscribed) deliveries.push([appId, endpointId, id, data.profile_id, 'pending', 0, now, now]);
    types.push(type);
  }
  await insertRows(db, dialect, 'webhook_events', [['app_id', 'text'], ['id', 'text'], ['type', 'text'], ['profile_id', 'text'], ['payload', 'text'], ['created_at', 'bigint']], stored);
  await insertRows(
    db,
    dialect,
    'webhook_deliveries',
    [['app_id', 'text'], ['endpoint_id', 'text'], ['event_id', 'text'], ['profile_id', 'text'], ['status', 'text'], ['attempts', 'integer'], ['next_attempt_at', 'bigint'], ['created_at', 'bigint']],
    deliveries,
  );
  return types;
}
