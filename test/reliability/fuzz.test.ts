/**
 * Property-based fuzzing of every route with fast-check. Seeded and reproducible: set
 * CROSSWALK_FUZZ_SEED to replay a run (each property uses the seed plus its index). For every
 * generated request: no 5xx; an error is exactly the envelope and carries no stack trace, SQL or
 * source path; a success has the route's exact shape; a rejected request (and any read) leaves
 * every data table exactly as it was; and Object.prototype is never touched. NUL characters and
 * undecodable URLs have properties of their own, so that one known failure does not hide others.
 * The `concurrent` property sends batches in flight together (sharing SQLite group commits): every
 * refused write leaves no trace, every acknowledged one is there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { IDENTIFIER_KEYS } from '../../src/domain/identifiers.js';
import { ATTRIBUTE_NAMES, INSTALLATION_FIELDS } from '../../src/domain/profile.js';
import { CANCELLATION_REASONS, OFFER_CATEGORIES, OFFER_TYPES } from '../../src/domain/revenue.js';
import { GRANT_PATH, REFUND_SAVER_PATH, REVOKE_PATH, TRANSACTION_PATH } from '../../src/http/routes/purchase.js';
import {
  createTestContext,
  DATABASES,
  onDatabase,
  IDENTIFIERS_PATH,
  PROFILE_PATH,
  send,
  subscriptionBody,
  type Tenant,
  type TestContext,
} from '../helpers.js';
import {
  assertEnvelope,
  assertNoInternals,
  assertPrototypeClean,
  prototypeKeys,
  PURCHASE_PATHS,
  type SentRequest,
  snapshot,
  SnapshotReader,
  snapshotText,
} from './support.js';

const SEED = /^-?\d+$/.test(process.env.CROSSWALK_FUZZ_SEED ?? '') ? Number(process.env.CROSSWALK_FUZZ_SEED) : 20_260_611;
/** Generated requests per property; the properties together send well over 1,000 per database. */
const RUNS = { identifiers: 700, profiles: 700, headers: 350, bodies: 350, paths: 250, nul: 60, urls: 30, crosswalk: 400, purchases: 600 } as const;
const MIN_REQUESTS = 1000;
/** Batches of concurrent requests (4 to 12 each) in the `concurrent` property. */
const CONCURRENT_BATCHES = 60;

// ---------------------------------------------------------------------------------------------
// Fixed addressing: a few seeded profiles in two apps, so generated requests hit real rows.

const PID = {
  a1: '0b6f2d1e-8c4a-4f7e-9a1b-2c3d4e5f6a71',
  a2: '0b6f2d1e-8c4a-4f7e-9a1b-2c3d4e5f6a72',
  a3: '0b6f2d1e-8c4a-4f7e-9a1b-2c3d4e5f6a73',
  b1: '0b6f2d1e-8c4a-4f7e-9a1b-2c3d4e5f6b71',
} as const;

const PROFILE_FIELDS = [...ATTRIBUTE_NAMES, 'custom_attributes', 'installation_meta'] as const;

// ---------------------------------------------------------------------------------------------
// Text and values.

// NUL is left out here: it has a property of its own (`nul`), so that one known failure does not
// hide everything else the generic properties could find.
const SPECIAL_CHARS = [
  '\u0001', '\u001f', '\u007f', '\u0085', '\u00a0', '\ufeff', '\u202e', '\u200b', '\u2028', '\ufffd',
  '\ud800', '\udfff', '\ud83d', '😀', '👩‍👩‍👧', '🏳️‍🌈', 'é', 'ß', 'ﷺ', '𝕏', '\n', '\r', '\t', '"', '\\', '/', '%', "'", ';', '--', '<', '>', '&',
];

/** One "character": ASCII, any code point, a lone surrogate, or a known troublemaker. */
const nastyChar = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\u0000') },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_CHARS) },
);

const FIXED_STRINGS = [
  '', ' ', '   ', '\t\n', ' x ', 'null', 'undefined', 'NaN', '1e400', '-0', '__proto__', 'constructor', 'prototype',
  "'; drop table profiles; --", 'select * from api_keys', 'x'.repeat(50), 'x'.repeat(51), 'x'.repeat(256), 'x'.repeat(257),
  'x'.repeat(512), 'x'.repeat(513), '😀'.repeat(50), '😀'.repeat(51), '😀'.repeat(512), '😀'.repeat(513),
  ` ${'y'.repeat(512)} `, '\ud800', 'a\udc00b',
];

const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: nastyChar, maxLength: 24 }) },
  { weight: 2, arbitrary: fc.constantFrom(...FIXED_STRINGS) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.string({ unit: nastyChar, minLength: 1, maxLength: 3 }), fc.integer({ min: 40, max: 700 }))
      .map(([unit, length]) => unit.repeat(length)),
  },
);

/** Number literals as JSON text, including ones JSON.parse turns into Infinity, 0 or a rounded value. */
const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.integer({ min: 0, max: 3 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.constantFrom(
    '1e400', '-1e400', '-0', '-0.0', '0.0', '1e-400', '-1e-400', '0.1e-400', '12345678901234567890', '9007199254740993',
    '9007199254740991', '1E2', '1e+2', '5e-324', '1.7976931348623157e308', '1.7976931348623157e309', '0.000001', '1e-7',
    '123.4500', '1e21', '100000000000000000000', '0.1', '3.0',
  ),
);

/** Any JSON value as text: strings, numbers, literals, nested lists and objects (duplicate keys allowed). */
const keyText = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...IDENTIFIER_KEYS, ...PROFILE_FIELDS) },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'polluted', 'key', 'value', 'device_id') },
  { weight: 2, arbitrary: nastyString },
);

const { valueText } = fc.letrec<{ valueText: string }>((tie) => ({
  valueText: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: nastyString.map((s) => JSON.stringify(s)) },
    { weight: 4, arbitrary: numberText },
    { weight: 2, arbitrary: fc.constantFrom('true', 'false', 'null') },
    { weight: 1, arbitrary: fc.array(tie('valueText'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(keyText, tie('valueText')), { maxLength: 4 })
        .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
    },
  ),
}));

const objectText = (pairs: fc.Arbitrary<[string, string][]>) =>
  pairs.map((list) => `{${list.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`);

const s = (text: fc.Arbitrary<string>) => text.map((value) => JSON.stringify(value));

// Values that are valid often enough that generated writes succeed and change the database.
const uuidText = fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase()), fc.constantFrom(PID.a1, PID.b1, 'not-a-uuid', ''));
const FIELD_VALUES: Record<string, fc.Arbitrary<string>> = {
  first_name: s(nastyString),
  last_name: s(nastyString),
  phone_number: s(nastyString),
  gender: s(fc.constantFrom('f', 'm', 'o', 'F', 'x', '')),
  email: s(fc.oneof(fc.emailAddress(), fc.constantFrom('a@b', 'a@b.c', '@', 'x'.repeat(250) + '@a.io'))),
  birthday: s(fc.constantFrom('2000-01-31', '2000-02-30', '1999-13-01', '0000-01-01', '2024-02-29', '2023-02-29', '20000101', '')),
  ip_country: s(fc.constantFrom('US', 'de', 'XX', 'USA', '', 'gb')),
  store_country: s(fc.constantFrom('FR', 'jp', 'ZZ', 'U', '')),
  ip_v4_address: s(fc.oneof(fc.ipV4(), fc.constantFrom('256.1.1.1', '01.2.3.4', '1.2.3', '::1'))),
  store: s(fc.constantFrom('app_store', 'play_store', 'stripe', 'adapty', 'paddle', 'itunes', '')),
  store_account_token: s(uuidText),
  att_status: fc.constantFrom('0', '1', '2', '3', '4', '-1', '1.5', '-0', '"1"', '1e400'),
  analytics_disabled: fc.constantFrom('true', 'false', '0', '1', '"true"'),
};

const attributeKey = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,30}$/) },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'k1', 'k2', 'k3') },
  { weight: 1, arbitrary: nastyString },
);
const customAttributeText = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(attributeKey, valueText).map(([key, value]) => `{"key":${JSON.stringify(key)},"value":${value}}`) },
  { weight: 1, arbitrary: fc.tuple(attributeKey, valueText).map(([key, value]) => `{"value":${value},"key":${JSON.stringify(key)},"key":"dup"}`) },
  { weight: 1, arbitrary: valueText },
);
const customAttributesText = fc.oneof(
  { weight: 6, arbitrary: fc.array(customAttributeText, { maxLength: 6 }).map((items) => `[${items.join(',')}]`) },
  { weight: 1, arbitrary: fc.integer({ min: 25, max: 40 }).map((n) => `[${Array.from({ length: n }, (_, i) => `{"key":"many${i}","value":${i}}`).join(',')}]`) },
  { weight: 1, arbitrary: fc.constantFrom('null', '[]', '{}', '"x"') },
);
const installationText = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.constantFrom('"11111111-2222-4333-8444-555555555555"', '"11111111-2222-4333-8444-55555555555A"'), s(uuidText), valueText),
        fc.array(fc.tuple(fc.constantFrom(...INSTALLATION_FIELDS, '__proto__', 'device_id', 'extra'), valueText), { maxLength: 4 }),
      )
      .map(([device, fields]) => `{"device_id":${device}${fields.map(([k, v]) => `,${JSON.stringify(k)}:${v}`).join('')}}`),
  },
  { weight: 1, arbitrary: valueText },
);

/** Identifier values: mostly acceptable (so writes happen), often not. */
const identifierValueText = fc.oneof(
  { weight: 8, arbitrary: s(fc.oneof(fc.stringMatching(/^[\w.:-]{1,64}$/), fc.string({ unit: nastyChar, minLength: 1, maxLength: 20 }))) },
  { weight: 1, arbitrary: fc.constant('null') },
  { weight: 1, arbitrary: numberText },
  { weight: 2, arbitrary: valueText },
);

const identifierBodyText = objectText(
  fc.array(
    fc.oneof(
      { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...IDENTIFIER_KEYS), identifierValueText) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), objectText(fc.array(fc.tuple(fc.constantFrom(...IDENTIFIER_KEYS, 'polluted', 'prototype'), valueText), { maxLength: 3 }))) },
      { weight: 2, arbitrary: fc.tuple(keyText, valueText) },
    ),
    { maxLength: 6 },
  ),
);

const profileBodyText = objectText(
  fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...ATTRIBUTE_NAMES).chain((name) => fc.tuple(fc.constant(name), fc.oneof({ weight: 3, arbitrary: FIELD_VALUES[name]! }, { weight: 1, arbitrary: valueText }))) },
      { weight: 3, arbitrary: fc.tuple(fc.constant('custom_attributes'), customAttributesText) },
      { weight: 2, arbitrary: fc.tuple(fc.constant('installation_meta'), installationText) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('__proto__', 'constructor'), objectText(fc.array(fc.tuple(fc.constantFrom('first_name', 'polluted', 'prototype'), valueText), { maxLength: 3 }))) },
      { weight: 1, arbitrary: fc.tuple(keyText, valueText) },
    ),
    { maxLength: 6 },
  ),
);

/** Text with NUL characters in every place a string is stored. */
const nulString = fc
  .tuple(fc.string({ unit: 'grapheme-ascii', maxLength: 8 }), fc.string({ unit: 'grapheme-ascii', maxLength: 8 }))
  .map(([head, tail]) => `${head}\u0000${tail}`);
const nulBody = fc.oneof(
  fc.tuple(fc.constantFrom(...IDENTIFIER_KEYS), nulString).map(([key, value]) => JSON.stringify({ [key]: value })),
  fc.tuple(fc.constantFrom('first_name', 'last_name', 'phone_number'), nulString).map(([key, value]) => JSON.stringify({ [key]: value })),
  nulString.map((value) => JSON.stringify({ custom_attributes: [{ key: 'nul', value }] })),
  fc.tuple(fc.constantFrom(...INSTALLATION_FIELDS.filter((f) => f !== 'platform')), nulString).map(([field, value]) =>
    JSON.stringify({ installation_meta: { device_id: '11111111-2222-4333-8444-555555555555', [field]: value } }),
  ),
);

// ---------------------------------------------------------------------------------------------
// Purchase bodies: a valid transaction, grant, revocation or Refund Saver body, often with some
// fields replaced by a generated value (a key given again wins, as JSON.parse keeps the last one),
// one left out, or hostile keys added. Transaction ids come from a small pool, so that transactions
// are sent again (the same one: updated) and by another profile (refused).

/** Date-times: real ones in the past and the future, and every edge the format allows or nearly allows. */
const dateTimeText = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
      .map((date) => JSON.stringify(date.toISOString())),
  },
  {
    // Accepted by the format, each in its own way: no offset, a space or lower case, nine decimals,
    // an offset without a colon, the ends of the calendar, offsets of a day or more.
    weight: 3,
    arbitrary: s(
      fc.constantFrom(
        '2024-01-01T00:00:00', '2024-01-01 10:00:00', '2024-01-01t00:00:00z', '2024-06-01T12:00:00+05:30',
        '2024-06-01T12:00:00.123456789-0800', '2024-02-29T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59-23:59',
        '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00+99:99', '2099-01-01T00:00:00Z',
      ),
    ),
  },
  {
    weight: 1,
    arbitrary: s(fc.constantFrom('2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '2016-12-31T23:59:60Z', '2024-01-01', '1704067200000', '', 'now')),
  },
  { weight: 1, arbitrary: fc.constantFrom('null', '1704067200000', 'true', '{}') },
  { weight: 1, arbitrary: valueText },
);
const nullableText = (text: fc.Arbitrary<string>) => fc.oneof({ weight: 4, arbitrary: s(text) }, { weight: 1, arbitrary: fc.constant('null') }, { weight: 1, arbitrary: valueText });
const storeText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('app_store', 'play_store', 'stripe', 'paddle', 'my_store') },
  { weight: 1, arbitrary: nastyString },
);
const productText = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('monthly', 'yearly', 'coins') }, { weight: 1, arbitrary: nastyString });
const transactionIdText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('tx-1', 'tx-2', 'tx-3', 'tx-4') },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(50), 'x'.repeat(51), '😀'.repeat(50), '😀'.repeat(51), ' tx-1', '') },
  { weight: 1, arbitrary: nastyString },
);
const priceText = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        s(fc.oneof({ weight: 6, arbitrary: fc.constant('US') }, { weight: 1, arbitrary: fc.constantFrom('us', 'DE', 'XX', 'USA', '', 'U1') })),
        s(fc.oneof({ weight: 6, arbitrary: fc.constant('USD') }, { weight: 1, arbitrary: fc.constantFrom('usd', 'EUR', 'XXX', 'US$', '') })),
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('0', '0.99', '9.99', '4999') },
          { weight: 2, arbitrary: numberText },
          { weight: 1, arbitrary: fc.constantFrom('1e300', '1e303', '1.7976931348623157e308', '-0', '1e-400') },
          { weight: 1, arbitrary: valueText },
        ),
      )
      .map(([country, currency, value]) => `{"country":${country},"currency":${currency},"value":${value}}`),
  },
  { weight: 1, arbitrary: valueText },
);
const offerText = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(...OFFER_CATEGORIES, 'nope'), fc.constantFrom(...OFFER_TYPES, 'nope'), fc.oneof(fc.constant(''), fc.constantFrom(',"id":"offer-1"', ',"id":null', ',"id":""', ',"id":7')))
      .map(([category, type, id]) => `{"category":"${category}","type":"${type}"${id}}`),
  },
  { weight: 2, arbitrary: fc.constant('null') },
  { weight: 1, arbitrary: valueText },
);

/** A generated value for each field of a transaction. */
const TRANSACTION_VALUES: Record<string, fc.Arbitrary<string>> = {
  purchase_type: s(fc.constantFrom('subscription', 'one_time_purchase', 'consumable', '')),
  store: s(storeText),
  environment: s(fc.constantFrom('Production', 'Sandbox', 'production', '')),
  store_product_id: s(productText),
  store_base_plan_id: nullableText(fc.constantFrom('p1m', '')),
  store_transaction_id: s(transactionIdText),
  store_original_transaction_id: s(transactionIdText),
  is_family_shared: fc.constantFrom('true', 'false', '"true"', 'null'),
  price: priceText,
  purchased_at: dateTimeText,
  variation_id: nullableText(nastyString),
  offer: offerText,
  refunded_at: dateTimeText,
  cancellation_reason: fc.oneof(s(fc.constantFrom(...CANCELLATION_REASONS, 'nope')), fc.constant('null')),
  originally_purchased_at: dateTimeText,
  expires_at: dateTimeText,
  renew_status: fc.constantFrom('true', 'false', 'null', '"yes"'),
  renew_status_changed_at: dateTimeText,
  billing_issue_detected_at: dateTimeText,
  grace_period_expires_at: dateTimeText,
};

const HOSTILE_KEYS = fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted', 'purchase_id', 'profile_id', 'price_usd', 'access_level_id');

/**
 * Valid pairs (from `base`), then: one key left out (sometimes), generated values for some known
 * fields, and hostile or unknown keys. JSON.parse keeps the last of a key given twice.
 */
function variedObject(base: fc.Arbitrary<[string, string][]>, values: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const names = Object.keys(values);
  const override = fc.constantFrom(...names).chain((name) => fc.tuple(fc.constant(name), values[name]!));
  return fc
    .tuple(
      base,
      fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat({ max: 20 }) }),
      fc.oneof({ weight: 3, arbitrary: fc.constant([] as [string, string][]) }, { weight: 4, arbitrary: fc.array(override, { minLength: 1, maxLength: 3 }) }),
      fc.oneof({ weight: 6, arbitrary: fc.constant([] as [string, string][]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(HOSTILE_KEYS, keyText), valueText), { minLength: 1, maxLength: 2 }) }),
    )
    .map(([pairs, drop, changes, extra]) => {
      const kept = drop < 0 ? pairs : pairs.filter((_, i) => i !== drop % pairs.length);
      return `{${[...kept, ...changes, ...extra].map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
    });
}

/** A valid transaction, as pairs: a subscription period active now, or a one-time purchase. */
const validTransaction: fc.Arbitrary<[string, string][]> = fc
  .tuple(fc.boolean(), transactionIdText, fc.constantFrom('monthly', 'yearly', 'coins'), fc.constantFrom('app_store', 'play_store', 'my_store'), fc.constantFrom('0.99', '9.99', '0'))
  .map(([subscription, id, product, store, value]) => {
    const common: [string, string][] = [
      ['purchase_type', JSON.stringify(subscription ? 'subscription' : 'one_time_purchase')],
      ['store', JSON.stringify(store)],
      ['store_product_id', JSON.stringify(product)],
      ['store_transaction_id', JSON.stringify(id)],
      ['store_original_transaction_id', JSON.stringify(id)],
      ['price', `{"country":"US","currency":"USD","value":${value}}`],
      ['purchased_at', '"2024-01-01T00:00:00Z"'],
    ];
    if (!subscription) return common;
    return [...common, ['originally_purchased_at', '"2024-01-01T00:00:00Z"'], ['expires_at', '"2099-01-01T00:00:00Z"'], ['renew_status', 'true']];
  });

const accessLevelText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('premium', 'gold', 'vip') },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'premium ', 'x'.repeat(100), 'x'.repeat(101), '__proto__') },
  { weight: 1, arbitrary: nastyString },
);
const accessLevelValue = s(accessLevelText);
/** An access level id, then some of the optional pairs. */
const accessLevelBase = (optional: [string, string][]) =>
  fc.tuple(accessLevelValue, fc.subarray(optional)).map(([level, rest]): [string, string][] => [['access_level_id', level], ...rest]);

const transactionBodyText = variedObject(validTransaction, TRANSACTION_VALUES);
const grantBodyText = variedObject(
  accessLevelBase([['starts_at', '"2024-01-01T00:00:00Z"'], ['expires_at', '"2099-01-01T00:00:00Z"']]),
  { access_level_id: accessLevelValue, starts_at: dateTimeText, expires_at: dateTimeText },
);
const revokeBodyText = variedObject(accessLevelBase([['revoke_at', '"2098-01-01T00:00:00Z"']]), { access_level_id: accessLevelValue, revoke_at: dateTimeText });
const refundSaverBodyText = variedObject(
  fc.subarray([['consent', 'true'], ['custom_preference', '"grant"']] as [string, string][], { minLength: 1 }),
  {
    consent: fc.oneof(fc.constantFrom('true', 'false', 'null', '"true"', '0'), valueText),
    custom_preference: fc.oneof(s(fc.constantFrom('grant', 'no_preference', 'decline', 'maybe', 'GRANT')), fc.constant('null'), valueText),
  },
);
const purchaseBodyText = fc.oneof(transactionBodyText, grantBodyText, revokeBodyText, refundSaverBodyText);

/** NUL characters in each stored text of the purchase bodies, the rest valid. */
const nulTransactionBody = fc
  .tuple(validTransaction, fc.constantFrom('store', 'store_product_id', 'store_transaction_id', 'store_original_transaction_id', 'variation_id', 'store_base_plan_id'), nulString)
  .map(([pairs, field, value]) => `{${[...pairs, [field, JSON.stringify(value)]].map(([key, text]) => `${JSON.stringify(key)}:${text}`).join(',')}}`);
const nulAccessLevelBody = nulString.map((value) => JSON.stringify({ access_level_id: value }));

// ---------------------------------------------------------------------------------------------
// Raw bodies: bytes that are not UTF-8, nesting, size, duplicate keys, extreme numbers.

const INVALID_UTF8: readonly number[][] = [
  [0x80], [0xbf], [0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff], [0xfe], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3],
];

const invalidUtf8Body = fc
  .tuple(
    fc.constantFrom('{"appsflyer_id":"', '{"first_name":"', '{"custom_attributes":[{"key":"k","value":"', '', '{"'),
    fc.array(fc.oneof(fc.constantFrom(...INVALID_UTF8), fc.uint8Array({ maxLength: 6 }).map((bytes) => [...bytes])), { minLength: 1, maxLength: 4 }),
    fc.constantFrom('"}', '"}]}', '', '":1}'),
  )
  .map(([head, middle, tail]) => Buffer.concat([Buffer.from(head), Buffer.from(middle.flat()), Buffer.from(tail)]));

const nestedBody = fc
  .tuple(fc.integer({ min: 100, max: 32_000 }), fc.constantFrom('array', 'object', 'under-key', 'custom'))
  .map(([depth, shape]) => {
    if (shape === 'array') return '['.repeat(depth) + ']'.repeat(depth);
    if (shape === 'object') {
      const n = Math.min(depth, 10_000);
      return '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    }
    const n = Math.min(depth, 30_000);
    const inner = '['.repeat(n) + ']'.repeat(n);
    return shape === 'custom' ? `{"custom_attributes":${inner}}` : `{"appsflyer_id":${inner}}`;
  });

const sizedBody = fc
  .tuple(fc.constantFrom(65_535, 65_536, 65_537, 70_000, 200_000), fc.constantFrom('appsflyer_id', 'first_name', 'pad'))
  .map(([size, field]) => {
    const head = `{"${field}":"x"`;
    return head + ' '.repeat(Math.max(0, size - head.length - 1)) + '}';
  });

const duplicateKeyBody = fc
  .tuple(fc.constantFrom(...IDENTIFIER_KEYS, 'first_name', 'custom_attributes', '__proto__'), valueText, valueText)
  .map(([key, first, second]) => `{${JSON.stringify(key)}:${first},${JSON.stringify(key)}:${second}}`);

const brokenJson = fc.oneof(
  fc.constantFrom('{', '}', '{"appsflyer_id":', '{"appsflyer_id":"x"', "{'appsflyer_id':'x'}", '{appsflyer_id:1}', '[1,]', '{"a":1,}', 'NaN', 'Infinity', '-', '01', '.5', '+1', '0x10', '\ufeff{"appsflyer_id":"x"}', 'nul', 'tru', '"\\ud800"', '"\\u00"', '"\\x41"', '{"a":"\u0001"}', '\u0000'),
  valueText.map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.string({ unit: nastyChar, maxLength: 30 }),
);

const rawBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 3, arbitrary: invalidUtf8Body },
  { weight: 2, arbitrary: nestedBody },
  { weight: 1, arbitrary: sizedBody },
  { weight: 3, arbitrary: duplicateKeyBody },
  { weight: 3, arbitrary: brokenJson },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 2, arbitrary: objectText(fc.array(fc.tuple(fc.constantFrom(...IDENTIFIER_KEYS, 'att_status', 'first_name'), numberText), { minLength: 1, maxLength: 3 })) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\n', '{}', '[]', 'null', '""', '0') },
);

// ---------------------------------------------------------------------------------------------
// Headers, paths and methods.

/** What a real client can put in a header: UTF-8 bytes seen as Latin-1, without control characters. */
const wire = (text: string) =>
  // eslint-disable-next-line no-control-regex
  Buffer.from(text, 'utf8').toString('latin1').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '');

const headerText = fc.oneof(
  { weight: 6, arbitrary: nastyString.map(wire) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 15_000 }).map((n) => 'h'.repeat(n)) },
);

type HeaderValue = string | string[] | undefined;

interface Keys {
  a: Tenant;
  b: Tenant;
  revoked: string;
}

function authArb(keys: Keys, chaos: boolean): fc.Arbitrary<HeaderValue> {
  const good = [
    { weight: 8, arbitrary: fc.constant(keys.a.auth.authorization) },
    { weight: 3, arbitrary: fc.constant(keys.b.auth.authorization) },
  ];
  if (!chaos) return fc.oneof(...good, { weight: 1, arbitrary: fc.constant(undefined) });
  const secret = keys.a.key;
  return fc.oneof(
    ...good,
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom(`api-key ${secret}`, `API-KEY   ${secret}`, ` Api-Key ${secret} `, `Api-Key\t${secret}`) },
    { weight: 2, arbitrary: fc.constantFrom(`Bearer ${secret}`, secret, 'Api-Key', 'Api-Key ', `Api-Key ${secret} extra`, `Api-Key ${secret.slice(0, -1)}`, `Api-Key ${keys.revoked}`, 'Api-Key secret_live_AAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', `ApiKey ${secret}`, 'Basic dXNlcjpwYXNz') },
    { weight: 1, arbitrary: headerText.map((text) => `Api-Key ${text}`) },
    { weight: 1, arbitrary: headerText },
    { weight: 1, arbitrary: fc.constantFrom<HeaderValue>([keys.a.auth.authorization, keys.b.auth.authorization], [keys.b.auth.authorization, keys.a.auth.authorization], ['Api-Key nope-nope-nope-nope', keys.a.auth.authorization], [keys.a.auth.authorization, keys.a.auth.authorization]) },
  );
}

const customerUserId: fc.Arbitrary<HeaderValue> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('fz-a', 'fz-b', 'fz-b', 'fz-new-1', 'fz-new-2') },
  { weight: 2, arbitrary: headerText },
  { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(256), 'x'.repeat(257), wire('😀'.repeat(256)), wire('😀'.repeat(257)), wire('ユーザー'), ' fz-a') },
  { weight: 1, arbitrary: fc.constantFrom<HeaderValue>(['fz-a', 'fz-a'], ['fz-a', 'fz-b'], ['', 'fz-a']) },
);

const profileId: fc.Arbitrary<HeaderValue> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(PID.a1, PID.a2, PID.a3, PID.b1, PID.a1.toUpperCase(), PID.a3.toUpperCase()) },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.oneof(headerText, fc.constantFrom('', 'not-a-uuid', `{${PID.a1}}`, PID.a1.replace(/-/g, ''), `${PID.a1} `, `urn:uuid:${PID.a1}`)) },
  { weight: 1, arbitrary: fc.constantFrom<HeaderValue>([PID.a1, PID.a1], [PID.a1, PID.a2]) },
);

interface Addressing {
  cuid: HeaderValue;
  pid: HeaderValue;
}

/** Every kind of addressing header, valid or not, single or doubled. */
const chaosAddressing: fc.Arbitrary<Addressing> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ cuid: customerUserId, pid: fc.constant(undefined) }) },
  { weight: 3, arbitrary: fc.record({ cuid: fc.constant(undefined), pid: profileId }) },
  { weight: 2, arbitrary: fc.record({ cuid: customerUserId, pid: profileId }) },
  { weight: 1, arbitrary: fc.constant({ cuid: undefined, pid: undefined }) },
);

/** Mostly the seeded profiles (and a few new ones), so that body validation and writes are reached. */
const plainCustomerUserId = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom<HeaderValue>('fz-a', 'fz-b', 'fz-b', 'fz-new-1', 'fz-new-2') },
  { weight: 1, arbitrary: customerUserId },
);
const plainProfileId = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom<HeaderValue>(PID.a1, PID.a2, PID.a3, PID.b1, PID.a1.toUpperCase()) },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: profileId },
);
const plainAddressing: fc.Arbitrary<Addressing> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ cuid: plainCustomerUserId, pid: fc.constant(undefined) }) },
  { weight: 4, arbitrary: fc.record({ cuid: fc.constant(undefined), pid: plainProfileId }) },
  { weight: 1, arbitrary: fc.record({ cuid: plainCustomerUserId, pid: plainProfileId }) },
  { weight: 1, arbitrary: chaosAddressing },
);

const CONTENT_TYPES: readonly HeaderValue[] = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset="utf8"',
  'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=', 'application/json; charset',
  'application/vnd.api+json', 'application/problem+json', 'APPLICATION/JSON', 'application/json ; foo=bar', 'text/plain',
  'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/',
  'application', '*/*', '', ';;;', 'application/json, text/plain', ['application/json', 'text/plain'], ['text/plain', 'application/json'],
];
const contentType = fc.oneof(
  { weight: 24, arbitrary: fc.constant<HeaderValue>('application/json') },
  { weight: 1, arbitrary: fc.constant<HeaderValue>(undefined) },
  { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: headerText },
);

const PLATFORM = fc.oneof(
  { weight: 6, arbitrary: fc.constant<HeaderValue>(undefined) },
  { weight: 2, arbitrary: fc.constantFrom<HeaderValue>('iOS', 'android', 'WEB', 'visionOS') },
  { weight: 1, arbitrary: fc.constantFrom<HeaderValue>('', 'Windows', ['iOS', 'iOS']) },
  { weight: 1, arbitrary: headerText },
);

const extraHeaders = fc.array(
  fc.tuple(fc.constantFrom('x-forwarded-for', 'x-request-id', 'accept', 'accept-charset', 'cookie', 'x-long', 'adapty-sdk-version', 'origin'), headerText),
  { maxLength: 3 },
);

const identifierPath = fc.constantFrom(IDENTIFIERS_PATH, IDENTIFIERS_PATH.slice(0, -1), `${IDENTIFIERS_PATH}?__proto__[polluted]=1`, `${IDENTIFIERS_PATH}?a=1&a=2`);
const purchasePathOf = (path: string) => fc.constantFrom(path, path.slice(0, -1), `${path}?__proto__[polluted]=1`, `${path}?a=1&a=2`);
const purchasePath = fc.oneof(...PURCHASE_PATHS.map(purchasePathOf));
const profilePath = fc.constantFrom(PROFILE_PATH, PROFILE_PATH.slice(0, -1), `${PROFILE_PATH}?constructor[prototype][polluted]=1`, `${PROFILE_PATH}?x=%zz`);

/** The /crosswalk/v1 routes: lookup and history with generated query strings, batch with generated items. */
const CROSSWALK = '/crosswalk/v1/integration-identifiers';
const queryText = (text: string) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, 'x'));
const crosswalkPath = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.option(fc.constantFrom(...IDENTIFIER_KEYS, 'nope', '', '__proto__')), fc.oneof(nastyString, fc.constantFrom('null', 'fz-af', ' fz-af ', '0', '%00')))
      // No key: every key is searched.
      .map(([key, value]) => `${CROSSWALK}/lookup/?${key === null ? '' : `key=${queryText(key)}&`}value=${queryText(value)}`),
  },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom('', '?limit=0', '?limit=3', '?limit=500', '?limit=501', '?limit=abc', '?cursor=5', '?cursor=-1', '?cursor=99999999999999999999', '?key=appsflyer_id', '?key=x&key=y', '?limit=1&limit=2', '?__proto__[polluted]=1')
      .map((query) => `${CROSSWALK}/history/${query}`),
  },
  { weight: 4, arbitrary: fc.constantFrom(`${CROSSWALK}/batch/`, `${CROSSWALK}/batch`, `${CROSSWALK}/batch/?x=1`) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom('/crosswalk/v1/webhooks/endpoints/', '/crosswalk/v1/webhooks/endpoints', '/crosswalk/v1/webhooks/deliveries/'),
      fc
        .constantFrom('', '?status=failed', '?status=nope', '?limit=0', '?limit=abc', '?cursor=-5', '?endpoint_id=x', '?status=a&status=b')
        .map((query) => `/crosswalk/v1/webhooks/deliveries/${query}`),
      fc.tuple(fc.oneof(nastyString, fc.uuid()), fc.constantFrom('endpoints/%s/', 'deliveries/%s/redeliver/')).map(([id, shape]) => `/crosswalk/v1/webhooks/${shape.replace('%s', queryText(id))}`),
    ),
  },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom('/crosswalk/v1/destinations/', '/crosswalk/v1/destinations', '/crosswalk/v1/destinations/deliveries/'),
      fc
        .constantFrom('', '?status=skipped', '?status=nope', '?limit=0', '?cursor=-5', '?destination_id=x', '?profile_id=%00', '?status=a&status=b')
        .map((query) => `/crosswalk/v1/destinations/deliveries/${query}`),
      fc
        .tuple(fc.oneof(nastyString, fc.uuid()), fc.constantFrom('%s/', '%s/test/', 'deliveries/%s/redeliver/'))
        .map(([id, shape]) => `/crosswalk/v1/destinations/${shape.replace('%s', queryText(id))}`),
    ),
  },
);
const webhookBodyText = objectText(
  fc.array(
    fc.tuple(
      fc.constantFrom('url', 'url', 'event_types', 'secret', 'description', '__proto__'),
      fc.oneof(valueText, fc.constantFrom('"http://127.0.0.1:9/"', '"https://example.com/hook"', '["profile.created"]', '["nope"]', '[]', '"ftp://x"', '"whsec_0123456789abcdef"')),
    ),
    { maxLength: 4 },
  ),
);
const destinationBodyText = objectText(
  fc.array(
    fc.tuple(
      fc.constantFrom('type', 'type', 'config', 'config', 'base_url', 'events', 'event_names', 'include_sandbox', '__proto__'),
      fc.oneof(
        valueText,
        fc.constantFrom(
          '"amplitude"', '"adjust"', '"segment"', '{"api_key":"fuzz-key-0123456789"}', '{"api_key":""}', '{"api_key":1}', '{"nope":"x"}',
          '{"__proto__":"x"}', '"http://127.0.0.1:9/"', '"https://example.com/?a=1"', '["transaction.recorded"]', '["access_level.updated","nope"]',
          '{"purchase":"x"}', '{"upgrade":"x"}', 'true', 'null',
        ),
      ),
    ),
    { maxLength: 5 },
  ),
);
const batchItemText = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom('"customer_user_id":"fz-a"', '"customer_user_id":"fz-new"', `"profile_id":"${PID.a1}"`, `"profile_id":"${PID.b1}"`, '"customer_user_id":""', '"profile_id":"nope"', ''),
        identifierBodyText,
      )
      .map(([address, identifiers]) => `{${address}${address ? ',' : ''}"identifiers":${identifiers}}`),
  },
  { weight: 1, arbitrary: valueText },
);
const batchBodyText = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.array(batchItemText, { maxLength: 6 }), fc.constantFrom('', ',"create_missing":true', ',"create_missing":"yes"', ',"create_missing":false'))
      .map(([items, option]) => `{"items":[${items.join(',')}]${option}}`),
  },
  { weight: 1, arbitrary: valueText },
);

const pathSegment = fc.oneof(
  fc.stringMatching(/^[a-z0-9_-]{1,12}$/),
  fc.constantFrom('purchase', 'paywall', 'access-level', '..', '.', '%2e%2e', '%00', '%20', '%2F', '__proto__', 'constructor', 'profile', 'integration', ''),
  nastyString.map((text) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, 'x'))),
);
const anyPath = fc.oneof(
  { weight: 3, arbitrary: fc.array(pathSegment, { minLength: 1, maxLength: 4 }).map((parts) => `/api/v2/server-side-api/${parts.join('/')}`) },
  { weight: 2, arbitrary: fc.array(pathSegment, { minLength: 0, maxLength: 4 }).map((parts) => `/${parts.join('/')}`) },
  { weight: 2, arbitrary: fc.constantFrom('/healthz', '/readyz', '/healthz/', '/readyz?x=1', '/', '//', '/api/v2/server-side-api/', '/crosswalk/v1/', '/api/v2/server-side-api/purchase/stripe/token/validate/', '/api/v2/server-side-api/profile/../profile/') },
  { weight: 2, arbitrary: fc.oneof(profilePath, identifierPath, purchasePath) },
  { weight: 1, arbitrary: fc.tuple(fc.oneof(profilePath, identifierPath, purchasePath), pathSegment).map(([p, extra]) => `${p}${extra}`) },
);

/** Percent-encodings that do not decode (bad hex, cut short, not UTF-8): a property of their own. */
const BAD_ENCODINGS = ['%', '%z', '%zz', '%E0%A4%A', '%ff', '%c0%af', '%ed%a0%80', '%%', '%u0041'];
const malformedPath = fc
  .tuple(
    fc.constantFrom(PROFILE_PATH, IDENTIFIERS_PATH, ...PURCHASE_PATHS, '/', '/healthz/', '/api/v2/server-side-api/', '/nothing/'),
    fc.constantFrom(...BAD_ENCODINGS),
    fc.constantFrom('', 'x', '/'),
  )
  .map(([base, bad, tail]) => `${base}${bad}${tail}`);

const API_METHODS = ['GET', 'POST', 'PATCH', 'DELETE'] as const;
const anyMethod = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...API_METHODS) },
  { weight: 2, arbitrary: fc.constantFrom('PUT', 'HEAD', 'OPTIONS', 'TRACE') },
  { weight: 1, arbitrary: fc.constantFrom('PROPFIND', 'SEARCH', 'MKCOL', 'LOCK', 'COPY', 'MOVE', 'PURGE', 'REPORT') },
);

/** Real Node refuses a header block over 16 KiB before the app sees it; inject does not, so keep under it. */
const MAX_HEADER_BYTES = 15_000;

function fitHeaders(headers: Record<string, string | string[]>): void {
  const size = () => Object.entries(headers).reduce((sum, [name, value]) => sum + [value].flat().reduce((n, v) => n + name.length + v.length + 4, 0), 0);
  while (size() > MAX_HEADER_BYTES) {
    const [name, value] = Object.entries(headers).sort(([, x], [, y]) => String(y).length - String(x).length)[0]!;
    const excess = size() - MAX_HEADER_BYTES;
    headers[name] = Array.isArray(value) ? value.map((v) => v.slice(0, Math.max(0, v.length - excess))) : value.slice(0, Math.max(0, value.length - excess));
  }
}

interface Shape {
  path: fc.Arbitrary<string>;
  method: fc.Arbitrary<string>;
  body: fc.Arbitrary<string | Buffer | undefined>;
  chaos: boolean;
}

function requestArb(keys: Keys, shape: Shape): fc.Arbitrary<SentRequest> {
  return fc
    .record({
      path: shape.path,
      method: shape.method,
      body: shape.body,
      auth: authArb(keys, shape.chaos),
      address: shape.chaos ? chaosAddressing : plainAddressing,
      type: contentType,
      platform: shape.chaos ? PLATFORM : fc.constant<HeaderValue>(undefined),
      extra: shape.chaos ? extraHeaders : fc.constant([] as [string, string][]),
    })
    .map(({ path, method, body, auth, address, type, platform, extra }) => {
      const headers: Record<string, string | string[]> = {};
      const put = (name: string, value: HeaderValue) => {
        if (value !== undefined) headers[name] = value;
      };
      for (const [name, value] of extra) put(name, value);
      put('authorization', auth);
      put('adapty-customer-user-id', address.cuid);
      put('adapty-profile-id', address.pid);
      put('adapty-platform', platform);
      if (body !== undefined) put('content-type', type);
      fitHeaders(headers);
      const request: SentRequest = { method, url: path, headers };
      if (body !== undefined) request.payload = body;
      return request;
    });
}

const optionalBody = (body: fc.Arbitrary<string | Buffer>) =>
  fc.oneof({ weight: 8, arbitrary: body.map((b): string | Buffer | undefined => b) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant('') });

/** Mostly `main`, now and then another method. */
const mostly = (...main: string[]) => fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...main) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PATCH', 'DELETE', 'PUT', 'HEAD') });
/** Mostly `body`, now and then a NUL character in a stored text. */
const withNul = (body: fc.Arbitrary<string>, nul: fc.Arbitrary<string>) => fc.oneof({ weight: 10, arbitrary: body }, { weight: 1, arbitrary: nul });

/** One shape per purchase route, so that each route gets its own bodies. */
const purchaseShapes = (): Shape[] => [
  { path: purchasePathOf(TRANSACTION_PATH), method: mostly('POST'), body: optionalBody(withNul(transactionBodyText, nulTransactionBody)), chaos: false },
  { path: purchasePathOf(GRANT_PATH), method: mostly('POST'), body: optionalBody(withNul(grantBodyText, nulAccessLevelBody)), chaos: false },
  { path: purchasePathOf(REVOKE_PATH), method: mostly('POST'), body: optionalBody(withNul(revokeBodyText, nulAccessLevelBody)), chaos: false },
  { path: purchasePathOf(REFUND_SAVER_PATH), method: mostly('POST', 'GET'), body: optionalBody(refundSaverBodyText), chaos: false },
];

/** A property's requests: of one shape, or of one of several, picked evenly. */
function shapesArb(keys: Keys, shape: Shape | Shape[]): fc.Arbitrary<SentRequest> {
  return Array.isArray(shape) ? fc.oneof(...shape.map((one) => requestArb(keys, one))) : requestArb(keys, shape);
}

function shapes(): Record<keyof typeof RUNS, Shape | Shape[]> {
  return {
    identifiers: {
      path: identifierPath,
      method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 3, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constantFrom('PATCH', 'DELETE', 'PUT', 'HEAD') }),
      body: optionalBody(identifierBodyText),
      chaos: false,
    },
    profiles: {
      path: profilePath,
      method: fc.oneof({ weight: 4, arbitrary: fc.constant('POST') }, { weight: 4, arbitrary: fc.constant('PATCH') }, { weight: 2, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constant('DELETE') }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'HEAD', 'OPTIONS') }),
      body: optionalBody(profileBodyText),
      chaos: false,
    },
    headers: {
      path: fc.oneof(profilePath, identifierPath, purchasePath),
      method: fc.constantFrom(...API_METHODS),
      body: optionalBody(fc.oneof(identifierBodyText, profileBodyText, purchaseBodyText)),
      chaos: true,
    },
    bodies: {
      path: fc.oneof(profilePath, identifierPath, purchasePath),
      method: fc.constantFrom('POST', 'POST', 'PATCH', 'DELETE', 'GET'),
      body: rawBody.map((b): string | Buffer | undefined => b),
      chaos: false,
    },
    paths: {
      path: anyPath,
      method: anyMethod,
      body: optionalBody(fc.oneof(identifierBodyText, profileBodyText, purchaseBodyText, rawBody)),
      chaos: true,
    },
    nul: {
      path: fc.oneof(profilePath, identifierPath),
      method: fc.constantFrom('POST', 'PATCH'),
      body: nulBody.map((b): string | Buffer | undefined => b),
      chaos: false,
    },
    crosswalk: {
      path: crosswalkPath,
      method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('GET', 'POST') }, { weight: 1, arbitrary: fc.constantFrom('PATCH', 'DELETE', 'PUT') }),
      body: optionalBody(fc.oneof(batchBodyText, webhookBodyText, destinationBodyText)),
      chaos: false,
    },
    urls: {
      path: malformedPath,
      method: fc.constantFrom(...API_METHODS, 'PUT'),
      body: optionalBody(identifierBodyText),
      chaos: false,
    },
    purchases: purchaseShapes(),
  };
}

// ---------------------------------------------------------------------------------------------
// Concurrent batches: writes that succeed and writes that must be refused, in flight together (so
// that they share transactions or commits), each marked with a token of its own.

const FLAWS = ['bad-value', 'too-many', 'bad-email', 'bad-json', 'bad-auth', 'wrong-type', 'not-found'] as const;
type Flaw = (typeof FLAWS)[number];

interface BatchItem {
  op: 'identifiers' | 'patch' | 'create' | 'read';
  profile: 0 | 1;
  flaw: Flaw | null;
}

const batchArb = fc.array(
  fc.record({
    op: fc.constantFrom<BatchItem['op']>('identifiers', 'identifiers', 'patch', 'patch', 'create', 'read'),
    profile: fc.constantFrom<0 | 1>(0, 1),
    flaw: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.constantFrom(...FLAWS) }),
  }),
  { minLength: 4, maxLength: 12 },
).map((items) =>
  // A read has no body: only its key and its address can be wrong.
  items.map((item) => (item.op === 'read' && item.flaw !== 'bad-auth' && item.flaw !== 'not-found' ? { ...item, flaw: null } : item)),
);

const CONCURRENT_CUIDS = ['cc-0', 'cc-1'] as const;

/** The request for one batch item; `token` is written by it and by nothing else. */
function batchRequest(item: BatchItem, index: number, token: string, keys: Keys): SentRequest {
  const cuid = item.flaw === 'not-found' && item.op !== 'create' ? 'cc-missing' : CONCURRENT_CUIDS[item.profile];
  const headers: Record<string, string> = {
    authorization: item.flaw === 'bad-auth' ? 'Api-Key secret_live_ZZZZZZZZ.ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ' : keys.a.auth.authorization,
    'adapty-customer-user-id': cuid,
    'content-type': item.flaw === 'wrong-type' ? 'text/plain' : 'application/json',
  };
  if (item.op === 'create' && item.flaw === 'not-found') {
    // Both headers, a new profile id and a customer user id another profile holds: refused.
    headers['adapty-profile-id'] = `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
  }
  let body: Record<string, unknown>;
  if (item.op === 'identifiers') {
    body = { [IDENTIFIER_KEYS[index]!]: token };
    if (item.flaw === 'bad-value' || item.flaw === 'bad-email' || item.flaw === 'too-many') body[IDENTIFIER_KEYS[(index + 12) % 16]!] = ['not', 'a', 'string'];
  } else {
    body = { custom_attributes: [{ key: `c${index}`, value: token }] };
    body[item.op === 'create' ? 'last_name' : 'first_name'] = token;
    if (item.flaw === 'bad-value') body.att_status = 9;
    if (item.flaw === 'bad-email') body.email = `${token} is not an address`;
    if (item.flaw === 'too-many') {
      body.custom_attributes = Array.from({ length: 31 }, (_, j) => ({ key: `m${index}x${j}`, value: token }));
    }
  }
  const path = item.op === 'identifiers' ? IDENTIFIERS_PATH : PROFILE_PATH;
  if (item.op === 'read') return { method: 'GET', url: index % 2 ? PROFILE_PATH : IDENTIFIERS_PATH, headers };
  const method = item.op === 'patch' ? 'PATCH' : 'POST';
  const payload = item.flaw === 'bad-json' ? JSON.stringify(body).slice(0, -1) : JSON.stringify(body);
  return { method, url: path, headers, payload };
}

// ---------------------------------------------------------------------------------------------

const PROFILE_KEYS = [
  'access_levels', 'app_id', 'custom_attributes', 'customer_user_id', 'non_subscriptions', 'profile_id', 'segment_hash',
  'subscriptions', 'timestamp', 'total_revenue_usd',
];
const STORE_KEYS = ['store', 'store_base_plan_id', 'store_original_transaction_id', 'store_product_id', 'store_transaction_id'];
const RENEWAL_KEYS = ['billing_issue_detected_at', 'cancellation_reason', 'expires_at', 'is_in_grace_period', 'renewal_cancelled_at'];
/** The keys of the profile's purchase objects, sorted. */
const PURCHASE_OBJECT_KEYS = {
  access_levels: [...STORE_KEYS, ...RENEWAL_KEYS, 'access_level_id', 'is_active', 'is_lifetime', 'offer', 'originally_purchased_at', 'purchased_at', 'starts_at'].sort(),
  subscriptions: [...STORE_KEYS, ...RENEWAL_KEYS, 'environment', 'is_active', 'offer', 'originally_purchased_at', 'purchased_at'].sort(),
  non_subscriptions: [...STORE_KEYS, 'environment', 'is_consumable', 'is_refund', 'purchase_id', 'purchased_at'].sort(),
} as const;
/** How every date-time is answered. */
const ANSWERED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TIME_KEYS = new Set(['starts_at', 'purchased_at', 'originally_purchased_at', 'expires_at', 'renewal_cancelled_at', 'billing_issue_detected_at']);

/** The `data` of a profile answer: its exact keys, and purchase objects of their exact shapes. */
function assertProfileData(body: unknown, label: string): void {
  assert.deepEqual(Object.keys(body as object), ['data'], label);
  const data = (body as { data: Record<string, unknown> }).data;
  assert.deepEqual(Object.keys(data).sort(), PROFILE_KEYS, label);
  assert.match(String(data.segment_hash), /^[0-9a-f]{16}$/, label);
  const total = data.total_revenue_usd;
  assert.ok(typeof total === 'number' && Number.isFinite(total) && total >= 0, `total_revenue_usd is ${total}${label}`);
  assert.equal(Math.round(total * 100) / 100, total, `total_revenue_usd is not in cents${label}`);
  for (const list of ['access_levels', 'subscriptions', 'non_subscriptions'] as const) {
    for (const item of data[list] as Record<string, unknown>[]) {
      assert.deepEqual(Object.keys(item).sort(), PURCHASE_OBJECT_KEYS[list], `${list} item keys${label}`);
      for (const [key, value] of Object.entries(item)) {
        if (TIME_KEYS.has(key) && value !== null) assert.match(String(value), ANSWERED_TIME, `${list}.${key} is ${JSON.stringify(value)}${label}`);
      }
    }
  }
  const custom = data.custom_attributes as { key: string; value: unknown }[];
  assert.ok(custom.length <= 30, `more than 30 custom attributes${label}`);
  const keys = custom.map((c) => c.key);
  assert.deepEqual(keys, [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)), `custom attributes not sorted by key${label}`);
}

/** A 2xx answer has the route's exact shape (for the routes whose path is plainly recognisable). */
function assertSuccessShape(request: SentRequest, res: LightMyRequestResponse, label: string): void {
  const path = request.url.split('?')[0]!.replace(/\/+$/, '');
  let body: unknown;
  if (res.body !== '') {
    try {
      body = JSON.parse(res.body);
    } catch {
      assert.fail(`2xx answer is not JSON${label}`);
    }
  }
  if (path === PROFILE_PATH.slice(0, -1)) {
    if (request.method === 'DELETE') {
      assert.equal(res.statusCode, 204, label);
      assert.equal(res.body, '', label);
      return;
    }
    assert.equal(res.statusCode, 200, label);
    assertProfileData(body, label);
  } else if ([TRANSACTION_PATH, GRANT_PATH, REVOKE_PATH].some((purchase) => path === purchase.slice(0, -1))) {
    assert.equal(res.statusCode, 200, label);
    assertProfileData(body, label);
  } else if (path === REFUND_SAVER_PATH.slice(0, -1)) {
    assert.equal(res.statusCode, 200, label);
    const { profile_id, settings } = body as { profile_id: string; settings: Record<string, unknown> };
    assert.deepEqual(Object.keys(body as object), ['profile_id', 'settings'], label);
    assert.match(profile_id, /^[0-9a-f-]{36}$/, label);
    assert.deepEqual(Object.keys(settings), ['consent', 'custom_preference'], label);
    assert.equal(typeof settings.consent, 'boolean', label);
    assert.ok(['grant', 'no_preference', 'decline'].includes(String(settings.custom_preference)), label);
  } else if (path === IDENTIFIERS_PATH.slice(0, -1)) {
    assert.equal(res.statusCode, 200, label);
    if (request.method === 'POST') assert.equal(res.body, '', label);
    else assert.deepEqual(Object.keys(body as object), [...IDENTIFIER_KEYS], label);
  } else if (path.startsWith(`${CROSSWALK}/`)) {
    assert.equal(res.statusCode, 200, label);
    const keys = Object.keys(body as object);
    if (path.endsWith('/lookup')) assert.deepEqual(keys, ['data'], label);
    else if (path.endsWith('/history')) assert.deepEqual(keys, ['data', 'next_cursor'], label);
    else {
      assert.deepEqual(keys, ['data', 'succeeded', 'failed'], label);
      const { data, succeeded, failed } = body as { data: { index: number; status: number }[]; succeeded: number; failed: number };
      assert.deepEqual(data.map((r) => r.index), data.map((_, i) => i), label);
      assert.equal(succeeded + failed, data.length, label);
      assert.ok(data.every((r) => r.status === 200 || (r.status >= 400 && r.status < 500)), `a batch item got a 5xx${label}`);
    }
  } else if (path === '/healthz') {
    assert.deepEqual(body, { status: 'ok' }, label);
  } else if (path === '/readyz') {
    assert.deepEqual(body, { status: 'ready' }, label);
  }
}

function describeRequest(request: SentRequest): string {
  const payload = request.payload === undefined ? undefined : Buffer.isBuffer(request.payload) ? `<${request.payload.length} bytes: ${request.payload.toString('hex').slice(0, 200)}>` : request.payload.length > 400 ? `${request.payload.slice(0, 200)}…<${request.payload.length} chars>` : request.payload;
  const cut = (x: string) => (x.length > 120 ? `${x.slice(0, 60)}…<${x.length} chars>` : x);
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(cut) : cut(v as string)]));
  return JSON.stringify({ method: request.method, url: request.url, headers, payload });
}

for (const kind of DATABASES) {
  describe(`fuzz: every route, generated requests (${kind}, seed ${SEED})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let keys: Keys;
    let baseline: string;
    let reader: SnapshotReader;
    let requests = 0;
    let failedProperties = 0;
    /** Answers seen by the current property, by status and error code, to show what the run reached. */
    let outcomes = new Map<string, number>();
    const prototypeBefore = prototypeKeys();

    async function seed() {
      const a = keys.a.auth;
      const b = keys.b.auth;
      const make = async (auth: Record<string, string>, headers: Record<string, string>, body: unknown) => {
        const res = await send(ctx.app, 'POST', PROFILE_PATH, { ...auth, ...headers }, body);
        assert.equal(res.statusCode, 200, res.body);
        const set = await send(ctx.app, 'POST', IDENTIFIERS_PATH, { ...auth, ...headers }, { appsflyer_id: 'seed-af', branch_id: 'seed-branch' });
        assert.equal(set.statusCode, 200, set.body);
      };
      const body = {
        first_name: 'Seed',
        custom_attributes: [{ key: 'tier', value: 'gold' }, { key: 'level', value: 7 }],
        installation_meta: { device_id: '11111111-2222-4333-8444-555555555555', os: 'iOS 17' },
      };
      await make(a, { 'adapty-profile-id': PID.a1, 'adapty-customer-user-id': 'fz-a' }, body);
      await make(a, { 'adapty-profile-id': PID.a2, 'adapty-customer-user-id': 'fz-b' }, body);
      await make(a, { 'adapty-profile-id': PID.a3 }, body);
      await make(b, { 'adapty-profile-id': PID.b1, 'adapty-customer-user-id': 'fz-b' }, body);
      // Something to revoke, to send again and to take from another profile: a grant and a transaction.
      const grant = await send(ctx.app, 'POST', GRANT_PATH, { ...a, 'adapty-profile-id': PID.a1 }, { access_level_id: 'gold', expires_at: '2099-01-01T00:00:00Z' });
      assert.equal(grant.statusCode, 200, grant.body);
      const transaction = await send(ctx.app, 'POST', TRANSACTION_PATH, { ...a, 'adapty-profile-id': PID.a2 }, subscriptionBody('tx-1'));
      assert.equal(transaction.statusCode, 200, transaction.body);
    }

    before(async () => {
      // Webhook URLs with a host name are accepted unresolved, without asking real DNS; loopback
      // ones are refused by the network policy.
      const resolveHost = async (host: string) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      };
      ctx = await createTestContext(kind, {}, { resolveHost });
      const a = await ctx.newTenant();
      const b = await ctx.newTenant();
      const c = await ctx.newTenant();
      for (const key of await ctx.store.listApiKeys(c.appId)) await ctx.store.revokeApiKey(key.id);
      keys = { a, b, revoked: c.key };
      await seed();
      reader = await SnapshotReader.open(ctx.database);
      baseline = snapshotText(await reader.take());
      // The reader agrees with queryRows, which the other suites use.
      assert.equal(snapshotText(await snapshot(ctx.database)), baseline);
    });
    after(async () => {
      await reader?.close();
      await ctx.close();
    });

    /** Sends one generated request and checks every rule; keeps the table baseline up to date. */
    async function exchange(request: SentRequest): Promise<void> {
      let res: LightMyRequestResponse;
      try {
        res = await ctx.app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers, ...(request.payload === undefined ? {} : { payload: request.payload }) });
      } catch (error) {
        assert.fail(`inject threw ${(error as Error).message} for ${describeRequest(request)}`);
      }
      requests++;
      let outcome = String(res.statusCode);
      if (res.statusCode >= 400 && request.method !== 'HEAD') {
        try {
          outcome += ` ${(JSON.parse(res.body) as { error_code?: string }).error_code}`;
        } catch {
          outcome += ' (not JSON)';
        }
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      const label = `\n  request: ${describeRequest(request)}\n  answer: ${res.statusCode} ${res.body.slice(0, 300)}`;
      // The snapshot is taken (and the baseline moved on) before any check can throw, so that a
      // failure does not leave the next request compared with a stale baseline while shrinking.
      const previous = baseline;
      const now = snapshotText(await reader.take());
      baseline = now;
      assert.ok(res.statusCode < 500, `5xx answer${label}`);
      if (request.method !== 'HEAD' && res.statusCode >= 400) {
        assertEnvelope(res, label, request.url);
        assertNoInternals(res, request);
      }
      if (request.method !== 'HEAD' && res.statusCode < 300) assertSuccessShape(request, res, label);
      const readOnly = request.method === 'GET' || request.method === 'HEAD' || res.statusCode >= 400;
      if (readOnly && now !== previous) {
        assert.deepEqual(JSON.parse(now), JSON.parse(previous), `a ${res.statusCode} answer changed the database${label}`);
      }
      assertPrototypeClean(prototypeBefore);
    }

    const all = shapes();
    (Object.keys(RUNS) as (keyof typeof RUNS)[]).forEach((name, index) => {
      test(`${name}: ${RUNS[name]} generated requests (seed ${SEED + index})`, async (t) => {
        t.diagnostic(`CROSSWALK_FUZZ_SEED=${SEED} (this property: seed ${SEED + index}, ${RUNS[name]} runs)`);
        outcomes = new Map();
        baseline = snapshotText(await reader.take());
        t.after(() => {
          const seen = [...outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`);
          t.diagnostic(`answers: ${seen.join(', ')}`);
        });
        try {
          await fc.assert(
            fc.asyncProperty(shapesArb(keys, all[name]), async (request) => {
              await exchange(request);
            }),
            { seed: SEED + index, numRuns: RUNS[name] },
          );
        } catch (error) {
          failedProperties++;
          throw error;
        }
      });
    });

    test(`concurrent: ${CONCURRENT_BATCHES} batches of 4-12 requests in flight together (seed ${SEED + 100})`, async (t) => {
      t.diagnostic(`CROSSWALK_FUZZ_SEED=${SEED} (this property: seed ${SEED + 100})`);
      for (const cuid of CONCURRENT_CUIDS) {
        const res = await send(ctx.app, 'POST', PROFILE_PATH, { ...keys.a.auth, 'adapty-customer-user-id': cuid }, {});
        assert.equal(res.statusCode, 200, res.body);
      }
      let batchNo = 0;
      try {
        await fc.assert(
          fc.asyncProperty(batchArb, async (batch) => {
            const n = ++batchNo;
            const tokens = batch.map((_, i) => `T${n}.${i}.T`);
            const sent = batch.map((item, i) => batchRequest(item, i, tokens[i]!, keys));
            const answers = await Promise.all(sent.map((request) => ctx.app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers, ...(request.payload === undefined ? {} : { payload: request.payload }) })));
            requests += answers.length;
            const rows = await reader.take();
            const stored = JSON.stringify(rows);
            batch.forEach((item, i) => {
              const res = answers[i]!;
              const label = `\n  batch: ${JSON.stringify(batch)}\n  request ${i}: ${describeRequest(sent[i]!)}\n  answer: ${res.statusCode} ${res.body.slice(0, 300)}`;
              assert.ok(res.statusCode < 500, `5xx answer${label}`);
              if (res.statusCode >= 400) {
                assertEnvelope(res, label);
                assertNoInternals(res, sent[i]);
              }
              if (item.flaw !== null) {
                assert.ok(res.statusCode >= 400, `a flawed request (${item.flaw}) was accepted${label}`);
                assert.ok(!stored.includes(tokens[i]!), `a refused request left its token in the database${label}`);
                return;
              }
              assert.ok(res.statusCode < 300, `a valid request was refused${label}`);
              if (item.op === 'read') return;
              const profile = (rows.profiles as { app_id: string; id: string; customer_user_id: string | null }[]).find(
                (p) => p.app_id === keys.a.appId && p.customer_user_id === CONCURRENT_CUIDS[item.profile],
              );
              assert.ok(profile, `profile ${CONCURRENT_CUIDS[item.profile]} is gone${label}`);
              if (item.op === 'identifiers') {
                const row = (rows.integration_identifiers as { app_id: string; profile_id: string; key: string; value: string }[]).find(
                  (r) => r.app_id === keys.a.appId && r.profile_id === profile.id && r.key === IDENTIFIER_KEYS[i],
                );
                assert.equal(row?.value, tokens[i], `an acknowledged identifier write is missing${label}`);
              } else {
                const row = (rows.custom_attributes as { app_id: string; profile_id: string; key: string; value: string }[]).find(
                  (r) => r.app_id === keys.a.appId && r.profile_id === profile.id && r.key === `c${i}`,
                );
                assert.equal(row?.value, tokens[i], `an acknowledged attribute write is missing${label}`);
              }
            });
            assertPrototypeClean(prototypeBefore);
            // Start the next batch with no custom attributes, so the limit of 30 is not reached by accident.
            for (const cuid of CONCURRENT_CUIDS) {
              const res = await send(ctx.app, 'PATCH', PROFILE_PATH, { ...keys.a.auth, 'adapty-customer-user-id': cuid }, { custom_attributes: null });
              assert.equal(res.statusCode, 200, res.body);
            }
            baseline = snapshotText(await reader.take());
          }),
          { seed: SEED + 100, numRuns: CONCURRENT_BATCHES },
        );
      } catch (error) {
        failedProperties++;
        throw error;
      }
    });

    test(`at least ${MIN_REQUESTS} requests were sent and Object.prototype is untouched`, (t) => {
      t.diagnostic(`${requests} requests sent on ${kind}`);
      if (failedProperties > 0) {
        t.skip(`${failedProperties} properties stopped at a counterexample; the count is not meaningful`);
        return;
      }
      assert.ok(requests >= MIN_REQUESTS, `only ${requests} requests were sent`);
      assertPrototypeClean(prototypeBefore);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  });
}
