import { IDENTIFIER_KEYS } from '../domain/identifiers.js';

/**
 * Response schemas: they are the wire contract, let Fastify serialise answers quickly, and keep
 * any internal field from leaking.
 */
export const nullableString = { type: ['string', 'null'] } as const;

export const profileResponse = {
  type: 'object',
  required: ['data'],
  properties: {
    data: {
      type: 'object',
      required: [
        'app_id', 'profile_id', 'customer_user_id', 'total_revenue_usd', 'segment_hash', 'timestamp',
        'custom_attributes', 'access_levels', 'subscriptions', 'non_subscriptions',
      ],
      properties: {
        app_id: { type: 'string', format: 'uuid' },
        profile_id: { type: 'string', format: 'uuid' },
        customer_user_id: nullableString,
        total_revenue_usd: { type: 'number' },
        segment_hash: { type: 'string' },
        timestamp: { type: 'integer' },
        custom_attributes: {
          type: 'array',
          items: {
            type: 'object',
            required: ['key', 'value'],
            properties: { key: { type: 'string' }, value: { type: ['string', 'number'] } },
          },
        },
        access_levels: { type: 'array', items: {} },
        subscriptions: { type: 'array', items: {} },
        non_subscriptions: { type: 'array', items: {} },
      },
    },
  },
} as const;

export const identifiersResponse = {
  type: 'object',
  required: [...IDENTIFIER_KEYS],
  properties: Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, nullableString])),
} as const;
