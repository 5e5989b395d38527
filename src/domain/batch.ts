import { ApiError, FieldErrors } from '../errors.js';
import { charLength, isUuid, unstorableText } from './formats.js';
import { type IdentifierChanges, parseIdentifierChanges } from './identifiers.js';
import { MAX_CUSTOMER_USER_ID_LENGTH } from './profile.js';

export const MAX_BATCH_ITEMS = 1000;

/** A batch item that passed validation: its address and its identifier changes. */
export interface ValidBatchItem {
  index: number;
  address: { profileId?: string; customerUserId?: string };
  changes: IdentifierChanges;
}

/** A batch item refused before touching storage, with the error its own request would have had. */
export interface InvalidBatchItem {
  index: number;
  error: ApiError;
}

export interface ParsedBatch {
  createMissing: boolean;
  valid: ValidBatchItem[];
  invalid: InvalidBatchItem[];
}

function parseItem(raw: unknown, index: number): ValidBatchItem | InvalidBatchItem {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { index, error: ApiError.general('validation_error', 'Each item must be a JSON object.') };
  }
  const item = raw as Record<string, unknown>;
  const errors = new FieldErrors();
  const address: ValidBatchItem['address'] = {};
  if (item.profile_id !== undefined && item.profile_id !== null) {
    if (typeof item.profile_id !== 'string' || !isUuid(item.profile_id)) errors.add('profile_id', 'Must be a valid UUID.');
    else address.profileId = item.profile_id.toLowerCase();
  }
  if (item.customer_user_id !== undefined && item.customer_user_id !== null) {
    const cuid = item.customer_user_id;
    if (typeof cuid !== 'string' || cuid === '') errors.add('customer_user_id', 'Must be a non-empty string.');
    else if (unstorableText(cuid)) errors.add('customer_user_id', unstorableText(cuid)!);
    else if (charLength(cuid) > MAX_CUSTOMER_USER_ID_LENGTH) {
      errors.add('customer_user_id', `Ensure this field has no more than ${MAX_CUSTOMER_USER_ID_LENGTH} characters.`);
    } else address.customerUserId = cuid;
  }
  if (errors.empty && address.profileId === undefined && address.customerUserId === undefined) {
    errors.add('non_field_errors', 'Name the profile with profile_id, customer_user_id, or both.');
  }
  if (!errors.empty) return { index, error: ApiError.fields(errors) };
  if (item.identifiers === undefined) {
    return { index, error: new ApiError('validation_error', [{ source: 'identifiers', errors: ['This field is required.'] }]) };
  }
  try {
    return { index, address, changes: parseIdentifierChanges(item.identifiers) };
  } catch (error) {
    if (error instanceof ApiError) return { index, error };
    throw error;
  }
}

/**
 * Validates a batch body. A body that is not a batch at all is refused as a whole (ApiError);
 * otherwise each item is validated on its own and a bad item is reported without failing the rest.
 */
export function parseBatch(body: unknown): ParsedBatch {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ApiError.general('validation_error', 'Expected a JSON object with an "items" array.');
  }
  const { items, create_missing: createMissing } = body as Record<string, unknown>;
  const errors = new FieldErrors();
  if (!Array.isArray(items)) errors.add('items', 'Must be an array of items.');
  else if (items.length === 0) errors.add('items', 'Give at least one item.');
  else if (items.length > MAX_BATCH_ITEMS) errors.add('items', `Give at most ${MAX_BATCH_ITEMS} items; split larger writes.`);
  if (createMissing !== undefined && typeof createMissing !== 'boolean') errors.add('create_missing', 'Must be true or false.');
  errors.throwIfAny();
  const parsed: ParsedBatch = { createMissing: createMissing === true, valid: [], invalid: [] };
  (items as unknown[]).forEach((raw, index) => {
    const item = parseItem(raw, index);
    if ('error' in item) parsed.invalid.push(item);
    else parsed.valid.push(item);
  });
  return parsed;
}
