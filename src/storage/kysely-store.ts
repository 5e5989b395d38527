import { randomUUID } from 'node:crypto';
import { type Compilable, type Kysely, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import type { AuditActor } from '../domain/audit.js';
import { AppNameTakenError } from '../errors.js';
import { IDENTIFIER_KEYS, type IdentifierKey, type IdentifierSet, identifierSet } from '../domain/identifiers.js';
import type { ProfileAddress } from '../domain/profile.js';
import type { AppRules } from '../domain/rules.js';
import { type Dialect, openDialect, type QueryObserver } from './dialect.js';
import { appStats, databaseSize, exportPage } from './export-queries.js';
import { GroupCommit, type WriteWork } from './group-commit.js';
import { readRules } from './identifier-queries.js';
import * as keys from './key-queries.js';
import { KyselyManagementTransaction } from './management-transaction.js';
import { migrateToLatest } from './migrations.js';
import { DeliveryQueueSignal, QueuedDeliveries, type QueuingWork } from './outbox.js';
import { addressShape, preparedQuery } from './prepared.js';
import { readProfile, shapedAddress, whereAddress } from './profile-queries.js';
import { KyselyRevenueStore } from './revenue-store.js';
import type { AppsTable } from './schema.js';
import type {
  App,
  AuditQuery,
  HistoryQuery,
  Managed,
  ManagementTransaction,
  NewKeyOptions,
  Store,
  WriteOptions,
  WriteTransaction,
} from './store.js';
import { KyselyDestinationStore } from './destination-store.js';
import { KyselyWebhookStore } from './webhook-store.js';
import { KyselyWriteTransaction } from './write-transaction.js';
import type { OneStatementWrites } from './postgres/one-statement.js';
import { PostgresStatements } from './postgres/statements.js';

const toApp = (row: AppsTable): App => ({ id: row.id, name: row.name, createdAt: row.created_at });

/** The one Store implementation: Kysely over SQLite or PostgreSQL. */
export class KyselyStore implements Store {
  private readonly groupCommit: GroupCommit | undefined;
  readonly webhooks: KyselyWebhookStore;
  readonly destinations: KyselyDestinationStore;
  readonly revenue: KyselyRevenueStore;
  readonly oneStatement: OneStatementWrites | null;
  private readonly queued = new DeliveryQueueSignal();

  private constructor(
    private readonly dialectInfo: Dialect,
    writeQueueLimit?: number,
  ) {
    this.groupCommit = dialectInfo.name === 'sqlite' ? new GroupCommit(dialectInfo.db, writeQueueLimit) : undefined;
    this.webhooks = new KyselyWebhookStore(dialectInfo, (work) => this.transact(work));
    this.destinations = new KyselyDestinationStore(dialectInfo, (work) => this.transact(work));
    this.revenue = new KyselyRevenueStore(dialectInfo.db);
    this.oneStatement = dialectInfo.name === 'postgres' ? new PostgresStatements(dialectInfo, (queued) => this.queued.announce(queued)) : null;
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
    return new KyselyStore(openDialect(config, observe), config.kind === 'sqlite' ? config.writeQueueLimit : undefined);
  }

  get dialect() {
    return this.dialectInfo.name;
  }

  private get db() {
    return this.dialectInfo.db;
  }

  async migrate() {
    if (this.dialect === 'sqlite') return migrateToLatest(this.db, 'sqlite');
    // A migration may rewrite a large table, and a process may wait for another's migration: on the
    // one connection that migrates, DATABASE_STATEMENT_TIMEOUT_MS does not apply.
    return this.db.connection().execute(async (connection) => {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(connection);
      await sql`set statement_timeout = 0`.execute(connection);
      try {
        await migrateToLatest(connection, 'postgres', rows[0]!.schema);
      } finally {
        await sql`reset statement_timeout`.execute(connection);
      }
    });
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

  addApiKey(appId: string, secret: string, name: string, options?: NewKeyOptions) {
    return keys.addApiKey(this.db, appId, secret, name, options);
  }

  listApiKeys(appId?: string) {
    return keys.listApiKeys(this.db, appId);
  }

  async revokeApiKey(keyId: string) {
    return (await keys.revokeApiKey(this.db, keyId, Date.now())) !== null;
  }

  findKeyOwner(secret: string, now = Date.now()) {
    return keys.findKeyOwner(this.db, secret, now);
  }

  touchApiKeys(keyIds: readonly string[], at: number) {
    return keys.touchApiKeys(this.db, keyIds, at);
  }

  /** One write transaction (a savepoint of a group commit on SQLite) for the change and its audit entry. */
  manage<T>(actor: AuditActor, work: (tx: ManagementTransaction) => Promise<Managed<T>>): Promise<T> {
    return this.transact(async (trx, queued) => {
      const { result, audit } = await work(new KyselyManagementTransaction(trx, this.dialectInfo, queued));
      if (audit !== null) await keys.appendAudit(trx, actor, audit, Date.now());
      return result;
    });
  }

  auditLog(appId: string, query: AuditQuery) {
    return keys.auditLog(this.db, appId, query);
  }

  findProfile(appId: string, address: ProfileAddress) {
    // On PostgreSQL in one statement (one round trip).
    if (this.oneStatement) return this.oneStatement.readProfile(appId, address);
    return readProfile(this.db, appId, address);
  }

  async lookupIdentifier(appId: string, key: IdentifierKey | null, value: string, limit: number) {
    const holders = () =>
      this.db
        .selectFrom('integration_identifiers as i')
        .innerJoin('profiles as p', (join) => join.onRef('p.app_id', '=', 'i.app_id').onRef('p.id', '=', 'i.profile_id'))
        .select(['i.profile_id', 'p.customer_user_id', 'i.key']);
    // Any key: the 16 keys named, so that the (app, key, value) index is probed once per key; ordered
    // by key first, the order that index gives (by profile id first, SQLite would scan the app's rows
    // in primary-key order instead).
    const rows =
      key === null
        ? await this.prepared('identifiers:lookup-any', 3, (app, held, max) =>
            holders()
              .where('i.app_id', '=', app!)
              .where('i.key', 'in', [...IDENTIFIER_KEYS])
              .where('i.value', '=', held!)
              .orderBy('i.key')
              .orderBy('i.profile_id')
              .limit(max as unknown as number),
          ).execute(this.db, [appId, value, limit])
        : await this.prepared('identifiers:lookup', 4, (app, name, held, max) =>
            holders()
              .where('i.app_id', '=', app!)
              .where('i.key', '=', name!)
              .where('i.value', '=', held!)
              .orderBy('i.profile_id')
              .limit(max as unknown as number),
          ).execute(this.db, [appId, key, value, limit]);
    return rows.map((row) => ({ profileId: row.profile_id, customerUserId: row.customer_user_id, key: row.key as IdentifierKey }));
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

  setRules(appId: string, rules: AppRules) {
    return keys.setRules(this.db, appId, rules, Date.now());
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

