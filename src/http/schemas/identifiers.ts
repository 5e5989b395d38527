import { Type } from 'typebox';
import { IDENTIFIER_KEYS, type IdentifierKey } from '../../domain/identifiers.js';
import { nullableString } from './common.js';

/** The answer of "get integration identifiers": all 16 keys, null where unset, no `data` wrapper. */
export const identifiersResponse = Type.Object(
  Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, nullableString])) as Record<IdentifierKey, typeof nullableString>,
);
