import { ApiError, FieldErrors } from '../errors.js';
import { charLength, unstorableText } from './formats.js';

/** The 16 integration identifier keys, in the vendor schema's order (the order of GET answers). */
export const IDENTIFIER_KEYS = [
  'adjust_device_id',
  'airbridge_device_id',
  'amplitude_device_id',
  'amplitude_user_id',
  'appmetrica_device_id',
  'appmetrica_profile_id',
  'appsflyer_id',
  'branch_id',
  'facebook_anonymous_id',
  'firebase_app_instance_id',
  'mixpanel_user_id',
  'one_signal_player_id',
  'one_signal_subscription_id',
  'posthog_distinct_user_id',
  'pushwoosh_hwid',
  'tenjin_analytics_installation_id',
] as const;

export type IdentifierKey = (typeof IDENTIFIER_KEYS)[number];

const KEY_SET: ReadonlySet<string> = new Set(IDENTIFIER_KEYS);

export function isIdentifierKey(key: string): key is IdentifierKey {
  return KEY_SET.has(key);
}

export const MAX_IDENTIFIER_LENGTH = 512;

/** A validated write: each named key is set to a string or cleared (null). Keys not named are untouched. */
export type IdentifierChanges = Map<IdentifierKey, string | null>;

/** All 16 keys, null where unset. */
export type IdentifierSet = Record<IdentifierKey, string | null>;

export const NO_IDENTIFIER_MESSAGE = 'At least one integration identifier must be provided.';

/**
 * Turns a number into the decimal string it is stored as, or null when that string would not be
 * exact (integers past 2^53 have already lost digits in JSON parsing; tiny or huge fractions would
 * need exponent notation).
 */
function numberToDecimal(value: number): string | null {
  if (!Number.isFinite(value)) return null;
  if (Number.isInteger(value)) return Number.isSafeInteger(value) ? String(value) : null;
  const text = String(value);
  return /e/i.test(text) ? null : text;
}

/**
 * Validates a set-integration-identifiers body. Unknown keys are ignored; every bad known key is
 * reported at once, and nothing is returned (so nothing is written) unless all of them are valid.
 */
export function parseIdentifierChanges(body: unknown): IdentifierChanges {
  if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
    throw ApiError.general('validation_error', 'Expected a JSON object of integration identifiers.');
  }
  const changes: IdentifierChanges = new Map();
  const errors = new FieldErrors();
  for (const key of IDENTIFIER_KEYS) {
    if (body === undefined || !Object.hasOwn(body, key)) continue;
    const raw: unknown = (body as Record<string, unknown>)[key];
    if (raw === null) {
      changes.set(key, null);
    } else if (typeof raw === 'string') {
      const value = raw.trim();
      const problem = unstorableText(value);
      if (problem) errors.add(key, problem);
      else if (value === '') errors.add(key, 'This field may not be blank; use null to clear it.');
      else if (charLength(value) > MAX_IDENTIFIER_LENGTH) {
        errors.add(key, `Ensure this field has no more than ${MAX_IDENTIFIER_LENGTH} characters.`);
      } else changes.set(key, value);
    } else if (typeof raw === 'number') {
      const value = numberToDecimal(raw);
      if (value === null) errors.add(key, 'This number cannot be stored exactly; send it as a string.');
      else changes.set(key, value);
    } else {
      errors.add(key, 'Must be a string, a number or null.');
    }
  }
  errors.throwIfAny();
  if (changes.size === 0) throw ApiError.general('validation_error', NO_IDENTIFIER_MESSAGE);
  return changes;
}

/** The GET answer: every key in schema order, null where unset. */
export function identifierSet(stored: Iterable<readonly [string, string]>): IdentifierSet {
  const result = Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, null])) as IdentifierSet;
  for (const [key, value] of stored) {
    if (isIdentifierKey(key)) result[key] = value;
  }
  return result;
}
