import { createHmac, timingSafeEqual } from 'node:crypto';

export { generateSecret, SECRET_PREFIX, secretHint } from '../domain/webhooks.js';

/** The headers of every delivery, as sent (lower case). */
export const SIGNATURE_HEADER = 'crosswalk-signature';
export const EVENT_ID_HEADER = 'crosswalk-event-id';
export const EVENT_TYPE_HEADER = 'crosswalk-event-type';
export const DELIVERY_ID_HEADER = 'crosswalk-delivery-id';
export const DELIVERY_ATTEMPT_HEADER = 'crosswalk-delivery-attempt';

function digest(secret: string, timestamp: number, body: string | Buffer): string {
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`, 'utf8');
  return (typeof body === 'string' ? hmac.update(body, 'utf8') : hmac.update(body)).digest('hex');
}

/**
 * The `crosswalk-signature` value for a body sent at `timestamp` (Unix seconds):
 * `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret's UTF-8 bytes>`.
 */
export function signatureHeader(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${digest(secret, timestamp, body)}`;
}

export interface VerifyOptions {
  /** How old (or how far in the future) the timestamp may be; default 300 s. 0 skips the check. */
  toleranceSeconds?: number;
  /** The current time in milliseconds; default Date.now(). */
  now?: number;
}

/**
 * Whether `header` is a valid signature of `body` (the raw request body, exactly as received) with
 * `secret`, made within the tolerance. Several `v1=` entries are accepted; one match is enough.
 */
export function verifySignature(secret: string, header: string | null | undefined, body: string | Buffer, options: VerifyOptions = {}): boolean {
  if (typeof header !== 'string') return false;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === 't' && value !== undefined && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return false;
  const tolerance = options.toleranceSeconds ?? 300;
  if (tolerance > 0 && Math.abs((options.now ?? Date.now()) / 1000 - timestamp) > tolerance) return false;
  const expected = Buffer.from(digest(secret, timestamp, body), 'hex');
  return signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected));
}
