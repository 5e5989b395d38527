/** Error codes Crosswalk (and Adapty, for these operations) puts in `error_code`. */
export type KnownErrorCode =
  | 'not_authenticated'
  | 'unauthorized'
  /** 403 (Crosswalk): the key's scope (read, write, admin) does not cover the operation. */
  | 'forbidden'
  | 'validation_error'
  | 'parse_error'
  | 'profile_does_not_exist'
  | 'profile_not_found'
  | 'not_found'
  | 'method_not_allowed'
  /** 409: another profile of the app holds the value and the key's conflict policy is `reject`. */
  | 'identifier_conflict'
  | 'request_timeout'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'headers_too_large'
  | 'internal_error'
  | 'service_unavailable'
  /** 400 from `revokeAccessLevel`: `revoke_at` is not in the future. */
  | 'value_error'
  | TransactionErrorCode
  | AccessLevelErrorCode
  /** The answer was not an error envelope (e.g. an HTML page from a proxy). */
  | 'unknown';

/**
 * 400 from `setTransaction`: the transaction breaks one of the vendor's rules on its fields (one
 * code per answer, the first rule broken; the item's `source` names the field).
 */
export type TransactionErrorCode =
  /** A one-time purchase whose `store_transaction_id` differs from its `store_original_transaction_id`. */
  | 'store_transaction_id_error'
  /** A one-time purchase with a free trial offer. */
  | 'one_time_purchase_trial_error'
  /** A free trial whose price is not 0. */
  | 'free_trial_price_error'
  /** A family-shared purchase whose price is not 0. */
  | 'family_share_price_error'
  /** An offer other than introductory without its id. */
  | 'missing_offer_id'
  /** `originally_purchased_at` later than `purchased_at`. */
  | 'originally_purchased_date_error'
  /** `expires_at` not later than `purchased_at`. */
  | 'expires_date_error'
  /** `renew_status_changed_at` not later than `purchased_at`. */
  | 'renew_status_changed_date_error'
  /** `billing_issue_detected_at` not later than `purchased_at`. */
  | 'billing_issue_detected_at_date_comparison_error'
  /** `grace_period_expires_at` without `billing_issue_detected_at`. */
  | 'grace_period_billing_error'
  /** `grace_period_expires_at` earlier than `expires_at`. */
  | 'grace_period_expires_date_error'
  /** `refunded_at` without `cancellation_reason: 'refund'`, or the other way round. */
  | 'refund_fields_error'
  /** `refunded_at` not later than `purchased_at`. */
  | 'refund_date_error';

/** 400 from the access level operations. */
export type AccessLevelErrorCode =
  /** The app has no such access level (revoke; grant and transactions too when the app refuses unknown ones). */
  | 'paid_access_level_does_not_exist'
  /** Revoke: the profile never had this access level. */
  | 'profile_paid_access_level_does_not_exist'
  /** Revoke: `revoke_at` is later than the access level expires. */
  | 'revocation_date_more_than_expiration_date';

/** A known code, or any other string a server may send. */
export type ErrorCode = KnownErrorCode | (string & {});

/** One item of the envelope: `source` is a field, a header, `non_field_errors` or `null`. */
export interface ErrorItem {
  source: string | null;
  errors: string[];
}

/** An HTTP answer that was not a success. */
export interface ErrorResponse {
  status: number;
  /** The body: the parsed JSON when it is JSON, else the text ('' when empty). */
  body: unknown;
  /** The `Retry-After` header in seconds, when given as a number. */
  retryAfter?: number;
}

const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['profile_does_not_exist', 'profile_not_found']);
const VALIDATION_CODES: ReadonlySet<string> = new Set(['validation_error', 'parse_error', 'value_error']);
const AUTH_CODES: ReadonlySet<string> = new Set(['not_authenticated', 'unauthorized']);
const CONFLICT_CODES: ReadonlySet<string> = new Set(['identifier_conflict']);
const FORBIDDEN_CODES: ReadonlySet<string> = new Set(['forbidden']);
const TRANSACTION_CODES: ReadonlySet<string> = new Set<TransactionErrorCode>([
  'store_transaction_id_error',
  'one_time_purchase_trial_error',
  'free_trial_price_error',
  'family_share_price_error',
  'missing_offer_id',
  'originally_purchased_date_error',
  'expires_date_error',
  'renew_status_changed_date_error',
  'billing_issue_detected_at_date_comparison_error',
  'grace_period_billing_error',
  'grace_period_expires_date_error',
  'refund_fields_error',
  'refund_date_error',
]);
const ACCESS_LEVEL_CODES: ReadonlySet<string> = new Set<AccessLevelErrorCode>([
  'paid_access_level_does_not_exist',
  'profile_paid_access_level_does_not_exist',
  'revocation_date_more_than_expiration_date',
]);

/**
 * The server answered with an error. Subclasses name the common cases; anything else is a
 * plain `CrosswalkError` (check `status` and `errorCode`).
 */
export class CrosswalkError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The envelope's `error_code`, or `'unknown'` when the body was not an envelope. */
  readonly errorCode: ErrorCode;
  /** The envelope's items; bare-string items (as in some Adapty answers) get `source: null`. */
  readonly errors: ErrorItem[];
  /** The whole body: parsed JSON when it was JSON, else the text. */
  readonly body: unknown;
  /** Seconds to wait before retrying, from `Retry-After` (e.g. on 429 `rate_limited`). */
  readonly retryAfter: number | undefined;

  constructor(response: ErrorResponse, errorCode: ErrorCode, errors: ErrorItem[]) {
    const detail = errors.flatMap((item) => item.errors).join(' ');
    super(`${response.status} ${errorCode}${detail ? `: ${detail}` : ''}`);
    this.name = new.target.name;
    this.status = response.status;
    this.errorCode = errorCode;
    this.errors = errors;
    this.body = response.body;
    this.retryAfter = response.retryAfter;
  }

  /** The messages reported for one source (a field, a header, `non_field_errors` or `null`). */
  messagesFor(source: string | null): string[] {
    return this.errors.filter((item) => item.source === source).flatMap((item) => item.errors);
  }
}

/**
 * `profile_does_not_exist` (404 from the profile operations, 400 from the purchase and Refund
 * Saver operations, as Adapty answers them) or 404 `profile_not_found` (identifier operations).
 */
export class CrosswalkNotFoundError extends CrosswalkError {}

/**
 * 400 `validation_error` or `parse_error`: see `errors` for the fields and headers at fault; or
 * `value_error`, a value the operation cannot take now (a `revoke_at` in the past).
 */
export class CrosswalkValidationError extends CrosswalkError {}

/** 400 from `setTransaction`: the transaction breaks a rule; `errorCode` names which, the item's `source` the field. */
export class CrosswalkTransactionError extends CrosswalkError {
  declare readonly errorCode: TransactionErrorCode;
}

/** 400 from the access level operations: an access level the app or the profile does not have, or a `revoke_at` too late. */
export class CrosswalkAccessLevelError extends CrosswalkError {
  declare readonly errorCode: AccessLevelErrorCode;
}

/** 401 `not_authenticated` (no usable key) or `unauthorized` (unknown or revoked key). */
export class CrosswalkAuthError extends CrosswalkError {}

/**
 * 403 `forbidden` (Crosswalk): the key is valid, but its scope does not cover the operation (a
 * `read` key writing, a `write` key managing webhooks, the revenue configuration or the app's
 * counts). The message names both scopes.
 */
export class CrosswalkForbiddenError extends CrosswalkError {}

/**
 * 409 `identifier_conflict`: another profile of the app holds a value this write sets, and the
 * app's conflict policy for that key is `reject`. One item per key at fault (`source` is the key);
 * nothing of the request was written.
 */
export class CrosswalkConflictError extends CrosswalkError {}

/** The request got no answer: connection refused, reset, DNS failure and the like. */
export class CrosswalkNetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No complete answer arrived within `timeoutMs`; the request was aborted. */
export class CrosswalkTimeoutError extends CrosswalkNetworkError {
  constructor(readonly timeoutMs: number) {
    super(`No answer within ${timeoutMs} ms`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The envelope's items, or undefined when `errors` is not a list of items or strings. */
function readItems(errors: unknown): ErrorItem[] | undefined {
  if (!Array.isArray(errors)) return undefined;
  const items: ErrorItem[] = [];
  const loose: string[] = [];
  for (const item of errors) {
    if (typeof item === 'string') loose.push(item);
    else if (
      isObject(item) &&
      (item.source === null || item.source === undefined || typeof item.source === 'string') &&
      Array.isArray(item.errors) &&
      item.errors.every((message) => typeof message === 'string')
    ) {
      items.push({ source: item.source ?? null, errors: item.errors as string[] });
    } else return undefined;
  }
  if (loose.length > 0) items.push({ source: null, errors: loose });
  return items;
}

/** The typed error for an answer that was not a success. */
export function errorFromResponse(response: ErrorResponse): CrosswalkError {
  const body = response.body;
  const items = isObject(body) && typeof body.error_code === 'string' ? readItems(body.errors) : undefined;
  if (!items || !isObject(body)) return new CrosswalkError(response, 'unknown', []);
  const code = body.error_code as string;
  if (NOT_FOUND_CODES.has(code)) return new CrosswalkNotFoundError(response, code, items);
  if (VALIDATION_CODES.has(code)) return new CrosswalkValidationError(response, code, items);
  if (AUTH_CODES.has(code)) return new CrosswalkAuthError(response, code, items);
  if (CONFLICT_CODES.has(code)) return new CrosswalkConflictError(response, code, items);
  if (FORBIDDEN_CODES.has(code)) return new CrosswalkForbiddenError(response, code, items);
  if (TRANSACTION_CODES.has(code)) return new CrosswalkTransactionError(response, code, items);
  if (ACCESS_LEVEL_CODES.has(code)) return new CrosswalkAccessLevelError(response, code, items);
  return new CrosswalkError(response, code, items);
}
