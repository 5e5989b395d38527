import fs from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { isDateTime, isUuid } from '../src/domain/formats.js';

/**
 * The vendor's response schemas (test/fixtures/vendor-schemas.json: their structure, taken from the
 * vendor's OpenAPI file without its prose), as validators of our answers. OpenAPI 3.0's `nullable`
 * becomes JSON Schema's type lists, and every property the vendor lists is required, so that an
 * answer missing one of the vendor's fields fails.
 */

type Node = Record<string, unknown>;

function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (typeof node !== 'object' || node === null) return node;
  const source = node as Node;
  const out: Node = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'nullable') continue;
    if (key === '$ref') out.$ref = String(value).replace('#/components/schemas/', '#/$defs/');
    else out[key] = convert(value);
  }
  if (source.properties) out.required = Object.keys(source.properties as Node);
  if (source.nullable === true) {
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
    } else {
      return { anyOf: [out, { type: 'null' }] };
    }
  }
  return out;
}

const fixture = JSON.parse(fs.readFileSync(new URL('./fixtures/vendor-schemas.json', import.meta.url), 'utf8')) as Node;
const $defs = Object.fromEntries(Object.entries(fixture).map(([name, schema]) => [name, convert(schema)]));
const ajv = new Ajv({
  allErrors: true,
  strict: false,
  formats: { uuid: isUuid, 'date-time': isDateTime, float: true, int64: true },
});

const validators = new Map<string, ValidateFunction>();

/** Throws, naming every problem, when `value` does not match the vendor schema `name`. */
export function assertVendorShape(name: string, value: unknown): void {
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.compile({ $defs, $ref: `#/$defs/${name}` });
    validators.set(name, validate);
  }
  if (!validate(value)) {
    throw new Error(`not a vendor ${name}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`);
  }
}
