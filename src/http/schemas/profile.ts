import { Type } from 'typebox';
import { nullable } from '../../schemas/kit.js';
import { nullableString } from './common.js';

/**
 * The vendor's profile objects, as answered. Fastify serialises answers by these schemas, so a
 * field missing here would be missing on the wire.
 */

const dateTime = Type.String({ format: 'date-time' });
const nullableDateTime = nullable(Type.String({ format: 'date-time' }));

const offer = nullable(
  Type.Object({ category: Type.String(), type: Type.String(), id: nullableString }, { description: 'The offer applied, or null' }),
);

const storeFields = {
  store: Type.String(),
  store_product_id: Type.String(),
  store_base_plan_id: nullableString,
  store_transaction_id: Type.String(),
  store_original_transaction_id: Type.String(),
};

const renewalFields = {
  expires_at: nullableDateTime,
  renewal_cancelled_at: nullableDateTime,
  billing_issue_detected_at: nullableDateTime,
  is_in_grace_period: Type.Boolean(),
  cancellation_reason: nullableString,
};

export const accessLevelObject = Type.Object(
  {
    access_level_id: Type.String(),
    is_active: Type.Boolean({ description: 'Active now (an extension: computed when the profile is read)' }),
    is_lifetime: Type.Boolean({ description: 'Never expires (an extension)' }),
    ...storeFields,
    offer,
    starts_at: nullableDateTime,
    purchased_at: dateTime,
    originally_purchased_at: dateTime,
    ...renewalFields,
  },
  { description: 'One access level: the transaction or grant that gives it the longest (store "adapty" for a grant)' },
);

const subscriptionObject = Type.Object({
  ...storeFields,
  offer,
  environment: Type.String(),
  purchased_at: dateTime,
  originally_purchased_at: dateTime,
  ...renewalFields,
  is_active: Type.Boolean({ description: 'Active now (an extension)' }),
});

const nonSubscriptionObject = Type.Object({
  purchase_id: Type.String({ format: 'uuid' }),
  ...storeFields,
  purchased_at: dateTime,
  environment: Type.String(),
  is_refund: Type.Boolean(),
  is_consumable: Type.Boolean(),
});

/** The answer of the profile and purchase operations: exactly the vendor's `Profile` object inside `data`. */
export const profileResponse = Type.Object({
  data: Type.Object({
    app_id: Type.String({ format: 'uuid' }),
    profile_id: Type.String({ format: 'uuid' }),
    customer_user_id: nullableString,
    total_revenue_usd: Type.Number({ description: 'Production transactions not refunded, in US dollars, rounded to cents' }),
    segment_hash: Type.String(),
    timestamp: Type.Integer(),
    custom_attributes: Type.Array(Type.Object({ key: Type.String(), value: Type.Unsafe<string | number>({ type: ['string', 'number'] }) })),
    access_levels: Type.Array(accessLevelObject),
    subscriptions: Type.Array(subscriptionObject, { description: 'The latest transaction of each subscription' }),
    non_subscriptions: Type.Array(nonSubscriptionObject, { description: 'Every one-time purchase, newest first' }),
  }),
});

/** The Refund Saver settings of one profile (not wrapped in `data`, as the vendor answers them). */
export const refundSaverResponse = Type.Object({
  profile_id: Type.String({ format: 'uuid' }),
  settings: Type.Object({
    consent: Type.Boolean(),
    custom_preference: Type.String({ enum: ['grant', 'no_preference', 'decline'] }),
  }),
});
