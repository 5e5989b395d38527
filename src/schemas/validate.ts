import { Ajv } from 'ajv';
import type { Static, TSchema } from 'typebox';
import { isDateTime, isEmail, isIpv4, isIsoDate, isUuid } from '../domain/formats.js';
import { ApiError } from '../errors.js';
import { Apart } from './kit.js';
import { problemsOf } from './problems.js';

/**
 * The one validator of wire input, for the routes (src/http/validation.ts), batch items and the CLI
 * import: Ajv checks the TypeBox schema, the schema's refinements add the hand-written checks, and
 * problems come back as the contract's envelope (see problems.ts for the wording and order).
 */

// The formats our schemas name, checked by our own functions (a real calendar date, a UUID of any
// version, the pragmatic email rule) rather than by a formats plugin.
const formats = { uuid: isUuid, email: isEmail, ipv4: isIpv4, date: isIsoDate, 'date-time': isDateTime };

// allErrors: every problem of a request is reported at once. verbose: errors carry the failing
// schema (for its wording) and value. strictNumbers (Ajv's default): Infinity is not a number.
// No coerceTypes, no useDefaults, no removeAdditional: the value checked is the value handled.
const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, formats, keywords: ['example'] });

export type Checked<T> = { value: T; error?: undefined } | { error: ApiError; value?: undefined };

export interface CompileOptions {
  /** Read text as the numbers and booleans of a flat schema (querystrings and params; never bodies). */
  coerce?: boolean;
}

/**
 * Querystrings and path parameters are text on the wire. A value the schema declares a number or a
 * boolean is read as one when it is written plainly: decimal digits (`5`, `-1`, `2.5` for numbers),
 * `true` or `false`. Anything else (`1e3`, ` 5`, `0x10`, a parameter given twice) stays as it came
 * and fails the schema. Ajv's own coercion would read `1e3` and `0x10` as numbers.
 */
function coerceText(schema: TSchema, value: unknown): void {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (!properties || typeof value !== 'object' || value === null) return;
  const params = value as Record<string, unknown>;
  for (const [name, property] of Object.entries(properties)) {
    const text = Object.hasOwn(params, name) ? params[name] : undefined;
    if (typeof text !== 'string') continue;
    if (property.type === 'integer' && /^-?\d+$/.test(text)) params[name] = Number(text);
    else if (property.type === 'number' && /^-?\d+(\.\d+)?$/.test(text)) params[name] = Number(text);
    else if (property.type === 'boolean' && (text === 'true' || text === 'false')) params[name] = text === 'true';
  }
}

/** The schema with every `apart` node accepting anything (those values are checked on their own). */
function withoutApart<T>(node: T): T {
  if (Array.isArray(node)) {
    const mapped = node.map(withoutApart);
    return (mapped.some((item, i) => item !== node[i]) ? mapped : node) as T;
  }
  if (typeof node !== 'object' || node === null) return node;
  if (Apart in node) return {} as T;
  let copy: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(node)) {
    const next = withoutApart(value);
    if (next !== value) (copy ??= Object.defineProperties({}, Object.getOwnPropertyDescriptors(node)) as Record<string, unknown>)[key] = next;
  }
  return (copy ?? node) as T;
}

/** Compiles `schema` once; the result checks a value and answers it, or the envelope of its problems. */
export function compile<T extends TSchema>(schema: T, options: CompileOptions = {}): (value: unknown) => Checked<Static<T>> {
  const effective = withoutApart(schema);
  const validate = ajv.compile(effective);
  return (value) => {
    if (options.coerce) coerceText(effective, value);
    const errors = validate(value) ? [] : (validate.errors ?? []);
    const items = problemsOf(effective, value, errors);
    return items.length === 0 ? { value: value as Static<T> } : { error: new ApiError('validation_error', items) };
  };
}

/** Checks `value` and answers it, or throws the ApiError of its problems. */
export function parse<T>(check: (value: unknown) => Checked<T>, value: unknown): T {
  const checked = check(value);
  if (checked.error) throw checked.error;
  return checked.value as T;
}
