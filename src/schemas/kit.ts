import { type Static, type TSchema, type TUnsafe, Type } from 'typebox';
import { unstorableText } from '../domain/formats.js';

/** A message, or one made from the value at fault. */
export type Message = string | ((value: unknown) => string);

/**
 * How the problems of one schema node are worded, by the JSON Schema keyword that failed (`type`,
 * `required`, `enum`, `format`, `pattern`, `minLength`, `maxItems`, ...). `required` and
 * `maxLength` have words of their own ("This field is required.", "Ensure this field has no more
 * than N characters."); `*` words any other keyword not named; `repeated`, on a querystring
 * schema, words a parameter given more than once. The messages are those of the contract.
 */
export type Wording = Readonly<Record<string, Message>>;

// Kept under symbols: neither Ajv nor the OpenAPI document sees them.
/** Where a schema node keeps its wording (see `Wording`). */
export const Words = Symbol('crosswalk.words');
/** On the item schema of a list: a bad item is reported under the list's name, not its index. */
export const OnList = Symbol('crosswalk.on-list');
/** On a node that is validated on its own later (batch items): the enclosing schema accepts anything there. */
export const Apart = Symbol('crosswalk.apart');

type Node = Record<PropertyKey, unknown>;

/** A copy of a schema, every descriptor kept (TypeBox hides its own properties; symbols carry our words). */
function copyOf(schema: TSchema): Node {
  return Object.defineProperties({}, Object.getOwnPropertyDescriptors(schema));
}

/**
 * `schema` or null, written as a list of types (`["string", "null"]`) rather than `anyOf`, so that
 * a bad value fails one schema and gets one message.
 */
export function nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  const copy = copyOf(schema);
  copy.type = [(schema as Node).type, 'null'];
  if (Array.isArray((schema as Node).enum)) copy.enum = [...((schema as Node).enum as unknown[]), null];
  return Type.Unsafe<Static<T> | null>(copy as TSchema);
}

/**
 * Text that the databases can hold. Checked by hand (a JSON Schema pattern cannot name the NUL
 * character and a lone surrogate apart), once the schema itself has accepted the value.
 */
export function storable<T extends TSchema>(schema: T) {
  return Type.Refine(
    schema,
    (value: unknown) => typeof value !== 'string' || unstorableText(value) === null,
    (value: unknown) => unstorableText(value as string) ?? '',
  );
}

/**
 * The same schema for the OpenAPI document, typed `unknown` and accepted as anything by the schema
 * that encloses it: the caller validates each such value on its own (a bad batch item must not
 * fail the whole request).
 */
export function apart<T extends TSchema>(schema: T): TUnsafe<unknown> {
  const copy = copyOf(schema);
  copy[Apart] = true;
  return Type.Unsafe<unknown>(copy as TSchema);
}

/** `limit` of a paged listing: a whole number from 1 to `max`, `fallback` when left out. */
export const pageLimit = (max: number, fallback: number) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum: max, default: fallback, [Words]: { '*': `Must be a whole number from 1 to ${max}.` } }));

/**
 * `cursor` of a paged listing: the `next_cursor` of the previous page, a whole number from 1 to
 * 2^53 - 1 (both listings page by increasing ids).
 */
export const pageCursor = (message: string) =>
  Type.Optional(
    Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'next_cursor of the previous page', [Words]: { '*': message } }),
  );
