import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { MAX_STORE_TEXT_LENGTH, type Product } from '../../domain/revenue.js';
import { notFound } from '../../errors.js';
import type { AccessLevel, CurrencyRate, RevenueConfigService, RevenueSettings } from '../../services/revenue-config.js';
import { data, errorResponses, noBody } from '../schemas/common.js';
import {
  accessLevelParams,
  accessLevelResponse,
  currencyParams,
  productBody,
  productParams,
  productResponse,
  rateBody,
  rateResponse,
  settingsBody,
  settingsResponse,
} from '../schemas/revenue-config.js';

export const REVENUE_CONFIG_PATH = '/crosswalk/v1/revenue/';
const ACCESS_LEVELS = `${REVENUE_CONFIG_PATH}access-levels/`;
const PRODUCTS = `${REVENUE_CONFIG_PATH}products/`;
const RATES = `${REVENUE_CONFIG_PATH}currency-rates/`;
const SETTINGS = `${REVENUE_CONFIG_PATH}settings/`;

/** The longest id a path carries, percent-encoded: a store product id, 4 UTF-8 bytes of `%XX` per character. */
export const MAX_ENCODED_ID_LENGTH = MAX_STORE_TEXT_LENGTH * 12;

const iso = (ms: number) => new Date(ms).toISOString();
const accessLevelToWire = (level: AccessLevel) => ({ access_level_id: level.id, created_at: iso(level.createdAt) });
const productToWire = (product: Product) => ({
  store_product_id: product.storeProductId,
  access_level_id: product.accessLevelId,
  is_consumable: product.isConsumable,
});
const rateToWire = (rate: CurrencyRate) => ({ currency: rate.currency, usd_per_unit: rate.usdPerUnit, updated_at: iso(rate.updatedAt) });
const settingsToWire = (settings: RevenueSettings) => ({ data: { unknown_access_levels: settings.unknownAccessLevels } });

const tags = ['Revenue configuration (Crosswalk)'];
const security = [{ apiKey: [] }];
const operation = (operationId: string, summary: string) => ({ operationId, summary, tags, security });
/** Changing the configuration needs an admin key; reading it, any key (see routeScopes in http/auth.ts). */
const ADMIN = { scope: 'admin' } as const;

// The route options of the three kinds of operation; the handlers' types follow from the schemas.
const listing = <T extends TSchema>(operationId: string, summary: string, item: T) => ({
  schema: { ...operation(operationId, summary), response: { 200: data(Type.Array(item)), ...errorResponses() } },
});
const putting = <P extends TSchema, B extends TSchema, T extends TSchema>(operationId: string, summary: string, params: P, body: B, item: T) => ({
  config: ADMIN,
  schema: { ...operation(operationId, summary), params, body, response: { 200: data(item), ...errorResponses() } },
});
const removing = <P extends TSchema>(operationId: string, summary: string, params: P) => ({
  config: ADMIN,
  schema: { ...operation(operationId, summary), params, response: { 204: noBody('Removed; empty body'), ...errorResponses(404) } },
});

/** 204 once removed; 404 with `missing` when there was nothing to remove. */
async function removed(reply: FastifyReply, removal: Promise<boolean>, missing: string) {
  if (!(await removal)) throw notFound(missing);
  return reply.code(204).send();
}

/**
 * What the vendor configures in its dashboard, for the key's app: access levels, what each product
 * unlocks, currency rates, and what happens to access level ids never configured. PUT creates or
 * replaces and answers the resource as it now stands; sent again, it changes nothing.
 */
export function revenueConfigRoutes(app: FastifyInstance, config: RevenueConfigService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const levelPath = `${ACCESS_LEVELS}:access_level_id/`;
  const productPath = `${PRODUCTS}:store_product_id/`;
  const ratePath = `${RATES}:currency/`;

  api.get(ACCESS_LEVELS, listing('listAccessLevels', 'List the configured access levels', accessLevelResponse), async (request) => ({
    data: (await config.listAccessLevels(request.appId)).map(accessLevelToWire),
  }));
  // No body: the path says it all.
  api.put(levelPath, {
    config: ADMIN,
    schema: {
      ...operation('setAccessLevel', 'Configure an access level (nothing changes when it is configured already)'),
      params: accessLevelParams,
      response: { 200: data(accessLevelResponse), ...errorResponses() },
    },
  }, async (request) => ({ data: accessLevelToWire((await config.addAccessLevel(request.appId, request.params.access_level_id, request.apiKeyId)).accessLevel) }));
  api.delete(levelPath, removing('deleteAccessLevel', 'Remove an access level from the configuration (refused while a product unlocks it; profiles keep it)', accessLevelParams), (request, reply) => {
    const id = request.params.access_level_id;
    return removed(reply, config.removeAccessLevel(request.appId, id, request.apiKeyId), `Access level \`${id}\` is not configured.`);
  });

  api.get(PRODUCTS, listing('listProducts', 'List the configured products and what each unlocks', productResponse), async (request) => ({
    data: (await config.listProducts(request.appId)).map(productToWire),
  }));
  api.put(productPath, putting('setProduct', 'Configure what a product unlocks (an access level, or none), creating or replacing it', productParams, productBody, productResponse), async (request) => {
    const { access_level_id: accessLevelId, is_consumable: isConsumable = false } = request.body;
    const saved = await config.setProduct(request.appId, { storeProductId: request.params.store_product_id, accessLevelId, isConsumable }, request.apiKeyId);
    return { data: productToWire(saved.product) };
  });
  api.delete(productPath, removing('deleteProduct', 'Remove a product from the configuration (it unlocks premium again)', productParams), (request, reply) => {
    const id = request.params.store_product_id;
    return removed(reply, config.removeProduct(request.appId, id, request.apiKeyId), `Product \`${id}\` is not configured.`);
  });

  api.get(RATES, listing('listCurrencyRates', 'List the currency rates (US dollars per unit)', rateResponse), async (request) => ({
    data: (await config.listRates(request.appId)).map(rateToWire),
  }));
  api.put(ratePath, putting('setCurrencyRate', 'Set the rate of a currency; transactions recorded from then on use it', currencyParams, rateBody, rateResponse), async (request) => ({
    data: rateToWire(await config.setRate(request.appId, request.params.currency, request.body.usd_per_unit, request.apiKeyId)),
  }));
  api.delete(ratePath, removing('deleteCurrencyRate', 'Remove the rate of a currency', currencyParams), (request, reply) => {
    const currency = request.params.currency.toUpperCase();
    return removed(reply, config.removeRate(request.appId, currency, request.apiKeyId), `No rate is set for ${currency}.`);
  });

  const settings = { ...operation('getRevenueSettings', 'Read the revenue settings'), response: { 200: settingsResponse, ...errorResponses() } };
  api.get(SETTINGS, { schema: settings }, async (request) => settingsToWire(await config.settings(request.appId)));
  api.put(SETTINGS, { config: ADMIN, schema: { ...settings, ...operation('setRevenueSettings', 'Change the revenue settings'), body: settingsBody } }, async (request) =>
    settingsToWire(await config.setSettings(request.appId, { unknownAccessLevels: request.body.unknown_access_levels }, request.apiKeyId)),
  );
}
