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
export const IDENTIFIER_TYPE_MESSAGE = 'Must be a string, a number or null.';
export const INEXACT_NUMBER_MESSAGE = 'This number cannot be stored exactly; send it as a string.';

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
 * Why a string or number cannot be an identifier value, or null. Written by hand, as a schema cannot
 * say it: a string is trimmed before it is checked (blank, NUL or a lone surrogate, more than 512
 * characters), a number must have an exact decimal form.
 */
export function identifierValueProblem(raw: string | number): string | null {
  if (typeof raw === 'number') return numberToDecimal(raw) === null ? INEXACT_NUMBER_MESSAGE : null;
  const value = raw.trim();
  const problem = unstorableText(value);
  if (problem) return problem;
  if (value === '') return 'This field may not be blank; use null to clear it.';
  if (charLength(value) > MAX_IDENTIFIER_LENGTH) return `Ensure this field has no more than ${MAX_IDENTIFIER_LENGTH} characters.`;
  return null;
}

/** The stored form of a value that passed `identifierValueProblem`: the trimmed text, or the number's decimal. */
export function identifierValue(raw: string | number): string {
  return typeof raw === 'number' ? numberToDecimal(raw)! : raw.trim();
}

/** The GET answer: every key in schema order, null where unset. */
export function identifierSet(stored: Iterable<readonly [string, string]>): IdentifierSet {
  const result = Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, null])) as IdentifierSet;
  for (const [key, value] of stored) {
    if (isIdentifierKey(key)) result[key] = value;
  }
  return result;
}
