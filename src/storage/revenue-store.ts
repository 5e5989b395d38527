import type { Kysely } from 'kysely';
import type { ProfileAddress } from '../domain/profile.js';
import type { Product, UnknownAccessLevelMode } from '../domain/revenue.js';
import { whereAddress } from './profile-queries.js';
import * as revenue from './revenue-queries.js';
import type { Database } from './schema.js';
import type { RevenueStore } from './store.js';

/** The RevenueStore on the store's Kysely database: each method one query module's function. */
export class KyselyRevenueStore implements RevenueStore {
  constructor(private readonly db: Kysely<Database>) {}

  listAccessLevels(appId: string) {
    return revenue.listAccessLevels(this.db, appId);
  }

  addAccessLevel(appId: string, accessLevelId: string) {
    return revenue.addAccessLevel(this.db, appId, accessLevelId, Date.now());
  }

  removeAccessLevel(appId: string, accessLevelId: string) {
    return revenue.removeAccessLevel(this.db, appId, accessLevelId);
  }

  listProducts(appId: string) {
    return revenue.listProducts(this.db, appId);
  }

  saveProduct(appId: string, product: Product) {
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      if (product.accessLevelId !== null) await revenue.addAccessLevel(trx, appId, product.accessLevelId, now);
      await revenue.saveProduct(trx, appId, product, now);
    });
  }

  removeProduct(appId: string, storeProductId: string) {
    return revenue.removeProduct(this.db, appId, storeProductId);
  }

  unknownAccessLevelMode(appId: string) {
    return revenue.unknownAccessLevelMode(this.db, appId);
  }

  setUnknownAccessLevelMode(appId: string, mode: UnknownAccessLevelMode) {
    return revenue.setUnknownAccessLevelMode(this.db, appId, mode, Date.now());
  }

  listRates(appId: string) {
    return revenue.listRates(this.db, appId);
  }

  setRate(appId: string, currency: string, usdPerUnit: number) {
    return revenue.setRate(this.db, appId, currency, usdPerUnit, Date.now());
  }

  removeRate(appId: string, currency: string) {
    return revenue.removeRate(this.db, appId, currency);
  }

  async refundSaver(appId: string, address: ProfileAddress) {
    const profile = await whereAddress(this.db.selectFrom('profiles').select('id'), appId, address).executeTakeFirst();
    if (!profile) return null;
    return { profileId: profile.id, settings: await revenue.readRefundSaver(this.db, appId, profile.id) };
  }

  dueAccessChanges(now: number, limit: number) {
    return revenue.dueClocks(this.db, now, limit);
  }

  stats(appId: string) {
    return revenue.revenueStats(this.db, appId);
  }
}
