import { Type } from 'typebox';
import { nullableString } from './common.js';

/** The answer of the profile operations: exactly the vendor's `Profile` object inside `data`. */
export const profileResponse = Type.Object({
  data: Type.Object({
    app_id: Type.String({ format: 'uuid' }),
    profile_id: Type.String({ format: 'uuid' }),
    customer_user_id: nullableString,
    total_revenue_usd: Type.Number(),
    segment_hash: Type.String(),
    timestamp: Type.Integer(),
    custom_attributes: Type.Array(Type.Object({ key: Type.String(), value: Type.Unsafe<string | number>({ type: ['string', 'number'] }) })),
    access_levels: Type.Array(Type.Unknown()),
    subscriptions: Type.Array(Type.Unknown()),
    non_subscriptions: Type.Array(Type.Unknown()),
  }),
});
