import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { KeyScope } from '../domain/api-keys.js';
import type { Product } from '../domain/revenue.js';
import type { AppRules } from '../domain/rules.js';
import { AppNameTakenError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { readRules } from './identifier-queries.js';
import * as keys from './key-queries.js';
import type { QueuedDeliveries } from './outbox.js';
import * as revenue from './revenue-queries.js';
import { KyselyRevenueStore } from './revenue-store.js';
import type { Database } from './schema.js';
import type { App, ManagementTransaction, NewKeyOptions } from './store.js';
import { KyselyDestinationStore } from './destination-store.js';
import { KyselyWebhookStore } from './webhook-store.js';

type Db = Kysely<Database>;

/** The revenue configuration on an open transaction: a product and its new access level are saved in it, not in one of their own. */
class TransactionRevenueStore extends KyselyRevenueStore {
  constructor(private readonly trx: Db) {
    super(trx);
  }

  override async saveProduct(appId: string, product: Product) {
    const now = Date.now();
    if (product.accessLevelId !== null) await revenue.addAccessLevel(this.trx, appId, product.accessLevelId, now);
    await revenue.saveProduct(this.trx, appId, product, now);
  }
}

/** ManagementTransaction on one open Kysely transaction (see KyselyStore.manage). */
export class KyselyManagementTransaction implements ManagementTransaction {
  readonly webhooks: ManagementTransaction['webhooks'];
  readonly destinations: ManagementTransaction['destinations'];
  readonly revenue: ManagementTransaction['revenue'];

  constructor(
    private readonly trx: Db,
    private readonly dialect: Dialect,
    queued: QueuedDeliveries,
  ) {
    // The webhook store's writes run in this transaction; its deliveries are announced once it
    // commits. Only the methods that do all their work through `write` are offered: a read
    // on the store's own connection would wait, on SQLite, for this very transaction.
    this.webhooks = new KyselyWebhookStore(dialect, (work) => work(trx, queued));
    this.destinations = new KyselyDestinationStore(dialect, (work) => work(trx, queued));
    this.revenue = new TransactionRevenueStore(trx);
  }

  async createApp(name: string): Promise<App> {
    const row = { id: randomUUID(), name, created_at: Date.now() };
    try {
      await this.trx.insertInto('apps').values(row).execute();
    } catch (error) {
      if (this.dialect.isUniqueViolation(error)) throw new AppNameTakenError(name);
      throw error;
    }
    return { id: row.id, name: row.name, createdAt: row.created_at };
  }

  findApiKey(keyId: string) {
    return keys.findApiKey(this.trx, keyId);
  }

  addApiKey(appId: string, secret: string, name: string, options?: NewKeyOptions) {
    return keys.addApiKey(this.trx, appId, secret, name, options);
  }

  revokeApiKey(keyId: string) {
    return keys.revokeApiKey(this.trx, keyId, Date.now());
  }

  setApiKeyScope(keyId: string, scope: KeyScope) {
    return keys.setApiKeyScope(this.trx, keyId, scope);
  }

  rules(appId: string): Promise<AppRules> {
    return readRules(this.trx, this.dialect, appId);
  }

  setRules(appId: string, rules: AppRules) {
    return keys.setRules(this.trx, appId, rules, Date.now());
  }
}
