import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MAX_BATCH_ITEMS, parseBatch } from '../../domain/batch.js';
import { charLength, unstorableText } from '../../domain/formats.js';
import { IDENTIFIER_KEYS, type IdentifierKey, isIdentifierKey, MAX_IDENTIFIER_LENGTH } from '../../domain/identifiers.js';
import { ApiError, FieldErrors, profileNotFound } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import type { BatchItem, BatchOutcome } from '../../services/batch.js';
import type { Services } from '../../services/index.js';
import type { HistoryEntry } from '../../storage/store.js';
import { actorOf } from '../actor.js';
import { readAddress } from '../addressing.js';
import { toApiError } from '../error-handler.js';
import { addressHeaders, errorResponses } from '../openapi-schemas.js';
import { batchRequest, batchResponse, historyResponse, lookupResponse } from '../crosswalk-schemas.js';

export const LOOKUP_PATH = '/crosswalk/v1/integration-identifiers/lookup/';
export const HISTORY_PATH = '/crosswalk/v1/integration-identifiers/history/';
export const BATCH_PATH = '/crosswalk/v1/integration-identifiers/batch/';

/** The most profiles one lookup answers; a value held by more is not an identifier of one user. */
export const LOOKUP_LIMIT = 1000;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 500;
/** 1,000 items of 16 identifiers of 512 characters would be far more; real batches are well under. */
export const BATCH_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * Query parameters arrive as strings, or as arrays when repeated; a repeated one is an error
 * (and null here, so that it is not also reported as missing).
 */
function queryParams(request: FastifyRequest, known: readonly string[], errors: FieldErrors): Record<string, string | null | undefined> {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const values: Record<string, string | null | undefined> = {};
  for (const name of known) {
    const raw = query[name];
    if (Array.isArray(raw)) {
      errors.add(name, 'Give this query parameter only once.');
      values[name] = null;
    } else if (typeof raw === 'string' && raw !== '') values[name] = raw;
  }
  return values;
}

function readKey(raw: string | null | undefined, errors: FieldErrors, required: boolean): IdentifierKey | undefined {
  if (raw === null) return undefined;
  if (raw === undefined) {
    if (required) errors.add('key', 'This query parameter is required.');
    return undefined;
  }
  if (!isIdentifierKey(raw)) {
    errors.add('key', `Must be one of the integration identifier keys: ${IDENTIFIER_KEYS.join(', ')}.`);
    return undefined;
  }
  return raw;
}

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
  const tags = ['Integration identifiers (Crosswalk)'];
  const security = [{ apiKey: [] }];

  app.get(LOOKUP_PATH, {
    schema: {
      operationId: 'lookupIntegrationIdentifier',
      summary: 'Find the profiles that hold an identifier value',
      description: `Every profile of the app whose \`key\` is exactly \`value\` (after trimming, as writes store it), by profile id, at most ${LOOKUP_LIMIT}.`,
      tags,
      security,
      querystring: {
        type: 'object',
        required: ['key', 'value'],
        properties: { key: { type: 'string', enum: [...IDENTIFIER_KEYS] }, value: { type: 'string', maxLength: MAX_IDENTIFIER_LENGTH } },
      },
      response: { 200: lookupResponse, ...errorResponses() },
    },
  }, async (request) => {
    const errors = new FieldErrors();
    const params = queryParams(request, ['key', 'value'], errors);
    const key = readKey(params.key, errors, true);
    const value = params.value?.trim();
    if (params.value === null) {
      // Reported as repeated.
    } else if (value === undefined || value === '') errors.add('value', 'This query parameter is required.');
    else if (unstorableText(value)) errors.add('value', unstorableText(value)!);
    else if (charLength(value) > MAX_IDENTIFIER_LENGTH) errors.add('value', `Ensure this value has no more than ${MAX_IDENTIFIER_LENGTH} characters.`);
    errors.throwIfAny();
    const holders = await identifiers.lookup(request.appId, key!, value!, LOOKUP_LIMIT);
    return { data: holders.map((holder) => ({ profile_id: holder.profileId, customer_user_id: holder.customerUserId })) };
  });

  app.get(HISTORY_PATH, {
    schema: {
      operationId: 'getIdentifierHistory',
      summary: "Page through a profile's identifier history, newest first",
      tags,
      security,
      headers: addressHeaders(),
      querystring: {
        type: 'object',
        properties: {
          key: { type: 'string', enum: [...IDENTIFIER_KEYS], description: 'Only this key' },
          limit: { type: 'integer', minimum: 1, maximum: HISTORY_MAX_LIMIT, default: HISTORY_DEFAULT_LIMIT },
          cursor: { type: 'string', description: 'next_cursor of the previous page' },
        },
      },
      response: { 200: historyResponse, ...errorResponses(404) },
    },
  }, async (request) => {
    const address = readAddress(request);
    const errors = new FieldErrors();
    const params = queryParams(request, ['key', 'limit', 'cursor'], errors);
    const key = readKey(params.key, errors, false);
    let limit = HISTORY_DEFAULT_LIMIT;
    if (typeof params.limit === 'string') {
      limit = /^\d{1,4}$/.test(params.limit) ? Number(params.limit) : 0;
      if (limit < 1 || limit > HISTORY_MAX_LIMIT) errors.add('limit', `Must be a whole number from 1 to ${HISTORY_MAX_LIMIT}.`);
    }
    let before: number | undefined;
    if (typeof params.cursor === 'string') {
      if (/^[1-9]\d{0,15}$/.test(params.cursor) && Number.isSafeInteger(Number(params.cursor))) before = Number(params.cursor);
      else errors.add('cursor', 'Not a cursor this API gave out: pass next_cursor from the previous page unchanged.');
    }
    errors.throwIfAny();
    const page = await identifiers.history(request.appId, address, { key, limit, before });
    if (!page) throw profileNotFound();
    return { data: page.entries.map(historyToWire), next_cursor: page.next === null ? null : String(page.next) };
  });

  app.post(BATCH_PATH, {
    bodyLimit: BATCH_BODY_LIMIT_BYTES,
    schema: {
      operationId: 'batchSetIntegrationIdentifiers',
      summary: `Set identifiers of up to ${MAX_BATCH_ITEMS} profiles in one request`,
      description:
        'Each item is validated and applied on its own, in order, in one transaction: a bad item is reported in its result and does not fail the others. ' +
        'The answer has one result per item, in the order given.',
      tags,
      security,
      body: batchRequest,
      response: { 200: batchResponse, ...errorResponses() },
    },
  }, async (request) => {
    const batch = parseBatch(request.body);
    const items: BatchItem[] = batch.valid.map(({ address, changes }) => ({ address, changes }));
    const outcomes = items.length === 0 ? [] : await batches.apply(request.appId, items, batch.createMissing, actorOf(request, 'batch'));
    const results: ReturnType<typeof outcomeToWire>[] = [];
    batch.valid.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) metrics?.countIdentifierWrite(outcome.result);
      results[item.index] = outcomeToWire(item.index, outcome);
    });
    for (const { index, error } of batch.invalid) results[index] = { index, status: error.statusCode, error: error.toBody() };
    const succeeded = results.filter((result) => result.status === 200).length;
    return { data: results, succeeded, failed: results.length - succeeded };
  });
}
