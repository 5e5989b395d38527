import { createHash, randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomText(length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += ALPHABET[randomInt(ALPHABET.length)];
  return text;
}

/** A new secret in the vendor's shape: `secret_live_<8 chars>.<32 chars>`. */
export function generateApiKey(): string {
  return `secret_live_${randomText(8)}.${randomText(32)}`;
}

/** Keys are stored only as this digest. Keys carry 190 bits of randomness, so a fast hash is enough. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** What may be shown of a key after it is created: enough to recognise it, never enough to use it. */
export function apiKeyHint(secret: string): string {
  const dot = secret.indexOf('.');
  return dot > 0 && dot <= 24 ? `${secret.slice(0, dot)}.…` : `${secret.slice(0, 4)}…`;
}

/** Why an operator-supplied key is unacceptable, or null when it is fine. */
export function apiKeyProblem(secret: string): string | null {
  if (secret.length < 16 || secret.length > 256) return 'an API key must be 16 to 256 characters long';
  if (!/^[\x21-\x7e]+$/.test(secret)) return 'an API key may hold only printable ASCII characters, without spaces';
  return null;
}
