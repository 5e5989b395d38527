import { type Static, Type } from 'typebox';
import { countryCode } from '../domain/countries.js';
import {
  ATTRIBUTE_NAMES,
  type InstallationField,
  INSTALLATION_FIELDS,
  type InstallationMeta,
  type ProfileAttributes,
  type ProfilePatch,
} from '../domain/profile.js';
import {
  CUSTOM_KEY_PATTERN,
  GENDERS,
  MAX_CUSTOM_VALUE_LENGTH,
  MAX_INSTALLATION_TEXT_LENGTH,
  MAX_TEXT_LENGTH,
  PLATFORMS,
  STORES,
} from '../domain/profile-request.js';
import { nullable, storable, Words } from './kit.js';
import { compile, parse } from './validate.js';

/**
 * The body of create and update profile, read by the routes and, per line, by the CLI import.
 * Every field is optional: left out keeps the stored value, null clears it; unknown fields are
 * ignored. Checked by hand (refinements): text the databases cannot hold, assigned country codes.
 */

const STRING = 'Must be a string or null.';
const COUNTRY = 'Must be a two-letter ISO 3166-1 alpha-2 country code.';
const REQUIRED = 'This field is required.';
const UUID = 'Must be a valid UUID.';

const text = (maxLength: number) => Type.Optional(storable(nullable(Type.String({ maxLength, [Words]: { type: STRING } }))));
const choice = <T extends string>(options: readonly T[]) =>
  Type.Optional(nullable(Type.Unsafe<T>(Type.String({ enum: [...options], [Words]: { type: STRING, enum: `Must be one of: ${options.join(', ')}.` } }))));
const formatted = (maxLength: number, format: string, message: string, description?: string) =>
  Type.Optional(nullable(Type.String({ maxLength, format, description, [Words]: { type: STRING, format: message } })));
const country = Type.Optional(
  Type.Refine(
    nullable(Type.String({ minLength: 2, maxLength: 2, description: 'ISO 3166-1 alpha-2, any case', [Words]: { type: STRING, minLength: COUNTRY } })),
    (value) => value === null || countryCode(value) !== null,
    () => COUNTRY,
  ),
);

const customAttribute = Type.Object(
  {
    key: Type.String({ pattern: CUSTOM_KEY_PATTERN.source, [Words]: { '*': 'Must be 1 to 30 characters: letters, digits, ".", "_" or "-".', required: 'Must be 1 to 30 characters: letters, digits, ".", "_" or "-".' } }),
    value: storable(
      Type.Unsafe<string | number | null>({
        type: ['string', 'number', 'null'],
        maxLength: MAX_CUSTOM_VALUE_LENGTH,
        [Words]: { type: 'Must be a string, a number, or null (or "") to delete the attribute.' },
      }),
    ),
  },
  { [Words]: { type: 'Must be an object with "key" and "value".' } },
);

const installationFields = Object.fromEntries(
  INSTALLATION_FIELDS.map((field) => [field, field === 'platform' ? choice(PLATFORMS) : text(MAX_INSTALLATION_TEXT_LENGTH)]),
) as Record<InstallationField, ReturnType<typeof text>>;

const installationMeta = nullable(
  Type.Object(
    {
      device_id: Type.String({
        format: 'uuid',
        [Words]: { type: (value: unknown) => (value === null ? REQUIRED : UUID), format: UUID },
      }),
      ...installationFields,
    },
    { description: 'One device, upserted by device_id; fields left out keep their stored value', [Words]: { type: 'Must be an object.' } },
  ),
);

// Properties in the order problems are reported (the order of the validators before them).
export const profileBody = Type.Object(
  {
    first_name: text(MAX_TEXT_LENGTH),
    last_name: text(MAX_TEXT_LENGTH),
    gender: choice(GENDERS),
    email: Type.Optional(storable(nullable(Type.String({ maxLength: MAX_TEXT_LENGTH, format: 'email', [Words]: { type: STRING, format: 'Enter a valid email address.' } })))),
    phone_number: text(MAX_TEXT_LENGTH),
    birthday: formatted(10, 'date', 'Date has wrong format. Use YYYY-MM-DD.', 'A real calendar date, YYYY-MM-DD'),
    ip_country: country,
    ip_v4_address: formatted(15, 'ipv4', 'Enter a valid IPv4 address.'),
    store_country: country,
    store: choice(STORES),
    store_account_token: formatted(36, 'uuid', UUID),
    att_status: Type.Optional(nullable(Type.Integer({ enum: [0, 1, 2, 3], [Words]: { '*': 'Must be one of 0, 1, 2, 3 or null.' } }))),
    analytics_disabled: Type.Optional(nullable(Type.Boolean({ [Words]: { '*': 'Must be a boolean or null.' } }))),
    custom_attributes: Type.Optional(
      nullable(
        Type.Array(customAttribute, {
          description: 'Merged by key; a null or "" value deletes the key; at most 30 per profile; null removes them all',
          [Words]: { type: 'Must be a list of {"key", "value"} objects or null.' },
        }),
      ),
    ),
    installation_meta: Type.Optional(installationMeta),
  },
  {
    description: 'Every field is optional: a field left out keeps its value, null clears it.',
    [Words]: { type: 'Expected a JSON object.' },
  },
);

export type ProfileBody = Static<typeof profileBody>;

export const checkProfileBody = compile(profileBody);

/** Stored spellings: country codes in upper case, UUIDs in lower case. */
const NORMALISED: Partial<Record<keyof ProfileAttributes, (value: string) => string>> = {
  ip_country: (value) => value.toUpperCase(),
  store_country: (value) => value.toUpperCase(),
  store_account_token: (value) => value.toLowerCase(),
};

/** The patch a valid body asks for: only the fields it names. */
export function toProfilePatch(body: ProfileBody): ProfilePatch {
  const attributes: Record<string, unknown> = {};
  for (const name of ATTRIBUTE_NAMES) {
    const value = body[name];
    if (!Object.hasOwn(body, name) || value === undefined) continue;
    const normalise = NORMALISED[name];
    attributes[name] = normalise && typeof value === 'string' ? normalise(value) : value;
  }
  const patch: ProfilePatch = { attributes: attributes as Partial<ProfileAttributes> };
  const custom = body.custom_attributes;
  if (Object.hasOwn(body, 'custom_attributes') && custom !== undefined) {
    patch.customAttributes = custom === null ? null : custom.map(({ key, value }) => ({ key, value: value === '' ? null : value }));
  }
  const meta = body.installation_meta;
  if (meta) {
    const installation: InstallationMeta = { device_id: meta.device_id.toLowerCase() };
    for (const field of INSTALLATION_FIELDS) if (Object.hasOwn(meta, field) && meta[field] !== undefined) installation[field] = meta[field];
    patch.installation = installation;
  }
  return patch;
}

/** Validates a body and answers its patch, or throws the ApiError of every problem. */
export function parseProfileBody(body: unknown): ProfilePatch {
  return toProfilePatch(parse(checkProfileBody, body));
}
