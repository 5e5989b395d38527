import { IDENTIFIER_KEYS } from '../domain/identifiers.js';
import { INSTALLATION_FIELDS } from '../domain/profile.js';
import { GENDERS, PLATFORMS, STORES } from '../domain/profile-request.js';
import { CUSTOMER_USER_ID_HEADER, PLATFORM_HEADER, PROFILE_ID_HEADER } from './addressing.js';

/**
 * Request schemas, for the OpenAPI document only: bodies and headers are checked by the domain
 * validators (src/domain), which report every problem in the contract's words.
 */
const nullable = (schema: Record<string, unknown>) => ({ ...schema, type: [schema.type, 'null'] });

export const errorResponse = {
  type: 'object',
  description: 'The one error envelope',
  required: ['errors', 'error_code', 'status_code'],
  properties: {
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['source', 'errors'],
        properties: {
          source: { type: ['string', 'null'], description: 'field, header, non_field_errors, or null' },
          errors: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    error_code: { type: 'string' },
    status_code: { type: 'integer' },
  },
} as const;

export const addressHeaders = (withPlatform = false) => ({
  type: 'object',
  properties: {
    [CUSTOMER_USER_ID_HEADER]: { type: 'string', maxLength: 256, description: 'Your own user id (this or the profile id, or both)' },
    [PROFILE_ID_HEADER]: { type: 'string', format: 'uuid', description: "The profile's UUID (this or the customer user id, or both)" },
    ...(withPlatform ? { [PLATFORM_HEADER]: { type: 'string', enum: [...PLATFORMS], description: "Fills installation_meta.platform when it is left out" } } : {}),
  },
});

const text = (maxLength: number) => nullable({ type: 'string', maxLength });

export const profileRequest = {
  type: 'object',
  description: 'Every field is optional; a field left out keeps its value, null clears it.',
  properties: {
    first_name: text(256),
    last_name: text(256),
    gender: nullable({ type: 'string', enum: [...GENDERS, null] }),
    email: nullable({ type: 'string', format: 'email' }),
    phone_number: text(256),
    birthday: nullable({ type: 'string', format: 'date' }),
    ip_country: nullable({ type: 'string', minLength: 2, maxLength: 2, description: 'ISO 3166-1 alpha-2' }),
    ip_v4_address: nullable({ type: 'string', format: 'ipv4' }),
    store_country: nullable({ type: 'string', minLength: 2, maxLength: 2, description: 'ISO 3166-1 alpha-2' }),
    store: nullable({ type: 'string', enum: [...STORES, null] }),
    store_account_token: nullable({ type: 'string', format: 'uuid' }),
    att_status: nullable({ type: 'integer', enum: [0, 1, 2, 3, null] }),
    analytics_disabled: nullable({ type: 'boolean' }),
    custom_attributes: {
      type: ['array', 'null'],
      description: 'Merged by key; a null or "" value deletes the key; at most 30 per profile',
      items: {
        type: 'object',
        required: ['key', 'value'],
        properties: {
          key: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,30}$' },
          value: { type: ['string', 'number', 'null'], maxLength: 50 },
        },
      },
    },
    installation_meta: {
      type: 'object',
      description: 'One device, upserted by device_id',
      required: ['device_id'],
      properties: {
        device_id: { type: 'string', format: 'uuid' },
        ...Object.fromEntries(
          INSTALLATION_FIELDS.map((field) => [field, field === 'platform' ? nullable({ type: 'string', enum: [...PLATFORMS, null] }) : text(512)]),
        ),
      },
    },
  },
} as const;

export const identifiersRequest = {
  type: 'object',
  description: 'Keys given are set (string or number) or cleared (null); keys left out are kept. At least one key.',
  properties: Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, { type: ['string', 'number', 'null'], maxLength: 512 }])),
  example: { appsflyer_id: '1712345678901-1234567', amplitude_user_id: 'user-42' },
} as const;

/** The error statuses every authenticated, profile-addressed operation can answer. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries([400, 401, ...statuses, 413, 415, 429].map((status) => [status, errorResponse]));
