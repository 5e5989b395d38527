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

const GENERATED_SHAPE = /^(secret_live_[A-Za-z0-9]{8})\.[A-Za-z0-9]{32}$/;

/** How much of a key an operator chose may be shown: a few characters, never enough to guess the rest. */
const OPERATOR_HINT_LENGTH = 4;

/**
 * What may be shown of a key after it is created: enough to recognise it, never enough to use it.
 * A key Crosswalk generated shows its public prefix (`secret_live_AbCdEfGh.…`: the 32 characters
 * after the dot are the secret part). A key the operator chose (`--key`, CROSSWALK_API_KEY) may be
 * a passphrase of any shape, so it shows its first four characters only, whatever its shape.
 */
export function apiKeyHint(secret: string, generated: boolean): string {
  const prefix = generated ? GENERATED_SHAPE.exec(secret)?.[1] : undefined;
  return prefix === undefined ? `${secret.slice(0, OPERATOR_HINT_LENGTH)}…` : `${prefix}.…`;
}

/**
 * The hint a key stored before hints depended on who chose the key should now have. A stored hint
 * in the generated keys' shape keeps its public prefix, unless the key is the operator's
 * CROSSWALK_API_KEY; any other hint keeps its first four characters.
 */
export function rehint(storedHint: string, name: string): string {
  const generatedShape = /^secret_live_[A-Za-z0-9]{8}\.…$/.test(storedHint);
  return generatedShape && name !== 'CROSSWALK_API_KEY' ? storedHint : `${storedHint.replace(/…$/, '').slice(0, OPERATOR_HINT_LENGTH)}…`;
}

/** Why an operator-supplied key is unacceptable, or null when it is fine. */
export function apiKeyProblem(secret: string): string | null {
  if (secret.length < 16 || secret.length > 256) return 'an API key must be 16 to 256 characters long';
  if (!/^[\x21-\x7e]+$/.test(secret)) return 'an API key may hold only printable ASCII characters, without spaces';
  return null;
}

/**
 * What a key may do, each level including the one before it: `read` every GET; `write` also every
 * write to profiles, identifiers, purchases and batches; `admin` also webhooks, revenue
 * configuration, the audit trail and every other management operation.
 */
export const KEY_SCOPES = ['read', 'write', 'admin'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

/** The scope of keys that predate scopes, of CROSSWALK_API_KEY and of keys created without one. */
export const DEFAULT_KEY_SCOPE: KeyScope = 'admin';

export function isKeyScope(value: unknown): value is KeyScope {
  return (KEY_SCOPES as readonly unknown[]).includes(value);
}

/** Whether a key of scope `granted` may call an operation that needs `needed`. */
export function scopeAllows(granted: KeyScope, needed: KeyScope): boolean {
  return KEY_SCOPES.indexOf(granted) >= KEY_SCOPES.indexOf(needed);
}

const DURATION_UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The longest lifetime a key can be given: ten years. */
export const MAX_KEY_LIFETIME_MS = 3650 * DURATION_UNITS.d;

/**
 * A key's lifetime written as a whole number and a unit, `90m`, `12h` or `30d`, in milliseconds;
 * a message saying what is wrong otherwise.
 */
export function parseKeyLifetime(text: string): { ms: number } | { problem: string } {
  const match = /^(\d{1,7})([mhd])$/.exec(text.trim());
  const wanted = 'a whole number followed by m (minutes), h (hours) or d (days), e.g. 90m, 12h or 30d';
  if (!match) return { problem: `expected ${wanted}, got "${text}"` };
  const ms = Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS];
  if (ms === 0) return { problem: `a key's lifetime must be longer than 0, got "${text}"` };
  if (ms > MAX_KEY_LIFETIME_MS) return { problem: `a key's lifetime can be at most 3650d, got "${text}"` };
  return { ms };
}
