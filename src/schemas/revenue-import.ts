import { type Static, Type } from 'typebox';
import { parseDateTime } from '../domain/formats.js';
import { MAX_ACCESS_LEVEL_ID_LENGTH } from '../domain/revenue.js';
import { ApiError } from '../errors.js';
import { nullable, storable, Words } from './kit.js';
import { grantBody, refundSaverBody, toGrant, toRefundSaverChange } from './revenue.js';
import { compile, parse } from './validate.js';

/**
 * What `crosswalk import` reads of a profile's revenue beyond the operations' bodies: the fields
 * `crosswalk export` writes with each transaction and grant. Each is optional: left out, it is
 * decided as the operation decides it. The bodies themselves (a transaction, a grant, Refund
 * Saver settings) are checked by the operations' own schemas.
 */

const DATE_TIME = 'Must be a date-time such as 2024-01-15T10:30:00Z.';
const dateTime = Type.String({ format: 'date-time', [Words]: { '*': DATE_TIME } });
const dateTimeOrNull = nullable(Type.String({ format: 'date-time', [Words]: { '*': `${DATE_TIME.slice(0, -1)}, or null.` } }));

const storedTransaction = Type.Object(
  {
    purchase_id: Type.Optional(Type.String({ format: 'uuid', [Words]: { '*': 'Must be a valid UUID.' } })),
    price_usd: Type.Optional(nullable(Type.Number({ minimum: 0, [Words]: { '*': 'Must be a number from 0, or null.' } }))),
    access_level_id: Type.Optional(
      storable(
        nullable(
          Type.String({
            minLength: 1,
            maxLength: MAX_ACCESS_LEVEL_ID_LENGTH,
            [Words]: { type: 'Must be a non-empty string, or null.', minLength: 'Must be a non-empty string, or null.' },
          }),
        ),
      ),
    ),
    is_consumable: Type.Optional(Type.Boolean({ [Words]: { '*': 'Must be a boolean.' } })),
    access_ends_at: Type.Optional(dateTimeOrNull),
    created_at: Type.Optional(dateTime),
    updated_at: Type.Optional(dateTime),
  },
  { [Words]: { type: 'Expected a JSON object.' } },
);

const storedGrant = Type.Object(
  { access_ends_at: Type.Optional(dateTimeOrNull), granted_at: Type.Optional(dateTime) },
  { [Words]: { type: 'Expected a JSON object.' } },
);

const checkStoredTransaction = compile(storedTransaction);
const checkStoredGrant = compile(storedGrant);
const checkGrant = compile(grantBody);
const checkRefundSaver = compile(refundSaverBody);

const time = (value: string) => parseDateTime(value)!;
const timeOrNull = (value: string | null) => (value === null ? null : time(value));

/**
 * A transaction's stored fields (`purchase_id`, `price_usd`, `access_level_id`, `is_consumable`,
 * `access_ends_at`, `created_at`, `updated_at`), those given only; throws the ApiError of their
 * problems. The transaction itself is read by parseTransaction.
 */
export function parseStoredTransaction(body: unknown) {
  const checked = parse(checkStoredTransaction, body);
  const stored: {
    purchaseId?: string;
    priceUsd?: number | null;
    accessLevelId?: string | null;
    isConsumable?: boolean;
    accessEndsAt?: number | null;
    createdAt?: number;
    updatedAt?: number;
  } = {};
  if (checked.purchase_id !== undefined) stored.purchaseId = checked.purchase_id.toLowerCase();
  if (checked.price_usd !== undefined) stored.priceUsd = checked.price_usd;
  if (checked.access_level_id !== undefined) stored.accessLevelId = checked.access_level_id;
  if (checked.is_consumable !== undefined) stored.isConsumable = checked.is_consumable;
  if (checked.access_ends_at !== undefined) stored.accessEndsAt = timeOrNull(checked.access_ends_at);
  if (checked.created_at !== undefined) stored.createdAt = time(checked.created_at);
  if (checked.updated_at !== undefined) stored.updatedAt = time(checked.updated_at);
  return stored;
}

/**
 * A grant as the export writes it: the grant operation's body (`access_level_id`, `starts_at`,
 * `expires_at`) plus `access_ends_at` (null or left out: not revoked) and `granted_at` (left out:
 * now). Throws the ApiError of the problems of both parts.
 */
export function parseImportedGrant(body: unknown) {
  const problems = [checkGrant, checkStoredGrant].flatMap((check) => check(body).error?.items ?? []);
  if (problems.length > 0) throw new ApiError('validation_error', problems);
  const checked = body as Static<typeof grantBody> & Static<typeof storedGrant>;
  const grant: ReturnType<typeof toGrant> & { accessEndsAt: number | null; grantedAt?: number } = {
    ...toGrant(checked),
    accessEndsAt: timeOrNull(checked.access_ends_at ?? null),
  };
  if (checked.granted_at !== undefined) grant.grantedAt = time(checked.granted_at);
  return grant;
}

/** Refund Saver settings as the export writes them, read as the body of the operation that sets them. */
export function parseImportedRefundSaver(body: unknown) {
  return toRefundSaverChange(parse(checkRefundSaver, body));
}
