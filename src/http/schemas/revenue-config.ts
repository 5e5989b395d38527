import { type TSchema, Type } from 'typebox';
import { MAX_ACCESS_LEVEL_ID_LENGTH, MAX_STORE_TEXT_LENGTH, UNKNOWN_ACCESS_LEVEL_MODES, type UnknownAccessLevelMode } from '../../domain/revenue.js';
import { nullable, Words } from '../../schemas/kit.js';
import {
  accessLevelIdRule,
  currencyRule,
  modeRule,
  MAX_USD_PER_UNIT,
  rateRule,
  type Rule,
  storeProductIdRule,
} from '../../services/revenue-config.js';
import { data, nullableString } from './common.js';

/**
 * Schemas of /crosswalk/v1/revenue/. Every problem of a checked value is worded by the service's
 * rule for its field (src/services/revenue-config.ts), which the CLI gets too: the keywords are
 * here for the OpenAPI document, the wording is the rule's.
 */

/** Words every keyword's problem with `rule`; the rule also runs once the keywords pass. */
function ruled<T extends TSchema>(schema: T, rule: Rule) {
  const word = (value: unknown) => rule(value) ?? 'Invalid value.';
  Object.assign(schema, { [Words]: { '*': word, maxLength: word } });
  return Type.Refine(schema, (value) => rule(value) === null, (value) => rule(value) ?? '');
}

const orNull =
  (rule: Rule): Rule =>
  (value) =>
    value === null ? null : typeof value === 'string' ? rule(value) : 'Must be a string or null.';

const ACCESS_LEVEL_ID = `1 to ${MAX_ACCESS_LEVEL_ID_LENGTH} characters`;

const accessLevelId = ruled(Type.String({ minLength: 1, maxLength: MAX_ACCESS_LEVEL_ID_LENGTH, description: ACCESS_LEVEL_ID }), accessLevelIdRule);
const mode = (description?: string) => Type.Unsafe<UnknownAccessLevelMode>(Type.String({ enum: [...UNKNOWN_ACCESS_LEVEL_MODES], description }));
const object = <T extends TSchema>(schema: T) => Object.assign(schema, { [Words]: { type: 'Expected a JSON object.' } });

export const accessLevelParams = Type.Object({ access_level_id: accessLevelId });
export const productParams = Type.Object({
  store_product_id: ruled(Type.String({ minLength: 1, maxLength: MAX_STORE_TEXT_LENGTH, description: `1 to ${MAX_STORE_TEXT_LENGTH} characters` }), storeProductIdRule),
});
export const currencyParams = Type.Object({
  currency: ruled(Type.String({ pattern: '^[A-Za-z]{3}$', description: 'ISO 4217 code, in any case (kept upper case); not USD' }), currencyRule),
});

export const productBody = object(
  Type.Object({
    access_level_id: ruled(
      nullable(Type.String({ minLength: 1, maxLength: MAX_ACCESS_LEVEL_ID_LENGTH, description: `What the product unlocks (${ACCESS_LEVEL_ID}); null: nothing` })),
      orNull(accessLevelIdRule),
    ),
    is_consumable: Type.Optional(Type.Boolean({ description: 'Left out: false', [Words]: { '*': 'Must be a boolean.' } })),
  }),
);

export const rateBody = object(
  Type.Object({ usd_per_unit: ruled(Type.Number({ exclusiveMinimum: 0, maximum: MAX_USD_PER_UNIT, description: 'US dollars for one unit of the currency' }), rateRule) }),
);

export const settingsBody = object(
  Type.Object({
    unknown_access_levels: ruled(
      mode('create: an access level id never configured is configured on first use; reject: it is refused (400 paid_access_level_does_not_exist)'),
      modeRule,
    ),
  }),
);

const time = Type.String({ format: 'date-time' });

export const accessLevelResponse = Type.Object({ access_level_id: Type.String(), created_at: time });
export const productResponse = Type.Object({
  store_product_id: Type.String(),
  access_level_id: nullableString,
  is_consumable: Type.Boolean(),
});
export const rateResponse = Type.Object({ currency: Type.String(), usd_per_unit: Type.Number(), updated_at: time });
export const settingsResponse = data(Type.Object({ unknown_access_levels: mode() }));
