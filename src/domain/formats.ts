/** Small format checks shared by the validators. */

/** A JSON object: not null, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(text: string): boolean {
  return UUID.test(text);
}

// A pragmatic address check: one @, no spaces, a dotted domain. Full RFC 5322 is not worth its cost.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

export function isEmail(text: string): boolean {
  return text.length <= 254 && EMAIL.test(text);
}

export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255);
}

/** A real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const LATEST_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * An RFC 3339 date-time (`2024-01-15T10:30:00Z`, fractions and offsets allowed; without an offset
 * it is read as UTC) of a real calendar day and time, from 1970 to the end of 9999 in UTC, as
 * epoch milliseconds; null when it is not one.
 */
export function parseDateTime(text: string): number | null {
  const match = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/.exec(text);
  if (!match || !isIsoDate(match[1]!)) return null;
  const [hours, minutes, seconds] = [Number(match[2]), Number(match[3]), Number(match[4])];
  if (hours > 23 || minutes > 59 || seconds > 59) return null;
  let offset = 0;
  if (match[7] !== undefined) {
    const [offsetHours, offsetMinutes] = [Number(match[8]), Number(match[9])];
    if (offsetHours > 23 || offsetMinutes > 59) return null;
    offset = (match[7] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  const [year, month, day] = match[1]!.split('-').map(Number) as [number, number, number];
  const millis = match[5] === undefined ? 0 : Math.floor(Number(`0${match[5]}`) * 1000);
  const time = Date.UTC(year, month - 1, day, hours, minutes, seconds, millis) - offset;
  return time >= 0 && time <= LATEST_TIME ? time : null;
}

export const isDateTime = (text: string): boolean => parseDateTime(text) !== null;

/** Length in characters as a person counts them (code points), not UTF-16 units. */
export function charLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Why a string cannot be stored, or null. PostgreSQL text cannot hold U+0000, and a lone UTF-16
 * surrogate has no UTF-8 form (it would come back as U+FFFD), so both are refused everywhere.
 */
export function unstorableText(text: string): string | null {
  if (text.includes('\u0000')) return 'Must not contain the NUL character (U+0000).';
  if (!text.isWellFormed()) return 'Must be valid Unicode text (it holds a lone surrogate).';
  return null;
}
