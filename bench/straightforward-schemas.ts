// The straightforward service's JSON schemas, checked by Fastify's own validator, and the 16 keys.

export const KEYS = [
  'adjust_device_id', 'airbridge_device_id', 'amplitude_device_id', 'amplitude_user_id', 'appmetrica_device_id',
  'appmetrica_profile_id', 'appsflyer_id', 'branch_id', 'facebook_anonymous_id', 'firebase_app_instance_id',
  'mixpanel_user_id', 'one_signal_player_id', 'one_signal_subscription_id', 'posthog_distinct_user_id', 'pushwoosh_hwid',
  'tenjin_analytics_installation_id',
];

export const headers = {
  type: 'object',
  required: ['authorization', 'adapty-customer-user-id'],
  properties: { authorization: { type: 'string' }, 'adapty-customer-user-id': { type: 'string', minLength: 1, maxLength: 256 } },
};
export const identifiersBody = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: Object.fromEntries(KEYS.map((key) => [key, { type: ['string', 'number', 'null'], maxLength: 512 }])),
};
const date = { type: 'string', format: 'date-time' };
export const transactionBody = {
  type: 'object',
  required: ['purchase_type', 'store', 'store_product_id', 'store_transaction_id', 'store_original_transaction_id', 'price', 'purchased_at'],
  properties: {
    purchase_type: { enum: ['subscription', 'one_time_purchase'] },
    store: { type: 'string', minLength: 1, maxLength: 100 },
    store_product_id: { type: 'string', minLength: 1, maxLength: 256 },
    store_transaction_id: { type: 'string', minLength: 1, maxLength: 256 },
    store_original_transaction_id: { type: 'string', minLength: 1, maxLength: 256 },
    price: {
      type: 'object',
      required: ['country', 'currency', 'value'],
      properties: { country: { type: 'string' }, currency: { type: 'string', pattern: '^[A-Z]{3}$' }, value: { type: 'number', minimum: 0 } },
    },
    purchased_at: date,
    originally_purchased_at: date,
    expires_at: date,
    renew_status: { type: 'boolean' },
  },
};
export const grantBody = {
  type: 'object',
  required: ['access_level_id'],
  properties: { access_level_id: { type: 'string', minLength: 1, maxLength: 100 }, expires_at: { ...date, nullable: true } },
};

export interface TransactionBody {
  purchase_type: string;
  store: string;
  store_product_id: string;
  store_transaction_id: string;
  store_original_transaction_id: string;
  price: { country: string; currency: string; value: number };
  purchased_at: string;
  expires_at?: string;
}
