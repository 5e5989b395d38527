import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header every webhook delivery is signed in. */
export const WEBHOOK_SIGNATURE_HEADER = 'crosswalk-signature';

/** How old (or how far ahead) a signature's timestamp may be by default: five minutes. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

export interface WebhookSignatureOptions {
  /** How far the timestamp may be from now, in seconds; default 300. 0 skips the check (only for stored requests). */
  toleranceSeconds?: number;
  /** The current time in milliseconds; default `Date.now()`. */
  now?: number;
}

/**
 * Whether a webhook delivery is genuine: `header` is its `crosswalk-signature` header
 * (`t=<Unix seconds>,v1=<hex HMAC-SHA256>`), `body` the raw request body exactly as received
 * (a string or the bytes, before any JSON parsing), `secret` the endpoint's signing secret.
 *
 * The signature is the HMAC-SHA256 of `<t>.<body>` keyed with the secret's UTF-8 bytes; a header
 * may carry several `v1=` entries (one match is enough) and its timestamp must be within
 * `toleranceSeconds` of now, which refuses a request replayed later. Comparisons take constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | string[] | null | undefined,
  body: string | Uint8Array,
  options: WebhookSignatureOptions = {},
): boolean {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('secret is required');
  // Node gives a header sent twice as an array: two signatures are no signature.
  if (typeof header !== 'string') return false;
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === 't' && value !== undefined && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) return false;
  const tolerance = options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  if (!(tolerance >= 0)) throw new TypeError('toleranceSeconds must be 0 or more');
  if (tolerance > 0 && Math.abs((options.now ?? Date.now()) / 1000 - timestamp) > tolerance) return false;
  const hmac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.`, 'utf8');
  const expected = (typeof body === 'string' ? hmac.update(body, 'utf8') : hmac.update(body)).digest();
  return signatures.some((signature) => timingSafeEqual(signature, expected));
}
