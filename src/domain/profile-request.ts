/**
 * The values and limits of the profile fields a request may set. The body's schema is in
 * src/schemas/profile.ts; the checks a schema cannot say are in formats.ts and countries.ts.
 */
export const GENDERS = ['f', 'm', 'o'] as const;
export const STORES = ['app_store', 'play_store', 'stripe', 'adapty', 'paddle'] as const;
export const PLATFORMS = ['iOS', 'macOS', 'iPadOS', 'Android', 'visionOS', 'web'] as const;
export const MAX_TEXT_LENGTH = 256;
export const MAX_INSTALLATION_TEXT_LENGTH = 512;
export const CUSTOM_KEY_PATTERN = /^[A-Za-z0-9._-]{1,30}$/;
export const MAX_CUSTOM_VALUE_LENGTH = 50;
