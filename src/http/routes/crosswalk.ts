import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type InvalidBatchItem, MAX_BATCH_ITEMS, type ValidBatchItem } from '../../domain/batch.js';
import { profileNotFound } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import type { BatchItem, BatchOutcome } from '../../services/batch.js';
import type { Services } from '../../services/index.js';
import type { HistoryEntry } from '../../storage/store.js';
import { actorOf } from '../actor.js';
import { profileHeaders, profileHeadersOf } from '../addressing.js';
import { toApiError } from '../error-handler.js';
import { batchBody, batchResponse, checkBatchItem } from '../schemas/batch.js';
import { addressHeaders, errorResponses } from '../schemas/common.js';
import { HISTORY_DEFAULT_LIMIT, historyQuery, historyResponse, LOOKUP_LIMIT, lookupQuery, lookupResponse } from '../schemas/crosswalk.js';

export const LOOKUP_PATH = '/crosswalk/v1/integration-identifiers/lookup/';
export const HISTORY_PATH = '/crosswalk/v1/integration-identifiers/history/';
export const BATCH_PATH = '/crosswalk/v1/integration-identifiers/batch/';

/** 1,000 items of 16 identifiers of 512 characters would be far more; real batches are well under. */
export const BATCH_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

function historyToWire(entry: HistoryEntry) {
  return {
    id: String(entry.id),
    key: entry.key,
    kind: entry.kind,
    old_value: entry.oldValue,
    new_value: entry.newValue,
    other_profile_id: entry.otherProfileId,
    source: entry.source,
    api_key_id: entry.apiKeyId,
    request_id: entry.requestId,
    changed_at: new Date(entry.changedAt).toISOString(),
  };
}

function outcomeToWire(index: number, outcome: BatchOutcome) {
  if (outcome.ok) {
    const { result } = outcome;
    return {
      index,
      status: 200,
      profile_id: result.profileId,
      customer_user_id: outcome.customerUserId,
      created: outcome.created,
      changed: result.changes.map((change) => change.key),
      dropped: result.dropped.map((drop) => drop.key),
    };
  }
  const error = outcome.error === 'profile_not_found' ? profileNotFound() : toApiError(outcome.error);
  return { index, status: error.statusCode, error: error.toBody() };
}

export function crosswalkRoutes(app: FastifyInstance, { identifiers, batch: batches }: Services, metrics?: Metrics): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['Integration identifiers (Crosswalk)'];
  const security = [{ apiKey: [] }];

  api.get(LOOKUP_PATH, {
    schema: {
      operationId: 'lookupIntegrationIdentifier',
      summary: 'Find the profiles that hold an identifier value, under one key or any',
      description:
        `Every profile of the app whose \`key\` is exactly \`value\` (after trimming, as writes store it), by profile id, at most ${LOOKUP_LIMIT}. ` +
        'Without `key`, every key is searched: a profile holding the value under two keys is listed once per key, ordered by key and then profile id.',
      tags,
      security,
      querystring: lookupQuery,
      response: { 200: lookupResponse, ...errorResponses() },
    },
  }, async (request) => {
    const { key, value } = request.query;
    const holders = await identifiers.lookup(request.appId, key ?? null, value.trim(), LOOKUP_LIMIT);
    return { data: holders.map((holder) => ({ profile_id: holder.profileId, customer_user_id: holder.customerUserId, key: holder.key })) };
  });

  api.get(HISTORY_PATH, {
    schema: {
      operationId: 'getIdentifierHistory',
      summary: "Page through a profile's identifier history, newest first",
      tags,
      security,
      headers: addressHeaders(),
      querystring: historyQuery,
      response: { 200: historyResponse, ...errorResponses(404) },
    },
    preValidation: profileHeaders(),
  }, async (request) => {
    const { key, limit = HISTORY_DEFAULT_LIMIT, cursor: before } = request.query;
    const page = await identifiers.history(request.appId, profileHeadersOf(request).address, { key, limit, before });
    if (!page) throw profileNotFound();
    return { data: page.entries.map(historyToWire), next_cursor: page.next === null ? null : String(page.next) };
  });

  api.post(BATCH_PATH, {
    bodyLimit: BATCH_BODY_LIMIT_BYTES,
    schema: {
      operationId: 'batchSetIntegrationIdentifiers',
      summary: `Set identifiers of up to ${MAX_BATCH_ITEMS} profiles in one request`,
      description:
        'Each item is validated and applied on its own, in order, in one transaction: a bad item is reported in its result and does not fail the others. ' +
        'The answer has one result per item, in the order given.',
      tags,
      security,
      body: batchBody,
      response: { 200: batchResponse, ...errorResponses() },
    },
  }, async (request) => {
    const valid: ValidBatchItem[] = [];
    const invalid: InvalidBatchItem[] = [];
    request.body.items.forEach((raw, index) => {
      const item = checkBatchItem(raw, index);
      if ('error' in item) invalid.push(item);
      else valid.push(item);
    });
    const items: BatchItem[] = valid.map(({ address, changes }) => ({ address, changes }));
    const createMissing = request.body.create_missing === true;
    const outcomes = items.length === 0 ? [] : await batches.apply(request.appId, items, createMissing, actorOf(request, 'batch'));
    const results: ReturnType<typeof outcomeToWire>[] = [];
    valid.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) metrics?.countIdentifierWrite(outcome.result);
      results[item.index] = outcomeToWire(item.index, outcome);
    });
    for (const { index, error } of invalid) results[index] = { index, status: error.statusCode, error: error.toBody() };
    const succeeded = results.filter((result) => result.status === 200).length;
    return { data: results, succeeded, failed: results.length - succeeded };
  });
}
