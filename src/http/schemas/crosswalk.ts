import { Type } from 'typebox';
import { charLength, unstorableText } from '../../domain/formats.js';
import { IDENTIFIER_KEYS, type IdentifierKey, MAX_IDENTIFIER_LENGTH } from '../../domain/identifiers.js';
import { nullable, pageCursor, pageLimit, Words } from '../../schemas/kit.js';
import { data, nullableString } from './common.js';

/** Schemas of the /crosswalk/v1 lookup and history operations (batch: batch.ts). */

/** The most profiles one lookup answers; a value held by more is not an identifier of one user. */
export const LOOKUP_LIMIT = 1000;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 500;

const REQUIRED = 'This query parameter is required.';
const REPEATED = 'Give this query parameter only once.';

const identifierKey = (description?: string) =>
  Type.Unsafe<IdentifierKey>(
    Type.String({
      enum: [...IDENTIFIER_KEYS],
      description,
      [Words]: { '*': `Must be one of the integration identifier keys: ${IDENTIFIER_KEYS.join(', ')}.`, required: REQUIRED },
    }),
  );

/**
 * Why a looked-up value cannot be a stored one, or null. By hand: it is trimmed first, as writes
 * trim values, and counted in characters.
 */
function lookupValueProblem(raw: string): string | null {
  const value = raw.trim();
  if (value === '') return REQUIRED;
  return unstorableText(value) ?? (charLength(value) > MAX_IDENTIFIER_LENGTH ? `Ensure this value has no more than ${MAX_IDENTIFIER_LENGTH} characters.` : null);
}

export const lookupQuery = Type.Object(
  {
    key: Type.Optional(identifierKey('Only this key; left out, every one of the 16 keys')),
    value: Type.Refine(
      Type.String({ description: `Trimmed, as writes trim values; at most ${MAX_IDENTIFIER_LENGTH} characters`, [Words]: { required: REQUIRED } }),
      (value) => lookupValueProblem(value) === null,
      (value) => lookupValueProblem(value) ?? '',
    ),
  },
  { [Words]: { repeated: REPEATED } },
);

export const historyQuery = Type.Object(
  {
    key: Type.Optional(identifierKey('Only this key')),
    limit: pageLimit(HISTORY_MAX_LIMIT, HISTORY_DEFAULT_LIMIT),
    cursor: pageCursor('Not a cursor this API gave out: pass next_cursor from the previous page unchanged.'),
  },
  { [Words]: { repeated: REPEATED } },
);

export const lookupResponse = data(
  Type.Array(
    Type.Object({
      profile_id: Type.String({ format: 'uuid' }),
      customer_user_id: nullableString,
      key: Type.String({ enum: [...IDENTIFIER_KEYS], description: 'The key under which the profile holds the value' }),
    }),
  ),
);

// Answers: enums are documented; values are typed as storage reads them.
export const historyResponse = Type.Object({
  data: Type.Array(
    Type.Object({
      id: Type.String(),
      key: Type.String({ enum: [...IDENTIFIER_KEYS] }),
      kind: Type.String({
        enum: ['set', 'change', 'clear', 'moved_away', 'dropped'],
        description:
          "set, change, clear: this profile's value; moved_away: another profile took the value (conflict policy move); " +
          'dropped: a placeholder value was left out (new_value shows it, old_value is the value kept)',
      }),
      old_value: nullableString,
      new_value: nullableString,
      other_profile_id: nullable(Type.String({ description: 'For moves: the profile that took the value, or that lost it to this one' })),
      source: Type.String({ enum: ['api', 'batch', 'import'] }),
      api_key_id: nullableString,
      request_id: nullableString,
      changed_at: Type.String({ format: 'date-time' }),
    }),
  ),
  next_cursor: nullable(Type.String({ description: 'Pass as cursor for the next (older) page; null on the last page' })),
});
