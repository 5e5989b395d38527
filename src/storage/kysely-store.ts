import { randomUUID } from 'node:crypto';
import { type Compilable, type Kysely, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import { apiKeyHint, hashApiKey } from '../domain/api-keys.js';
import { AppNameTakenError } from '../errors.js';
import { type IdentifierKey, type IdentifierSet, identifierSet } from '../domain/identifiers.js';
import type { ProfileAddress } from '../domain/profile.js';
import type { AppRules } from '../domain/rules.js';
import { type Dialect, openDialect, type QueryObserver } from './dialect.js';
import { appStats, databaseSize, exportPage } from './export-queries.js';
import { GroupCommit, type WriteWork } from './group-commit.js';
import { readRules } from './identifier-queries.js';
import { migrateToLatest } from './migrations.js';
import { DeliveryQueueSignal, QueuedDeliveries, type QueuingWork } from './outbox.js';
import { addressShape, preparedQuery } from './prepared.js';
import { readProfile, shapedAddress, whereAddress } from './profile-queries.js';
import { KyselyRevenueStore } from './revenue-store.js';
import type { ApiKeysTable, AppsTable } from './schema.js';
import type { ApiKeyInfo, App, HistoryQuery, KeyOwner, Store, WriteOptions, WriteTransaction } from './store.js';
import { KyselyWebhookStore } from './webhook-store.js';
import { KyselyWriteTransaction } from './write-transaction.js';

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
  readonly revenue: KyselyRevenueStore;
  private readonly queued = new DeliveryQueueSignal();

  private constructor(private readonly dialectInfo: Dialect) {
    this.groupCommit = dialectInfo.name === 'sqlite' ? new GroupCommit(dialectInfo.db) : undefined;
    this.webhooks = new KyselyWebhookStore(dialectInfo, (work) => this.transact(work));
    this.revenue = new KyselyRevenueStore(dialectInfo.db);
  }

  onDeliveriesQueued(listener: () => void) {
    this.queued.listen(listener);
  }

  onEventsRecorded(listener: (counts: ReadonlyMap<string, number>) => void) {
    this.queued.listenForEvents(listener);
  }

  private prepared<Row>(key: string, arity: number, build: (...values: string[]) => Compilable<Row>) {
    return preparedQuery(this.dialectInfo.prepared, key, arity, build);
  }

  write<T>(work: (tx: WriteTransaction) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    return this.transact((trx, queued) => work(new KyselyWriteTransaction(trx, this.dialectInfo, queued)), options.alone === true);
  }

  /**
   * Runs a write transaction: batched with concurrent writes on SQLite (unless alone), on its own on
   * PostgreSQL. Once it has committed, what it queued for delivery is announced to this process's
   * worker; a transaction that failed announces nothing.
   */
  private async transact<T>(work: QueuingWork<T>, alone = false): Promise<T> {
    let queued = new QueuedDeliveries();
    const run: WriteWork<T> = (trx) => {
      // A fresh count for each attempt: a transaction run again counts only what it then does.
      queued = new QueuedDeliveries();
      return work(trx, queued);
    };
    const result = await this.commit(run, alone);
    this.queued.announce(queued);
    return result;
  }

  private async commit<T>(work: WriteWork<T>, alone: boolean): Promise<T> {
    if (this.groupCommit && !alone) return this.groupCommit.run(work);
    // PostgreSQL may end a transaction to break a deadlock (two batches locking the same
    // profiles); the whole transaction is then run again, up to three times.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute(work);
      } catch (error) {
        if (attempt >= 3 || !this.dialectInfo.isRetryable(error)) throw error;
      }
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

