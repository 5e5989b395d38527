import { MAX_BATCH_ITEMS } from '../domain/batch.js';
import { IDENTIFIER_KEYS } from '../domain/identifiers.js';
import { errorResponse, identifiersRequest } from './openapi-schemas.js';
import { nullableString } from './schemas.js';

/** Request and response schemas of the /crosswalk/v1 identifier routes (answers are serialised by them). */

export const lookupResponse = {
  type: 'object',
  required: ['data'],
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['profile_id', 'customer_user_id'],
        properties: { profile_id: { type: 'string', format: 'uuid' }, customer_user_id: nullableString },
      },
    },
  },
} as const;

export const historyResponse = {
  type: 'object',
  required: ['data', 'next_cursor'],
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'key', 'kind', 'old_value', 'new_value', 'other_profile_id', 'source', 'api_key_id', 'request_id', 'changed_at'],
        properties: {
          id: { type: 'string' },
          key: { type: 'string', enum: [...IDENTIFIER_KEYS] },
          kind: {
            type: 'string',
            enum: ['set', 'change', 'clear', 'moved_away', 'dropped'],
            description:
              'set, change, clear: this profile\'s value; moved_away: another profile took the value (conflict policy move); ' +
              'dropped: a placeholder value was left out (new_value shows it, old_value is the value kept)',
          },
          old_value: nullableString,
          new_value: nullableString,
          other_profile_id: { ...nullableString, description: 'For moves: the profile that took the value, or that lost it to this one' },
          source: { type: 'string', enum: ['api', 'batch', 'import'] },
          api_key_id: nullableString,
          request_id: nullableString,
          changed_at: { type: 'string', format: 'date-time' },
        },
      },
    },
    next_cursor: { ...nullableString, description: 'Pass as cursor for the next (older) page; null on the last page' },
  },
} as const;

export const batchRequest = {
  type: 'object',
  required: ['items'],
  properties: {
    create_missing: { type: 'boolean', default: false, description: 'Create the profile of an item addressed only by customer_user_id when it does not exist' },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_BATCH_ITEMS,
      items: {
        type: 'object',
        required: ['identifiers'],
        properties: {
          profile_id: { type: 'string', format: 'uuid' },
          customer_user_id: { type: 'string', maxLength: 256 },
          identifiers: { ...identifiersRequest, description: 'As the body of the Adapty-compatible set operation', example: undefined },
        },
      },
    },
  },
  example: {
    create_missing: true,
    items: [
      { customer_user_id: 'user-1', identifiers: { appsflyer_id: '1712345678901-1234567' } },
      { customer_user_id: 'user-2', identifiers: { amplitude_user_id: 'user-2', branch_id: null } },
    ],
  },
} as const;

export const batchResponse = {
  type: 'object',
  required: ['data', 'succeeded', 'failed'],
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'status'],
        properties: {
          index: { type: 'integer' },
          status: { type: 'integer', description: '200, or the status the item alone would have had' },
          profile_id: { type: 'string', format: 'uuid' },
          customer_user_id: nullableString,
          created: { type: 'boolean' },
          changed: { type: 'array', items: { type: 'string' }, description: 'Keys whose value changed' },
          dropped: { type: 'array', items: { type: 'string' }, description: 'Keys whose placeholder value was left out' },
          error: errorResponse,
        },
      },
    },
    succeeded: { type: 'integer' },
    failed: { type: 'integer' },
  },
} as const;
