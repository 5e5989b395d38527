import { ApiError, FieldErrors } from '../errors.js';
import { countryCode } from './countries.js';
import { charLength, isEmail, isPlainObject, isIpv4, isIsoDate, isUuid, unstorableText } from './formats.js';
import {
  type CustomAttributeChange,
  INSTALLATION_FIELDS,
  type InstallationMeta,
  type ProfileAttributes,
  type ProfilePatch,
} from './profile.js';

export const GENDERS = ['f', 'm', 'o'] as const;
export const STORES = ['app_store', 'play_store', 'stripe', 'adapty', 'paddle'] as const;
export const PLATFORMS = ['iOS', 'macOS', 'iPadOS', 'Android', 'visionOS', 'web'] as const;
export const MAX_TEXT_LENGTH = 256;
export const MAX_INSTALLATION_TEXT_LENGTH = 512;
export const CUSTOM_KEY_PATTERN = /^[A-Za-z0-9._-]{1,30}$/;
export const MAX_CUSTOM_VALUE_LENGTH = 50;

type Body = Record<string, unknown>;
type Check = (value: unknown, source: string, errors: FieldErrors) => unknown;

const STRING_MESSAGE = 'Must be a string or null.';

function text(maxLength: number, test?: (s: string) => string | null, message?: string): Check {
  return (value, source, errors) => {
    if (typeof value !== 'string') return errors.add(source, STRING_MESSAGE);
    const problem = unstorableText(value);
    if (problem) return errors.add(source, problem);
    if (charLength(value) > maxLength) {
      return errors.add(source, `Ensure this field has no more than ${maxLength} characters.`);
    }
    if (!test) return value;
    const normalised = test(value);
    if (normalised === null) return errors.add(source, message ?? 'Invalid value.');
    return normalised;
  };
}

function choice(options: readonly string[]): Check {
  return text(MAX_TEXT_LENGTH, (s) => (options.includes(s) ? s : null), `Must be one of: ${options.join(', ')}.`);
}

const COUNTRY_MESSAGE = 'Must be a two-letter ISO 3166-1 alpha-2 country code.';

const ATTRIBUTE_CHECKS: Record<keyof ProfileAttributes, Check> = {
  first_name: text(MAX_TEXT_LENGTH),
  last_name: text(MAX_TEXT_LENGTH),
  gender: choice(GENDERS),
  email: text(MAX_TEXT_LENGTH, (s) => (isEmail(s) ? s : null), 'Enter a valid email address.'),
  phone_number: text(MAX_TEXT_LENGTH),
  birthday: text(10, (s) => (isIsoDate(s) ? s : null), 'Date has wrong format. Use YYYY-MM-DD.'),
  ip_country: text(2, countryCode, COUNTRY_MESSAGE),
  ip_v4_address: text(15, (s) => (isIpv4(s) ? s : null), 'Enter a valid IPv4 address.'),
  store_country: text(2, countryCode, COUNTRY_MESSAGE),
  store: choice(STORES),
  store_account_token: text(36, (s) => (isUuid(s) ? s.toLowerCase() : null), 'Must be a valid UUID.'),
  att_status: (value, source, errors) =>
    typeof value === 'number' && [0, 1, 2, 3].includes(value)
      ? value
      : errors.add(source, 'Must be one of 0, 1, 2, 3 or null.'),
  analytics_disabled: (value, source, errors) =>
    typeof value === 'boolean' ? value : errors.add(source, 'Must be a boolean or null.'),
};

function customAttributes(value: unknown, errors: FieldErrors): CustomAttributeChange[] | null | undefined {
  if (value === null) return null;
  if (!Array.isArray(value)) {
    errors.add('custom_attributes', 'Must be a list of {"key", "value"} objects or null.');
    return undefined;
  }
  const changes: CustomAttributeChange[] = [];
  value.forEach((item: unknown, index) => {
    const source = `custom_attributes.${index}`;
    if (!isPlainObject(item)) return errors.add(source, 'Must be an object with "key" and "value".');
    const { key, value: raw } = item;
    let ok = true;
    if (typeof key !== 'string' || !CUSTOM_KEY_PATTERN.test(key)) {
      ok = false;
      errors.add(`${source}.key`, 'Must be 1 to 30 characters: letters, digits, ".", "_" or "-".');
    }
    if (!Object.hasOwn(item, 'value')) {
      ok = false;
      errors.add(`${source}.value`, 'This field is required.');
    } else if (typeof raw === 'string') {
      const problem = unstorableText(raw);
      if (problem) {
        ok = false;
        errors.add(`${source}.value`, problem);
      } else if (charLength(raw) > MAX_CUSTOM_VALUE_LENGTH) {
        ok = false;
        errors.add(`${source}.value`, `Ensure this field has no more than ${MAX_CUSTOM_VALUE_LENGTH} characters.`);
      }
    } else if (!(raw === null || (typeof raw === 'number' && Number.isFinite(raw)))) {
      ok = false;
      errors.add(`${source}.value`, 'Must be a string, a number, or null (or "") to delete the attribute.');
    }
    if (ok) changes.push({ key: key as string, value: raw === '' ? null : (raw as string | number | null) });
  });
  return changes;
}

function installationMeta(value: unknown, errors: FieldErrors): InstallationMeta | undefined {
  if (value === null || value === undefined) return undefined;
  if (!isPlainObject(value)) {
    errors.add('installation_meta', 'Must be an object.');
    return undefined;
  }
  const deviceId = value.device_id;
  if (deviceId === undefined || deviceId === null) {
    errors.add('installation_meta.device_id', 'This field is required.');
  } else if (typeof deviceId !== 'string' || !isUuid(deviceId)) {
    errors.add('installation_meta.device_id', 'Must be a valid UUID.');
  }
  const meta: InstallationMeta = { device_id: typeof deviceId === 'string' ? deviceId.toLowerCase() : '' };
  const platform = choice(PLATFORMS);
  const other = text(MAX_INSTALLATION_TEXT_LENGTH);
  for (const field of INSTALLATION_FIELDS) {
    if (!Object.hasOwn(value, field)) continue;
    const raw = value[field];
    meta[field] = raw === null ? null : ((field === 'platform' ? platform : other)(raw, `installation_meta.${field}`, errors) as string);
  }
  return meta;
}

/**
 * Validates a create or update body. Omitted fields stay as they are, `null` clears, unknown
 * fields are ignored; every bad field is reported at once.
 */
export function parseProfileRequest(body: unknown): ProfilePatch {
  if (body === undefined) return { attributes: {} };
  if (!isPlainObject(body)) throw ApiError.general('validation_error', 'Expected a JSON object.');
  const errors = new FieldErrors();
  const attributes: Partial<Record<keyof ProfileAttributes, unknown>> = {};
  for (const [name, check] of Object.entries(ATTRIBUTE_CHECKS) as [keyof ProfileAttributes, Check][]) {
    if (!Object.hasOwn(body, name)) continue;
    const raw = body[name];
    attributes[name] = raw === null ? null : check(raw, name, errors);
  }
  const patch: ProfilePatch = { attributes: attributes as Partial<ProfileAttributes> };
  if (Object.hasOwn(body, 'custom_attributes')) patch.customAttributes = customAttributes(body.custom_attributes, errors);
  const installation = installationMeta(body.installation_meta, errors);
  errors.throwIfAny();
  if (installation) patch.installation = installation;
  return patch;
}
