import { charLength, unstorableText } from './formats.js';

/**
 * Webhook management input: its limits, for the schemas of src/schemas/webhooks.ts (which the API
 * and the CLI both validate with), and the checks a schema cannot say (urlProblem: a URL Crosswalk
 * can POST to; parsePositiveInteger: an id in a path or an argument).
 */

export const MAX_URL_LENGTH = 2048;
export const MIN_SECRET_LENGTH = 16;
export const MAX_SECRET_LENGTH = 256;
export const MAX_DESCRIPTION_LENGTH = 256;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const MAX_EVENT_TYPES = 20;
/** Printable ASCII without the space: what a signing secret may hold. */
export const SECRET_PATTERN = /^[\x21-\x7e]+$/;

/** Why `text` is not a URL Crosswalk can POST to, or null. Loopback and private addresses are allowed. */
export function urlProblem(text: string): string | null {
  if (charLength(text) > MAX_URL_LENGTH) return `Ensure this field has no more than ${MAX_URL_LENGTH} characters.`;
  const unstorable = unstorableText(text);
  if (unstorable) return unstorable;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'Enter an absolute http:// or https:// URL.';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || /\s/.test(text)) {
    return 'Enter an absolute http:// or https:// URL.';
  }
  if (url.username !== '' || url.password !== '') return 'The URL must not contain a user name or password.';
  return null;
}

/** A whole positive number written in decimal digits, within the safe integer range, or null. */
export function parsePositiveInteger(text: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}
