import { randomUUID } from 'node:crypto';
import { type Compilable, type Kysely, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import { apiKeyHint, hashApiKey } from '../domain/api-keys.js';
import { AppNameTakenError, CustomerUserIdTakenError, IdentifierConflictError, ApiError } from '../errors.js';
import { type IdentifierChanges, type IdentifierKey, type IdentifierSet, identifierSet } from '../domain/identifiers.js';
import type { ProfilePatch, ProfileRecord } from '../domain/profile.js';
import type { AppRules } from '../domain/rules.js';
import { type Dialect, openDialect, type QueryObserver } from './dialect.js';
import { GroupCommit, type WriteWork } from './group-commit.js';
import { migrateToLatest } from './migrations.js';
import { appStats, databaseSize, exportPage, importItems } from './bulk-queries.js';
import { addressShape, preparedQuery } from './prepared.js';
import { applyBatchInBulk } from './batch-queries.js';
import { readRules, type WriteActor, writeIdentifiers } from './identifier-queries.js';
import { patchFields, profileEventData } from '../domain/events.js';
import { emitEvent, type OutboxSignal } from './outbox.js';
import {
  applyPatch,
  deleteProfileRows,
  ensureProfileRow,
  lockProfile,
  lockProfileRow,
  readProfile,
  shapedAddress,
  whereAddress,
} from './profile-queries.js';
import type { ApiKeysTable, AppsTable, Database } from './schema.js';
import type { ApiKeyInfo, App, BatchItem, BatchOutcome, HistoryQuery, ImportItem, KeyOwner, ProfileAddress, Store } from './store.js';
import { KyselyWebhookStore } from './webhook-store.js';

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
  readonly webhooks: KyselyWebhookStore;
  private readonly outboxSignals: OutboxSignal[] = [];
  private outboxSeen = 0;

  private constructor(private readonly dialectInfo: Dialect) {
    this.groupCommit = dialectInfo.name === 'sqlite' ? new GroupCommit(dialectInfo.db) : undefined;
    this.webhooks = new KyselyWebhookStore(dialectInfo, (work) => this.write(work));
  }

  onOutbox(signal: OutboxSignal) {
    this.outboxSignals.push(signal);
  }

  /** After a transaction: wakes the delivery workers when it wrote events (or when its events were rolled back: a needless wake-up is harmless). */
  private signalOutbox() {
    if (this.dialectInfo.outboxWrites === this.outboxSeen) return;
    this.outboxSeen = this.dialectInfo.outboxWrites;
    for (const signal of this.outboxSignals) signal();
  }

  private prepared<Row>(key: string, arity: number, build: (...values: string[]) => Compilable<Row>) {
    return preparedQuery(this.dialectInfo.prepared, key, arity, build);
  }

  /** Runs a write transaction: batched with concurrent writes on SQLite, on its own on PostgreSQL. */
  private async write<T>(work: WriteWork<T>): Promise<T> {
    try {
      if (this.groupCommit) return await this.groupCommit.run(work);
      // PostgreSQL may end a transaction to break a deadlock (two batches locking the same
      // profiles); the whole transaction is then run again, up to three times.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.db.transaction().execute(work);
        } catch (error) {
          if (attempt >= 3 || !this.dialectInfo.isRetryable(error)) throw error;
        }
      }
    } finally {
      this.signalOutbox();
    }
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
      const { id: profileId, created } = await ensureProfileRow(trx, this.dialectInfo, appId, address);
      await applyPatch(trx, appId, profileId, patch);
      const record = (await readProfile(trx, appId, { profileId }))!;
      if (created) await emitEvent(trx, this.dialectInfo, appId, 'profile.created', profileEventData(record, patch));
      else if (patchFields(patch).length > 0) await emitEvent(trx, this.dialectInfo, appId, 'profile.updated', profileEventData(record, patch));
      return record;
    });
  }

  updateProfile(appId: string, address: ProfileAddress, patch: ProfilePatch) {
    return this.write(async (trx) => {
      const profileId = await lockProfile(trx, this.dialectInfo, appId, address, 'update');
      if (profileId === null) return null;
      await applyPatch(trx, appId, profileId, patch);
      const record = (await readProfile(trx, appId, { profileId }))!;
      if (patchFields(patch).length > 0) await emitEvent(trx, this.dialectInfo, appId, 'profile.updated', profileEventData(record, patch));
      return record;
    });
  }

  deleteProfile(appId: string, address: ProfileAddress) {
    return this.write(async (trx) => {
      const profile = await lockProfileRow(trx, this.dialectInfo, appId, address, 'update');
      if (profile === null) return false;
      await deleteProfileRows(trx, appId, profile.id);
      await emitEvent(trx, this.dialectInfo, appId, 'profile.deleted', { profile_id: profile.id, customer_user_id: profile.customerUserId });
      return true;
    });
  }

  setIdentifiers(appId: string, address: ProfileAddress, changes: IdentifierChanges, actor: WriteActor) {
    return this.write(async (trx) => {
      // FOR UPDATE: writes to one profile take turns, so its history is in commit order and
      // each entry's old value is the one that was really replaced.
      const profile = await lockProfileRow(trx, this.dialectInfo, appId, address, 'update');
      if (profile === null) return null;
      const rules = await readRules(trx, this.dialectInfo, appId);
      return writeIdentifiers(trx, this.dialectInfo, appId, profile, changes, actor, rules);
    });
  }

  async lookupIdentifier(appId: string, key: IdentifierKey, value: string, limit: number) {
    const rows = await this.prepared('identifiers:lookup', 4, (app, name, held, max) =>
      this.db
        .selectFrom('integration_identifiers as i')
        .innerJoin('profiles as p', (join) => join.onRef('p.app_id', '=', 'i.app_id').onRef('p.id', '=', 'i.profile_id'))
        .select(['i.profile_id', 'p.customer_user_id'])
        .where('i.app_id', '=', app!)
        .where('i.key', '=', name!)
        .where('i.value', '=', held!)
        .orderBy('i.profile_id')
        .limit(max as unknown as number),
    ).execute(this.db, [appId, key, value, limit]);
    return rows.map((row) => ({ profileId: row.profile_id, customerUserId: row.customer_user_id }));
  }

  async identifierHistory(appId: string, address: ProfileAddress, query: HistoryQuery) {
    const shape = addressShape(address);
    const [found] = await this.prepared(`profile:id:${shape}`, 3, (app, profileId, customerUserId) =>
      whereAddress(this.db.selectFrom('profiles').select('id'), app!, shapedAddress(shape, profileId!, customerUserId!)),
    ).execute(this.db, [appId, address.profileId, address.customerUserId]);
    if (!found) return null;
    const profileId = found.id;
    let select = this.db
      .selectFrom('identifier_history')
      .select(['seq', 'key', 'kind', 'old_value', 'new_value', 'other_profile_id', 'source', 'api_key_id', 'request_id', 'changed_at'])
      .where('app_id', '=', appId)
      .where('profile_id', '=', profileId)
      .orderBy('seq', 'desc')
      .limit(query.limit);
    if (query.key !== undefined) select = select.where('key', '=', query.key);
    if (query.before !== undefined) select = select.where('seq', '<', query.before);
    const rows = await select.execute();
    return rows.map((row) => ({
      id: Number(row.seq),
      key: row.key,
      kind: row.kind,
      oldValue: row.old_value,
      newValue: row.new_value,
      otherProfileId: row.other_profile_id,
      source: row.source,
      apiKeyId: row.api_key_id,
      requestId: row.request_id,
      changedAt: row.changed_at,
    }));
  }

  batchIdentifiers(appId: string, items: readonly BatchItem[], createMissing: boolean, actor: WriteActor) {
    return this.write(async (trx) => {
      const rules = await readRules(trx, this.dialectInfo, appId);
      // Conflict policies make an item's outcome depend on other profiles' values: item by item then.
      if (Object.keys(rules.conflictPolicies).length === 0) {
        return applyBatchInBulk(trx, this.dialectInfo, appId, items, createMissing, actor, rules);
      }
      const outcomes: BatchOutcome[] = [];
      for (const item of items) outcomes.push(await this.batchItem(trx, appId, item, createMissing, actor, rules));
      return outcomes;
    });
  }

  /** One batch item in a savepoint of its own: a failed item is undone alone. */
  private async batchItem(trx: Kysely<Database>, appId: string, item: BatchItem, createMissing: boolean, actor: WriteActor, rules: AppRules): Promise<BatchOutcome> {
    await sql`savepoint batch_item`.execute(trx);
    try {
      let profile = await lockProfileRow(trx, this.dialectInfo, appId, item.address, 'update');
      let created = false;
      if (profile === null && createMissing && item.address.customerUserId !== undefined && item.address.profileId === undefined) {
        const ensured = await ensureProfileRow(trx, this.dialectInfo, appId, item.address);
        created = ensured.created;
        profile = { id: ensured.id, customerUserId: item.address.customerUserId };
        if (created) await emitEvent(trx, this.dialectInfo, appId, 'profile.created', { profile_id: profile.id, customer_user_id: profile.customerUserId, fields: [] });
      }
      const outcome: BatchOutcome =
        profile === null
          ? { ok: false, error: 'profile_not_found' }
          : { ok: true, result: await writeIdentifiers(trx, this.dialectInfo, appId, profile, item.changes, actor, rules), customerUserId: profile.customerUserId, created };
      await sql`release batch_item`.execute(trx);
      return outcome;
    } catch (error) {
      await sql`rollback to batch_item`.execute(trx);
      await sql`release batch_item`.execute(trx);
      if (error instanceof CustomerUserIdTakenError || error instanceof IdentifierConflictError || error instanceof ApiError) return { ok: false, error };
      throw error;
    }
  }

  getRules(appId: string): Promise<AppRules> {
    return readRules(this.db, this.dialectInfo, appId);
  }

  async setRules(appId: string, rules: AppRules) {
    const row = {
      app_id: appId,
      placeholder_mode: rules.placeholderMode,
      extra_placeholders: JSON.stringify(rules.extraPlaceholders),
      conflict_policies: JSON.stringify(rules.conflictPolicies),
      updated_at: Date.now(),
    };
    await this.db
      .insertInto('app_rules')
      .values(row)
      .onConflict((conflict) =>
        conflict.column('app_id').doUpdateSet({
          placeholder_mode: row.placeholder_mode,
          extra_placeholders: row.extra_placeholders,
          conflict_policies: row.conflict_policies,
          updated_at: row.updated_at,
        }),
      )
      .execute();
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
  async importBatch(appId: string, items: readonly ImportItem[]) {
    try {
      return await this.db.transaction().execute(async (trx) =>
        importItems(trx, this.dialectInfo, appId, items, await readRules(trx, this.dialectInfo, appId)),
      );
    } finally {
      this.signalOutbox();
    }
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

