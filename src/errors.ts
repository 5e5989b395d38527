/**
 * The closed catalogue of error codes and the one error class that carries them to the wire.
 * Every error answer has the envelope
 * `{"errors":[{"source", "errors":[...]}], "error_code", "status_code"}`.
 */
export const ERROR_STATUS = {
  not_authenticated: 401,
  unauthorized: 401,
  // A valid key whose scope does not cover the operation (see KEY_SCOPES in domain/api-keys.ts).
  forbidden: 403,
  validation_error: 400,
  parse_error: 400,
  profile_does_not_exist: 404,
  profile_not_found: 404,
  not_found: 404,
  method_not_allowed: 405,
  identifier_conflict: 409,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  headers_too_large: 431,
  // The revenue operations' own codes, each a 400 as the vendor answers them.
  paid_access_level_does_not_exist: 400,
  profile_paid_access_level_does_not_exist: 400,
  revocation_date_more_than_expiration_date: 400,
  value_error: 400,
  store_transaction_id_error: 400,
  one_time_purchase_trial_error: 400,
  free_trial_price_error: 400,
  family_share_price_error: 400,
  missing_offer_id: 400,
  originally_purchased_date_error: 400,
  expires_date_error: 400,
  renew_status_changed_date_error: 400,
  billing_issue_detected_at_date_comparison_error: 400,
  grace_period_billing_error: 400,
  grace_period_expires_date_error: 400,
  refund_fields_error: 400,
  refund_date_error: 400,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorItem {
  source: string | null;
  errors: string[];
}

export interface ErrorBody {
  errors: ErrorItem[];
  error_code: ErrorCode;
  status_code: number;
}

export class ApiError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    readonly items: ErrorItem[],
    readonly headers: Record<string, string> = {},
    /** Where one operation answers a code with another status than the catalogue's (see purchaseProfileNotFound). */
    status?: number,
  ) {
    super(items.flatMap((item) => item.errors).join(' ') || code);
    this.name = 'ApiError';
    this.statusCode = status ?? ERROR_STATUS[code];
  }

  /** One whole-request message under `non_field_errors`. */
  static general(code: ErrorCode, message: string): ApiError {
    return new ApiError(code, [{ source: 'non_field_errors', errors: [message] }]);
  }

  /** Field errors collected by a validator: one item per source, in the order found. */
  static fields(errors: FieldErrors): ApiError {
    return new ApiError('validation_error', errors.items());
  }

  toBody(): ErrorBody {
    return { errors: this.items, error_code: this.code, status_code: this.statusCode };
  }
}

/** Collects messages per source so that all problems of one request are reported together. */
export class FieldErrors {
  private readonly bySource = new Map<string, string[]>();

  add(source: string, message: string): void {
    const list = this.bySource.get(source);
    if (list) list.push(message);
    else this.bySource.set(source, [message]);
  }

  get empty(): boolean {
    return this.bySource.size === 0;
  }

  items(): ErrorItem[] {
    return [...this.bySource].map(([source, errors]) => ({ source, errors }));
  }

  throwIfAny(): void {
    if (!this.empty) throw ApiError.fields(this);
  }
}

/** Raised by storage when a customer user id is already held by another profile of the app. */
export class CustomerUserIdTakenError extends Error {
  constructor() {
    super('customer user id is held by another profile');
    this.name = 'CustomerUserIdTakenError';
  }
}

/** Raised by storage when a write would leave a profile with too many custom attributes. */
export class CustomAttributeLimitError extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} custom attributes`);
    this.name = 'CustomAttributeLimitError';
  }
}

/** Raised by storage when an app name is already in use. */
export class AppNameTakenError extends Error {
  constructor(readonly appName: string) {
    super(`an app named "${appName}" already exists`);
    this.name = 'AppNameTakenError';
  }
}

/** Raised by storage when a write sets a value that another profile holds, under a `reject` policy. */
export class IdentifierConflictError extends Error {
  constructor(readonly keys: readonly string[]) {
    super(`values of ${keys.join(', ')} are held by another profile`);
    this.name = 'IdentifierConflictError';
  }
}

/** Raised by storage when an app already has as many webhook endpoints as it may. */
export class EndpointLimitError extends Error {
  constructor(
    readonly limit: number,
    /** `webhook endpoints` or `destinations`. */
    readonly what = 'webhook endpoints',
  ) {
    super(`an app can have at most ${limit} ${what}`);
    this.name = 'EndpointLimitError';
  }
}

/** 404 `not_found` for a thing of the /crosswalk/v1 API (an endpoint, a delivery, a destination, an app). */
export function notFound(message: string): ApiError {
  return new ApiError('not_found', [{ source: null, errors: [message] }]);
}

/** The answer to a profile that does not exist; the profile operations use their own code for it. */
export function profileNotFound(code: 'profile_not_found' | 'profile_does_not_exist' = 'profile_not_found'): ApiError {
  return new ApiError(code, [{ source: null, errors: ['Profile not found'] }]);
}

/**
 * The answer of the purchase and Refund Saver operations to a profile that does not exist: the
 * vendor answers them 400, not 404, with its own words on each family.
 */
export function purchaseProfileNotFound(message: 'Profile not found' | 'Profile does not exist'): ApiError {
  return new ApiError('profile_does_not_exist', [{ source: 'non_field_errors', errors: [message] }], {}, 400);
}

/** Raised by a write when a store transaction id is already recorded for another profile of the app. */
export class TransactionOwnedError extends Error {
  constructor() {
    super('the transaction is recorded for another profile');
    this.name = 'TransactionOwnedError';
  }
}

/**
 * Raised when the server is too busy to take more work now: the SQLite write queue is full, no
 * pooled PostgreSQL connection came free in time, or a statement ran past its time limit. Answered
 * 503 with `Retry-After`; nothing of the refused request was written.
 */
export class OverloadedError extends Error {
  constructor(
    readonly reason: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(reason);
    this.name = 'OverloadedError';
  }
}

/**
 * The wire form of an error raised below the HTTP layer: ApiError as it is, the domain errors
 * worded as the API words them, and null for anything else (the caller decides).
 */
export function domainErrorToApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof CustomerUserIdTakenError) {
    return new ApiError('validation_error', [
      { source: 'adapty-customer-user-id', errors: ['This customer user id already belongs to another profile.'] },
    ]);
  }
  if (error instanceof CustomAttributeLimitError) {
    return new ApiError('validation_error', [
      { source: 'custom_attributes', errors: [`A profile can have at most ${error.limit} custom attributes.`] },
    ]);
  }
  if (error instanceof IdentifierConflictError) {
    return new ApiError(
      'identifier_conflict',
      error.keys.map((key) => ({ source: key, errors: ['This value is already held by another profile of this app, and this key does not allow sharing.'] })),
    );
  }
  if (error instanceof TransactionOwnedError) {
    return new ApiError('validation_error', [
      { source: 'store_transaction_id', errors: ['This transaction is recorded for another profile of this app.'] },
    ]);
  }
  if (error instanceof OverloadedError) {
    const seconds = String(error.retryAfterSeconds);
    return new ApiError(
      'service_unavailable',
      [{ source: 'non_field_errors', errors: [`The server is too busy: ${error.reason}. Nothing was written; retry in ${seconds} s.`] }],
      { 'retry-after': seconds },
    );
  }
  if (error instanceof EndpointLimitError) {
    return ApiError.general('validation_error', `An app can have at most ${error.limit} ${error.what}; remove one first.`);
  }
  return null;
}
