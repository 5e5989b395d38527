import type { AuditActor } from '../domain/audit.js';
import { charLength, unstorableText } from '../domain/formats.js';
import {
  MAX_ACCESS_LEVEL_ID_LENGTH,
  MAX_STORE_TEXT_LENGTH,
  type Product,
  UNKNOWN_ACCESS_LEVEL_MODES,
  type UnknownAccessLevelMode,
} from '../domain/revenue.js';
import { ApiError } from '../errors.js';
import type { ManagementTransaction, Store } from '../storage/store.js';

/**
 * Why a value cannot be what a field of the revenue configuration holds, or null. The admin API's
 * schemas word their problems with the same rules, so the API and the CLI say the same thing.
 */
export type Rule = (value: unknown) => string | null;

const textRule =
  (max: number): Rule =>
  (value) => {
    if (typeof value !== 'string' || value === '') return 'Must be a non-empty string.';
    if (charLength(value) > max) return `Ensure this field has no more than ${max} characters.`;
    return unstorableText(value);
  };

export const accessLevelIdRule = textRule(MAX_ACCESS_LEVEL_ID_LENGTH);
export const storeProductIdRule = textRule(MAX_STORE_TEXT_LENGTH);

/** Any three letters, as a transaction's `price.currency` is read: every currency it can carry can get a rate. */
export const currencyRule: Rule = (value) => {
  if (typeof value !== 'string' || !/^[A-Za-z]{3}$/.test(value)) return 'Must be a three-letter ISO 4217 currency code.';
  return value.toUpperCase() === 'USD' ? 'USD needs no rate: it is always 1 US dollar per unit.' : null;
};

/** No currency is worth a million dollars a unit; the cap keeps every converted price a finite number. */
export const MAX_USD_PER_UNIT = 1_000_000;

export const rateRule: Rule = (value) =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_USD_PER_UNIT
    ? null
    : 'Must be a number greater than 0 and at most 1000000: US dollars for one unit of the currency.';

export const modeRule: Rule = (value) =>
  (UNKNOWN_ACCESS_LEVEL_MODES as readonly unknown[]).includes(value) ? null : `Must be one of: ${UNKNOWN_ACCESS_LEVEL_MODES.join(', ')}.`;

function check(source: string, rule: Rule, value: unknown): void {
  const problem = rule(value);
  if (problem !== null) throw new ApiError('validation_error', [{ source, errors: [problem] }]);
}

export interface AccessLevel {
  id: string;
  createdAt: number;
}

export interface CurrencyRate {
  currency: string;
  usdPerUnit: number;
  updatedAt: number;
}

export interface RevenueSettings {
  unknownAccessLevels: UnknownAccessLevelMode;
}

const SHOWN_PRODUCTS = 5;

/**
 * What the vendor configures in its dashboard: access levels, what each product unlocks, the
 * currency rates that convert revenue to dollars, and what to do with access level ids never
 * configured. The admin API and `crosswalk revenue` both call it; it checks every id and value.
 * Every change is made in one transaction with its entry in the audit trail, recorded as made by
 * `actor`; an operation that changes nothing records nothing.
 */
export class RevenueConfigService {
  constructor(private readonly store: Store) {}

  listAccessLevels(appId: string): Promise<AccessLevel[]> {
    return this.store.revenue.listAccessLevels(appId);
  }

  /** Configures an access level; `created` is false when it already was (nothing changes then). */
  async addAccessLevel(appId: string, accessLevelId: string, actor: AuditActor): Promise<{ accessLevel: AccessLevel; created: boolean }> {
    check('access_level_id', accessLevelIdRule, accessLevelId);
    return this.store.manage(actor, async (tx) => {
      const created = await tx.revenue.addAccessLevel(appId, accessLevelId);
      const levels = await tx.revenue.listAccessLevels(appId);
      const result = { accessLevel: levels.find((level) => level.id === accessLevelId)!, created };
      return { result, audit: created ? { appId, action: 'access_level.add', targetId: accessLevelId, detail: {} } : null };
    });
  }

  /**
   * Removes an access level from the configuration; false when it was not configured. Refused while
   * a product unlocks it. Profiles that have it keep it.
   */
  async removeAccessLevel(appId: string, accessLevelId: string, actor: AuditActor): Promise<boolean> {
    check('access_level_id', accessLevelIdRule, accessLevelId);
    return this.store.manage(actor, async (tx) => {
      const removed = await this.removeUnusedAccessLevel(tx, appId, accessLevelId);
      return { result: removed, audit: removed ? { appId, action: 'access_level.remove', targetId: accessLevelId, detail: {} } : null };
    });
  }

  private async removeUnusedAccessLevel(tx: ManagementTransaction, appId: string, accessLevelId: string): Promise<boolean> {
    const users = (await tx.revenue.listProducts(appId)).filter((product) => product.accessLevelId === accessLevelId);
    if (users.length > 0) {
      const names = users.slice(0, SHOWN_PRODUCTS).map((product) => `\`${product.storeProductId}\``).join(', ');
      const more = users.length > SHOWN_PRODUCTS ? ` and ${users.length - SHOWN_PRODUCTS} more` : '';
      const [subject, them] = users.length === 1 ? [`Product ${names} unlocks`, 'it'] : [`Products ${names}${more} unlock`, 'them'];
      const message = `${subject} this access level: set ${them} to another access level (or none), or remove ${them}, first.`;
      throw new ApiError('validation_error', [{ source: 'access_level_id', errors: [message] }]);
    }
    return tx.revenue.removeAccessLevel(appId, accessLevelId);
  }

  listProducts(appId: string): Promise<Product[]> {
    return this.store.revenue.listProducts(appId);
  }

  /**
   * Creates or replaces a product. Its access level is configured with it when it was not
   * (`accessLevelCreated`), unless the app refuses access levels it does not know: then the product
   * is refused as a transaction naming that level would be.
   */
  async setProduct(appId: string, product: Product, actor: AuditActor): Promise<{ product: Product; accessLevelCreated: boolean }> {
    check('store_product_id', storeProductIdRule, product.storeProductId);
    const { accessLevelId } = product;
    if (accessLevelId !== null) check('access_level_id', accessLevelIdRule, accessLevelId);
    return this.store.manage(actor, async (tx) => {
      let accessLevelCreated = false;
      if (accessLevelId !== null) {
        accessLevelCreated = !(await tx.revenue.listAccessLevels(appId)).some((level) => level.id === accessLevelId);
        if (accessLevelCreated && (await tx.revenue.unknownAccessLevelMode(appId)) === 'reject') {
          throw new ApiError('paid_access_level_does_not_exist', [
            { source: 'access_level_id', errors: [`Paid access level \`${accessLevelId}\` does not exist, and this app refuses access levels it does not know: add it first.`] },
          ]);
        }
      }
      const before = (await tx.revenue.listProducts(appId)).find((stored) => stored.storeProductId === product.storeProductId);
      await tx.revenue.saveProduct(appId, product);
      const same = before !== undefined && before.accessLevelId === accessLevelId && before.isConsumable === product.isConsumable;
      const detail = { access_level_id: accessLevelId, is_consumable: product.isConsumable, access_level_created: accessLevelCreated };
      return { result: { product, accessLevelCreated }, audit: same ? null : { appId, action: 'product.set', targetId: product.storeProductId, detail } };
    });
  }

  /** False when the product was not configured; it unlocks `premium` again from then on. */
  async removeProduct(appId: string, storeProductId: string, actor: AuditActor): Promise<boolean> {
    check('store_product_id', storeProductIdRule, storeProductId);
    return this.store.manage(actor, async (tx) => {
      const removed = await tx.revenue.removeProduct(appId, storeProductId);
      return { result: removed, audit: removed ? { appId, action: 'product.remove', targetId: storeProductId, detail: {} } : null };
    });
  }

  listRates(appId: string): Promise<CurrencyRate[]> {
    return this.store.revenue.listRates(appId);
  }

  /** Sets the rate of a currency (the code in any case; kept upper case). Transactions recorded later use it. */
  async setRate(appId: string, currency: string, usdPerUnit: number, actor: AuditActor): Promise<CurrencyRate> {
    check('currency', currencyRule, currency);
    check('usd_per_unit', rateRule, usdPerUnit);
    const code = currency.toUpperCase();
    return this.store.manage(actor, async (tx) => {
      const before = (await tx.revenue.listRates(appId)).find((rate) => rate.currency === code);
      await tx.revenue.setRate(appId, code, usdPerUnit);
      const rate = (await tx.revenue.listRates(appId)).find((stored) => stored.currency === code)!;
      const changed = before?.usdPerUnit !== usdPerUnit;
      return { result: rate, audit: changed ? { appId, action: 'currency_rate.set', targetId: code, detail: { usd_per_unit: usdPerUnit } } : null };
    });
  }

  /** False when the currency had no rate. */
  async removeRate(appId: string, currency: string, actor: AuditActor): Promise<boolean> {
    check('currency', currencyRule, currency);
    const code = currency.toUpperCase();
    return this.store.manage(actor, async (tx) => {
      const removed = await tx.revenue.removeRate(appId, code);
      return { result: removed, audit: removed ? { appId, action: 'currency_rate.remove', targetId: code, detail: {} } : null };
    });
  }

  async settings(appId: string): Promise<RevenueSettings> {
    return { unknownAccessLevels: await this.store.revenue.unknownAccessLevelMode(appId) };
  }

  async setSettings(appId: string, settings: RevenueSettings, actor: AuditActor): Promise<RevenueSettings> {
    check('unknown_access_levels', modeRule, settings.unknownAccessLevels);
    const mode = settings.unknownAccessLevels;
    return this.store.manage(actor, async (tx) => {
      const before = await tx.revenue.unknownAccessLevelMode(appId);
      await tx.revenue.setUnknownAccessLevelMode(appId, mode);
      return { result: settings, audit: before === mode ? null : { appId, action: 'revenue_settings.set', targetId: null, detail: { unknown_access_levels: mode } } };
    });
  }
}
