import { type Static, Type } from 'typebox';
import { countryCode } from '../domain/countries.js';
import { parseDateTime } from '../domain/formats.js';
import {
  CANCELLATION_REASONS,
  ENVIRONMENTS,
  MAX_ACCESS_LEVEL_ID_LENGTH,
  MAX_PRICE,
  MAX_STORE_TEXT_LENGTH,
  MAX_STORE_TRANSACTION_ID_LENGTH,
  OFFER_CATEGORIES,
  OFFER_TYPES,
  PURCHASE_TYPES,
  REFUND_PREFERENCES,
  type RefundSaverSettings,
  type TransactionInput,
} from '../domain/revenue.js';
import { apart, nullable, storable, Words } from './kit.js';
import { compile, parse } from './validate.js';

/**
 * The bodies of the revenue operations (set transaction, grant and revoke access level, Refund
 * Saver settings), read by the routes and by the CLI import. Times are RFC 3339 date-times; one
 * without an offset is read as UTC.
 */

const NON_EMPTY = 'Must be a non-empty string.';
const DATE_TIME = 'Must be a date-time such as 2024-01-15T10:30:00Z.';

const text = (maxLength: number, description?: string) =>
  storable(Type.String({ minLength: 1, maxLength, description, [Words]: { type: NON_EMPTY, minLength: NON_EMPTY } }));
const optionalText = (maxLength: number, description?: string) =>
  Type.Optional(storable(nullable(Type.String({ maxLength, description, [Words]: { type: 'Must be a string or null.' } }))));
const choice = <T extends string>(options: readonly T[]) =>
  Type.Unsafe<T>(Type.String({ enum: [...options], [Words]: { '*': `Must be one of: ${options.join(', ')}.` } }));
const dateTime = (description?: string) => Type.String({ format: 'date-time', description, [Words]: { '*': DATE_TIME } });
const optionalDateTime = (description?: string) =>
  Type.Optional(nullable(Type.String({ format: 'date-time', description, [Words]: { '*': `${DATE_TIME.slice(0, -1)}, or null.` } })));

const price = Type.Object(
  {
    country: Type.Refine(
      Type.String({ minLength: 2, maxLength: 2, description: 'ISO 3166-1 alpha-2', [Words]: { '*': 'Must be a two-letter ISO 3166-1 alpha-2 country code.' } }),
      (value) => countryCode(value) !== null,
      () => 'Must be a two-letter ISO 3166-1 alpha-2 country code.',
    ),
    currency: Type.String({ pattern: '^[A-Za-z]{3}$', description: 'ISO 4217', [Words]: { '*': 'Must be a three-letter ISO 4217 currency code.' } }),
    value: Type.Number({ minimum: 0, maximum: MAX_PRICE, [Words]: { '*': 'Must be a number from 0 to 1000000000000.' } }),
  },
  { [Words]: { type: 'Must be an object with country, currency and value.' } },
);

const offer = Type.Optional(
  nullable(
    Type.Object(
      {
        category: choice(OFFER_CATEGORIES),
        type: choice(OFFER_TYPES),
        id: optionalText(MAX_STORE_TEXT_LENGTH),
      },
      { [Words]: { type: 'Must be an object with category, type and id, or null.' } },
    ),
  ),
);

const common = {
  purchase_type: choice(PURCHASE_TYPES),
  store: text(MAX_STORE_TEXT_LENGTH, 'app_store, play_store, stripe, paddle, or a store of your own'),
  environment: Type.Optional(choice(ENVIRONMENTS)),
  store_product_id: text(MAX_STORE_TEXT_LENGTH),
  store_base_plan_id: optionalText(MAX_STORE_TEXT_LENGTH, 'Google Play base plan (an extension; the vendor leaves it out)'),
  store_transaction_id: text(MAX_STORE_TRANSACTION_ID_LENGTH, 'With store, what makes a transaction one: sent again, it updates that transaction'),
  store_original_transaction_id: text(MAX_STORE_TEXT_LENGTH),
  is_family_shared: Type.Optional(Type.Boolean({ [Words]: { '*': 'Must be a boolean.' } })),
  price,
  purchased_at: dateTime(),
  variation_id: optionalText(MAX_STORE_TEXT_LENGTH),
  offer,
  refunded_at: optionalDateTime('Set with cancellation_reason "refund"; the revenue no longer counts'),
  cancellation_reason: Type.Optional(nullable(choice(CANCELLATION_REASONS))),
};

const oneTimePurchase = Type.Object(common, { title: 'One-time purchase', [Words]: { type: 'Expected a JSON object.' } });

const subscription = Type.Object(
  {
    ...common,
    originally_purchased_at: dateTime(),
    expires_at: dateTime(),
    renew_status: Type.Boolean({ [Words]: { '*': 'Must be a boolean.' } }),
    renew_status_changed_at: optionalDateTime(),
    billing_issue_detected_at: optionalDateTime(),
    grace_period_expires_at: optionalDateTime(),
  },
  { title: 'Subscription', [Words]: { type: 'Expected a JSON object.' } },
);

type OneTimeBody = Static<typeof oneTimePurchase>;
type SubscriptionBody = Static<typeof subscription>;

const checkOneTime = compile(oneTimePurchase);
const checkSubscription = compile(subscription);

/**
 * The transaction body for the OpenAPI document: one of the two shapes, by `purchase_type`. It is
 * checked in the handler (parseTransaction) against the shape its `purchase_type` names, so that
 * its problems are those of one shape.
 */
export const transactionBody = apart(
  Type.Unsafe<unknown>({ oneOf: [oneTimePurchase, subscription], discriminator: { propertyName: 'purchase_type' } }),
);

/** A validated date-time as epoch milliseconds (its format was checked by parseDateTime already). */
const time = (value: string | null | undefined) => (value === null || value === undefined ? null : parseDateTime(value));

function pick<T extends object>(value: T, keys: readonly string[]): T {
  return Object.fromEntries(keys.filter((key) => Object.hasOwn(value, key)).map((key) => [key, value[key as keyof T]])) as T;
}

/** Validates a transaction body against the shape its purchase_type names; answers it in domain types. */
export function parseTransaction(body: unknown): TransactionInput {
  const isSubscription = typeof body === 'object' && body !== null && (body as { purchase_type?: unknown }).purchase_type === 'subscription';
  // The subscription's own fields are read only from a body checked as a subscription: on a
  // one-time purchase they are unknown fields, ignored like any other.
  const checked: OneTimeBody & Partial<SubscriptionBody> = isSubscription
    ? parse(checkSubscription, body)
    : pick(parse(checkOneTime, body), Object.keys(oneTimePurchase.properties));
  return {
    purchaseType: checked.purchase_type,
    store: checked.store,
    storeProductId: checked.store_product_id,
    storeBasePlanId: checked.store_base_plan_id ?? null,
    storeTransactionId: checked.store_transaction_id,
    storeOriginalTransactionId: checked.store_original_transaction_id,
    environment: checked.environment ?? 'Production',
    isFamilyShared: checked.is_family_shared ?? false,
    price: { country: countryCode(checked.price.country)!, currency: checked.price.currency.toUpperCase(), value: checked.price.value },
    purchasedAt: time(checked.purchased_at)!,
    originallyPurchasedAt: time(checked.originally_purchased_at),
    expiresAt: time(checked.expires_at),
    renewStatus: checked.renew_status ?? null,
    renewStatusChangedAt: time(checked.renew_status_changed_at),
    billingIssueDetectedAt: time(checked.billing_issue_detected_at),
    gracePeriodExpiresAt: time(checked.grace_period_expires_at),
    variationId: checked.variation_id ?? null,
    offer: checked.offer ? { category: checked.offer.category, type: checked.offer.type, id: checked.offer.id ?? null } : null,
    refundedAt: time(checked.refunded_at),
    cancellationReason: checked.cancellation_reason ?? null,
  };
}

const accessLevelId = storable(
  Type.String({
    minLength: 1,
    maxLength: MAX_ACCESS_LEVEL_ID_LENGTH,
    description: 'An access level configured for the app, or (by default) a new one',
    [Words]: { type: NON_EMPTY, minLength: NON_EMPTY },
  }),
);

export const grantBody = Type.Refine(
  Type.Object(
    {
      access_level_id: accessLevelId,
      starts_at: optionalDateTime('When the access starts (may be in the future); null or left out: now'),
      expires_at: optionalDateTime('When it ends (may be in the past); null or left out: lifetime'),
    },
    { [Words]: { type: 'Expected a JSON object.' } },
  ),
  (body) => !body.starts_at || !body.expires_at || time(body.expires_at)! > time(body.starts_at)!,
  () => 'expires_at must be later than starts_at.',
);

export const revokeBody = Type.Object(
  {
    access_level_id: accessLevelId,
    revoke_at: optionalDateTime('When the access ends (in the future); null or left out: now'),
  },
  { [Words]: { type: 'Expected a JSON object.' } },
);

export const refundSaverBody = Type.Refine(
  Type.Object(
    {
      custom_preference: Type.Optional(nullable(choice(REFUND_PREFERENCES))),
      consent: Type.Optional(nullable(Type.Boolean({ [Words]: { '*': 'Must be a boolean or null.' } }))),
    },
    { [Words]: { type: 'Expected a JSON object.' } },
  ),
  (body) => (body.custom_preference ?? null) !== null || (body.consent ?? null) !== null,
  () => 'Set consent, custom_preference, or both.',
);

export type GrantBody = Static<typeof grantBody>;
export type RevokeBody = Static<typeof revokeBody>;
export type RefundSaverBody = Static<typeof refundSaverBody>;

export const toGrant = (body: GrantBody) => ({
  accessLevelId: body.access_level_id,
  startsAt: time(body.starts_at),
  expiresAt: time(body.expires_at),
});

export const toRevoke = (body: RevokeBody) => ({ accessLevelId: body.access_level_id, revokeAt: time(body.revoke_at) });

/** The settings a body changes (null and left out keep the stored value). */
export function toRefundSaverChange(body: RefundSaverBody): Partial<RefundSaverSettings> {
  const change: Partial<RefundSaverSettings> = {};
  if (body.consent !== undefined && body.consent !== null) change.consent = body.consent;
  if (body.custom_preference !== undefined && body.custom_preference !== null) change.customPreference = body.custom_preference;
  return change;
}
