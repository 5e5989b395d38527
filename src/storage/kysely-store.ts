import { randomUUID } from 'node:crypto';
import { type Compilable, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import { apiKeyHint, hashApiKey } from '../domain/api-keys.js';
import { AppNameTakenError } from '../errors.js';
import { type IdentifierChanges, type IdentifierSet, identifierSet } from '../domain/identifiers.js';
import type { ProfilePatch, ProfileRecord } from '../domain/profile.js';
import { type Dialect, openDialect, type QueryObserver } from './dialect.js';
import { GroupCommit, type WriteWork } from './group-commit.js';
import { migrateToLatest } from './migrations.js';
import { appStats, databaseSize, exportPage, importItems } from './bulk-queries.js';
import { addressShape, preparedQuery } from './prepared.js';
import { writeIdentifiers } from './identifier-queries.js';
import { applyPatch, deleteProfileRows, ensureProfileRow, lockProfile, readProfile, shapedAddress, whereAddress } from './profile-queries.js';
import type { ApiKeysTable, AppsTable } from './schema.js';
import type { ApiKeyInfo, App, ImportItem, KeyOwner, ProfileAddress, Store } from './store.js';

const toApp = (row: AppsTable): App => ({ id: row.id, name: row.name, createdAt: row.created_at });

const toKey = (row: Omit<ApiKeysTable, 'key_hash'>): ApiKeyInfo => ({
  id: row.id,
  appId: row.app_id,
  name: row.name,
  hint: row.hint,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

const KEY_COLUMNS = ['id', 'app_id', 'name', 'hint', 'created_at', 'revoked_at'] as const;

/** The one Store implementation: Kysely over SQLite or PostgreSQL. */
export class KyselyStore implements Store {
  private readonly groupCommit: GroupCommit | undefined;

  private constructor(private readonly dialectInfo: Dialect) {
    this.groupCommit = dialectInfo.name === 'sqlite' ? new GroupCommit(dialectInfo.db) : undefined;
  }

  private prepared<Row>(key: string, arity: number, build: (...values: string[]) => Compilable<Row>) {
    return preparedQuery(this.dialectInfo.prepared, key, arity, build);
  }

  /** Runs a write transaction: batched with concurrent writes on SQLite, on its own on PostgreSQL. */
  private write<T>(work: WriteWork<T>): Promise<T> {
    return this.groupCommit ? this.groupCommit.run(work) : this.db.transaction().execute(work);
  }

  static open(config: DatabaseConfig, observe?: QueryObserver): KyselyStore {
    return new KyselyStore(openDialect(config, observe));
  }

  get dialect() {
    return this.dialectInfo.name;
  }

  private get db() {
    return this.dialectInfo.db;
  }

  async migrate() {
    if (this.dialect === 'sqlite') return migrateToLatest(this.db, 'sqlite');
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(this.db);
    return migrateToLatest(this.db, 'postgres', rows[0]!.schema);
  }

  async ping() {
    await sql`select 1`.execute(this.db);
  }

  close() {
    return this.db.destroy();
  }

  async createApp(name: string) {
    const row = { id: randomUUID(), name, created_at: Date.now() };
    try {
      await this.db.insertInto('apps').values(row).execute();
    } catch (error) {
      if (this.dialectInfo.isUniqueViolation(error)) throw new AppNameTakenError(name);
      throw error;
    }
    return toApp(row);
  }

  async listApps() {
    return (await this.db.selectFrom('apps').selectAll().orderBy('created_at').orderBy('id').execute()).map(toApp);
  }

  async findApp(appId: string) {
    const row = await this.db.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst();
    return row ? toApp(row) : null;
  }

  async addApiKey(appId: string, secret: string, name: string) {
    const key_hash = hashApiKey(secret);
    const result = await this.db
      .insertInto('api_keys')
      .values({ id: randomUUID(), app_id: appId, name, key_hash, hint: apiKeyHint(secret), created_at: Date.now(), revoked_at: null })
      .onConflict((conflict) => conflict.column('key_hash').doNothing())
      .executeTakeFirst();
    const row = await this.db.selectFrom('api_keys').select(KEY_COLUMNS).where('key_hash', '=', key_hash).executeTakeFirstOrThrow();
    return { key: toKey(row), created: Number(result.numInsertedOrUpdatedRows ?? 0) > 0 };
  }

  async listApiKeys(appId?: string) {
    let query = this.db.selectFrom('api_keys').select(KEY_COLUMNS).orderBy('created_at').orderBy('id');
    if (appId !== undefined) query = query.where('app_id', '=', appId);
    return (await query.execute()).map(toKey);
  }

  async revokeApiKey(keyId: string) {
    await this.db
      .updateTable('api_keys')
      .set({ revoked_at: Date.now() })
      .where('id', '=', keyId)
      .where('revoked_at', 'is', null)
      .execute();
    const row = await this.db.selectFrom('api_keys').select('id').where('id', '=', keyId).executeTakeFirst();
    return row !== undefined;
  }

  async findKeyOwner(secret: string): Promise<KeyOwner | null> {
    const row = await this.db
      .selectFrom('api_keys')
      .select(['id', 'app_id'])
      .where('key_hash', '=', hashApiKey(secret))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? { keyId: row.id, appId: row.app_id } : null;
  }

  findProfile(appId: string, address: ProfileAddress) {
    return readProfile(this.db, appId, address);
  }

  ensureProfile(appId: string, address: ProfileAddress, patch: ProfilePatch): Promise<ProfileRecord> {
    return this.write(async (trx) => {
      const profileId = await ensureProfileRow(trx, this.dialectInfo, appId, address);
      await applyPatch(trx, appId, profileId, patch);
      return (await readProfile(trx, appId, { profileId }))!;
    });
  }

  updateProfile(appId: string, address: ProfileAddress, patch: ProfilePatch) {
    return this.write(async (trx) => {
      const profileId = await lockProfile(trx, this.dialectInfo, appId, address, 'update');
      if (profileId === null) return null;
      await applyPatch(trx, appId, profileId, patch);
      return readProfile(trx, appId, { profileId });
    });
  }

  deleteProfile(appId: string, address: ProfileAddress) {
    return this.write(async (trx) => {
      const profileId = await lockProfile(trx, this.dialectInfo, appId, address, 'update');
      if (profileId === null) return false;
      await deleteProfileRows(trx, appId, profileId);
      return true;
    });
  }

  setIdentifiers(appId: string, address: ProfileAddress, changes: IdentifierChanges) {
    return this.write(async (trx) => {
      // A key-share lock keeps the profile from being deleted underneath the write, yet lets
      // concurrent identifier writes to the same profile proceed.
      const profileId = await lockProfile(trx, this.dialectInfo, appId, address, 'key share');
      if (profileId === null) return false;
      await writeIdentifiers(trx, this.dialectInfo, appId, profileId, changes);
      return true;
    });
  }

  async getIdentifiers(appId: string, address: ProfileAddress): Promise<IdentifierSet | null> {
    const shape = addressShape(address);
    const rows = await this.prepared(`identifiers:get:${shape}`, 3, (app, profileId, customerUserId) =>
      whereAddress(
        this.db
          .selectFrom('profiles')
          .leftJoin('integration_identifiers as i', (join) =>
            join.onRef('i.app_id', '=', 'profiles.app_id').onRef('i.profile_id', '=', 'profiles.id'),
          )
          .select(['i.key', 'i.value']),
        app!,
        shapedAddress(shape, profileId!, customerUserId!),
      ),
    ).execute(this.db, [appId, address.profileId, address.customerUserId]);
    if (rows.length === 0) return null;
    return identifierSet(rows.flatMap(({ key, value }) => (key === null || value === null ? [] : [[key, value] as const])));
  }

  /** A transaction of its own (not group commit): one batch is already one commit. */
  importBatch(appId: string, items: readonly ImportItem[]) {
    return this.db.transaction().execute((trx) => importItems(trx, this.dialectInfo, appId, items));
  }

  exportPage(appId: string, afterProfileId: string | null, limit: number) {
    return exportPage(this.db, appId, afterProfileId, limit);
  }

  appStats(appId: string) {
    return appStats(this.db, appId);
  }

  databaseSize() {
    return databaseSize(this.dialectInfo);
  }
}
