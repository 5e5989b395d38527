import { type Static, type TOptional, Type } from 'typebox';
import {
  IDENTIFIER_KEYS,
  IDENTIFIER_TYPE_MESSAGE,
  type IdentifierChanges,
  type IdentifierKey,
  identifierValue,
  identifierValueProblem,
  INEXACT_NUMBER_MESSAGE,
  MAX_IDENTIFIER_LENGTH,
  NO_IDENTIFIER_MESSAGE,
} from '../domain/identifiers.js';
import { Words } from './kit.js';
import { compile, parse } from './validate.js';

/**
 * The body of "set integration identifiers", read by the route and, per line, by the CLI import.
 * The schema says which keys exist and that a value is a string, a number or null; trimming, blank
 * and length after trimming, and exact decimal numbers are identifierValueProblem's (by hand).
 */

const identifierValueSchema = Type.Refine(
  Type.Unsafe<string | number | null>({
    type: ['string', 'number', 'null'],
    description: `Set (a string of at most ${MAX_IDENTIFIER_LENGTH} characters after trimming, or a number) or cleared (null)`,
    // Infinity (1e400 in JSON) is not a JSON Schema number, but it is a number that has no exact decimal.
    [Words]: { type: (value: unknown) => (typeof value === 'number' ? INEXACT_NUMBER_MESSAGE : IDENTIFIER_TYPE_MESSAGE) },
  }),
  (value) => value === null || identifierValueProblem(value) === null,
  (value) => identifierValueProblem(value as string | number) ?? '',
);

type IdentifierProperties = Record<IdentifierKey, TOptional<typeof identifierValueSchema>>;

export const identifiersBody = Type.Refine(
  Type.Object(Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, Type.Optional(identifierValueSchema)])) as IdentifierProperties, {
    description: 'Keys given are set (string or number) or cleared (null); keys left out are kept; unknown keys are ignored. At least one key.',
    example: { appsflyer_id: '1712345678901-1234567', amplitude_user_id: 'user-42' },
    [Words]: { type: 'Expected a JSON object of integration identifiers.' },
  }),
  (body) => IDENTIFIER_KEYS.some((key) => Object.hasOwn(body, key)),
  () => NO_IDENTIFIER_MESSAGE,
);

export type IdentifiersBody = Static<typeof identifiersBody>;

export const checkIdentifiersBody = compile(identifiersBody);

/** The changes a valid body asks for, in the keys' order: a value to store, or null to clear. */
export function toIdentifierChanges(body: IdentifiersBody): IdentifierChanges {
  const changes: IdentifierChanges = new Map();
  for (const key of IDENTIFIER_KEYS) {
    if (!Object.hasOwn(body, key)) continue;
    const raw = body[key];
    if (raw !== undefined) changes.set(key, raw === null ? null : identifierValue(raw));
  }
  return changes;
}

/** Validates a body and answers its changes, or throws the ApiError of every problem. */
export function parseIdentifiersBody(body: unknown): IdentifierChanges {
  return toIdentifierChanges(parse(checkIdentifiersBody, body));
}
