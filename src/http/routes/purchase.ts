import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { purchaseProfileNotFound } from '../../errors.js';
import { profileToWire, type ProfileRecord } from '../../domain/profile.js';
import type { RefundSaverSettings } from '../../domain/revenue.js';
import {
  grantBody,
  parseTransaction,
  refundSaverBody,
  revokeBody,
  toGrant,
  toRefundSaverChange,
  toRevoke,
  transactionBody,
} from '../../schemas/revenue.js';
import type { RevenueService } from '../../services/revenue.js';
import type { Metrics } from '../../metrics.js';
import { profileHeaders, profileHeadersOf } from '../addressing.js';
import { emptyBodyIsCheckedAsObject } from '../json-body.js';
import { addressHeaders, errorResponses } from '../schemas/common.js';
import { profileResponse, refundSaverResponse } from '../schemas/profile.js';

export const TRANSACTION_PATH = '/api/v2/server-side-api/purchase/set/transaction/';
export const GRANT_PATH = '/api/v2/server-side-api/purchase/profile/grant/access-level/';
export const REVOKE_PATH = '/api/v2/server-side-api/purchase/profile/revoke/access-level/';
export const REFUND_SAVER_PATH = '/api/v2/server-side-api/purchase/profile/refund-saver/settings/';

const tags = ['Purchases (Adapty-compatible)'];
const security = [{ apiKey: [] }];
// Header problems first, then an empty body (or []) read as {} so that the schema names the
// required fields, then the body's schema. The bodies stay required in the OpenAPI document.
const hooks = [profileHeaders(), emptyBodyIsCheckedAsObject];

function answer(record: ProfileRecord | null) {
  if (!record) throw purchaseProfileNotFound('Profile not found');
  return { data: profileToWire(record, Date.now()) };
}

function refundSaverToWire(found: { profileId: string; settings: RefundSaverSettings } | null) {
  if (!found) throw purchaseProfileNotFound('Profile does not exist');
  return { profile_id: found.profileId, settings: { consent: found.settings.consent, custom_preference: found.settings.customPreference } };
}

/**
 * The vendor's purchase operations: set transaction, grant and revoke access level, Refund Saver
 * settings. A profile that does not exist is a 400 here, as the vendor answers it.
 */
export function purchaseRoutes(app: FastifyInstance, revenue: RevenueService, metrics?: Metrics): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const operation = (operationId: string, summary: string, description?: string) => ({
    operationId,
    summary,
    ...(description && { description }),
    tags,
    security,
    headers: addressHeaders(),
    response: { 200: profileResponse, ...errorResponses() },
  });

  api.post(TRANSACTION_PATH, {
    schema: {
      ...operation(
        'setTransaction',
        'Record a transaction (or update it: the same store and store_transaction_id is the same transaction)',
        'Its revenue counts once however often it is sent; a refund takes it away. What the product unlocks is configured per product; an unknown product unlocks `premium`.',
      ),
      body: transactionBody,
    },
    preValidation: hooks,
  }, async (request) => {
    const input = parseTransaction(request.body);
    const record = await revenue.setTransaction(request.appId, profileHeadersOf(request).address, input);
    if (record) metrics?.countTransaction(input.store);
    return answer(record);
  });

  api.post(GRANT_PATH, {
    schema: { ...operation('grantAccessLevel', 'Grant an access level without a transaction (now, for a span, or for life)'), body: grantBody },
    preValidation: hooks,
  }, async (request) => answer(await revenue.grant(request.appId, profileHeadersOf(request).address, toGrant(request.body))));

  api.post(REVOKE_PATH, {
    schema: { ...operation('revokeAccessLevel', 'Revoke an access level now, or shorten it to revoke_at'), body: revokeBody },
    preValidation: hooks,
  }, async (request) => answer(await revenue.revoke(request.appId, profileHeadersOf(request).address, toRevoke(request.body))));

  const refundSaver = {
    tags: ['Refund Saver (Adapty-compatible)'],
    security,
    headers: addressHeaders(),
    response: { 200: refundSaverResponse, ...errorResponses() },
  };
  api.get(REFUND_SAVER_PATH, {
    schema: { ...refundSaver, operationId: 'getRefundSaverSettings', summary: "Get a profile's Refund Saver settings" },
    preValidation: profileHeaders(),
  }, async (request) => refundSaverToWire(await revenue.refundSaver(request.appId, profileHeadersOf(request).address)));

  api.post(REFUND_SAVER_PATH, {
    schema: {
      ...refundSaver,
      operationId: 'setRefundSaverSettings',
      summary: "Set a profile's Refund Saver settings (consent, custom_preference, or both)",
      body: refundSaverBody,
    },
    preValidation: hooks,
  }, async (request) =>
    refundSaverToWire(await revenue.setRefundSaver(request.appId, profileHeadersOf(request).address, toRefundSaverChange(request.body))));
}
