import { Type } from 'typebox';
import { type InvalidBatchItem, MAX_BATCH_ITEMS, type ValidBatchItem } from '../../domain/batch.js';
import { MAX_CUSTOMER_USER_ID_LENGTH } from '../../domain/profile.js';
import { ApiError } from '../../errors.js';
import { checkIdentifiersBody, identifiersBody, toIdentifierChanges } from '../../schemas/identifiers.js';
import { apart, nullable, storable, Words } from '../../schemas/kit.js';
import { compile } from '../../schemas/validate.js';
import { errorResponse, nullableString } from './common.js';

/**
 * The batch request is validated in two steps. Its schema checks the envelope (`items`, 1 to 1,000,
 * and `create_missing`); each item is then checked on its own (checkBatchItem), so that a bad item
 * gets the error its own request would have had and does not fail the others.
 */

const NON_EMPTY = 'Must be a non-empty string.';

const addressProperties = {
  profile_id: Type.Optional(nullable(Type.String({ format: 'uuid', [Words]: { '*': 'Must be a valid UUID.' } }))),
  customer_user_id: Type.Optional(
    storable(nullable(Type.String({ minLength: 1, maxLength: MAX_CUSTOMER_USER_ID_LENGTH, [Words]: { type: NON_EMPTY, minLength: NON_EMPTY } }))),
  ),
};

/**
 * An item's address, checked first (as the headers of its own request would be); its identifiers
 * are checked next, as a body of their own.
 */
const itemAddress = Type.Refine(
  Type.Object({ ...addressProperties, identifiers: Type.Optional(Type.Unknown()) }, { [Words]: { type: 'Each item must be a JSON object.' } }),
  (item) => (item.profile_id ?? item.customer_user_id ?? null) !== null,
  () => 'Name the profile with profile_id, customer_user_id, or both.',
);

/** One item as the OpenAPI document shows it. */
const batchItem = Type.Object({
  ...addressProperties,
  identifiers: Type.Unsafe<unknown>({
    type: 'object',
    properties: identifiersBody.properties,
    description: 'As the body of the Adapty-compatible set operation',
  }),
});

export const batchBody = Type.Object(
  {
    items: Type.Array(apart(batchItem), {
      minItems: 1,
      maxItems: MAX_BATCH_ITEMS,
      description: 'Each item names a profile (profile_id, customer_user_id, or both) and the identifiers to set',
      [Words]: {
        type: 'Must be an array of items.',
        required: 'Must be an array of items.',
        minItems: 'Give at least one item.',
        maxItems: `Give at most ${MAX_BATCH_ITEMS} items; split larger writes.`,
      },
    }),
    create_missing: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Create the profile of an item addressed only by customer_user_id when it does not exist',
        [Words]: { '*': 'Must be true or false.' },
      }),
    ),
  },
  {
    example: {
      create_missing: true,
      items: [
        { customer_user_id: 'user-1', identifiers: { appsflyer_id: '1712345678901-1234567' } },
        { customer_user_id: 'user-2', identifiers: { amplitude_user_id: 'user-2', branch_id: null } },
      ],
    },
    [Words]: { type: 'Expected a JSON object with an "items" array.' },
  },
);

const checkAddress = compile(itemAddress);

/** One item: its address, then its identifiers exactly as the body of "set integration identifiers". */
export function checkBatchItem(raw: unknown, index: number): ValidBatchItem | InvalidBatchItem {
  const checked = checkAddress(raw);
  if (checked.error) return { index, error: checked.error };
  const item = checked.value;
  if (item.identifiers === undefined) {
    return { index, error: new ApiError('validation_error', [{ source: 'identifiers', errors: ['This field is required.'] }]) };
  }
  const identifiers = checkIdentifiersBody(item.identifiers);
  if (identifiers.error) return { index, error: identifiers.error };
  const address: ValidBatchItem['address'] = {};
  if (typeof item.profile_id === 'string') address.profileId = item.profile_id.toLowerCase();
  if (typeof item.customer_user_id === 'string') address.customerUserId = item.customer_user_id;
  return { index, address, changes: toIdentifierChanges(identifiers.value) };
}

export const batchResponse = Type.Object({
  data: Type.Array(
    Type.Object({
      index: Type.Integer(),
      status: Type.Integer({ description: '200, or the status the item alone would have had' }),
      profile_id: Type.Optional(Type.String({ format: 'uuid' })),
      customer_user_id: Type.Optional(nullableString),
      created: Type.Optional(Type.Boolean()),
      changed: Type.Optional(Type.Array(Type.String(), { description: 'Keys whose value changed' })),
      dropped: Type.Optional(Type.Array(Type.String(), { description: 'Keys whose placeholder value was left out' })),
      error: Type.Optional(errorResponse),
    }),
  ),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
});
