import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  createTestContext,
  DATABASES,
  onDatabase,
  envelope,
  PROFILE_PATH,
  send,
  type Tenant,
  type TestContext,
} from '../helpers.js';

// Body validation of create and update: exact messages, all problems at once, nothing written.

const STRING = 'Must be a string or null.';
const COUNTRY = 'Must be a two-letter ISO 3166-1 alpha-2 country code.';
const DATE = 'Date has wrong format. Use YYYY-MM-DD.';
const UUID = 'Must be a valid UUID.';
const GENDER = 'Must be one of: f, m, o.';
const STORE = 'Must be one of: app_store, play_store, stripe, adapty, paddle.';
const PLATFORM = 'Must be one of: iOS, macOS, iPadOS, Android, visionOS, web.';
const ATT = 'Must be one of 0, 1, 2, 3 or null.';
const BOOLEAN = 'Must be a boolean or null.';
const EMAIL = 'Enter a valid email address.';
const IPV4 = 'Enter a valid IPv4 address.';
const KEY = 'Must be 1 to 30 characters: letters, digits, ".", "_" or "-".';
const VALUE = 'Must be a string, a number, or null (or "") to delete the attribute.';
const VALUE_LENGTH = 'Ensure this field has no more than 50 characters.';
const LIST = 'Must be a list of {"key", "value"} objects or null.';
const REQUIRED = 'This field is required.';
const NOT_OBJECT = envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object.']);

/** One bad field: the body, and the single error item it must produce. */
const CASES: [string, Record<string, unknown>, string, string][] = [
  ['gender not in f/m/o', { gender: 'x' }, 'gender', GENDER],
  ['gender in upper case', { gender: 'M' }, 'gender', GENDER],
  ['email without a domain', { email: 'not-an-email' }, 'email', EMAIL],
  ['email with a space', { email: 'a b@example.com' }, 'email', EMAIL],
  ['birthday with slashes', { birthday: '1990/01/01' }, 'birthday', DATE],
  ['birthday in day-month-year order', { birthday: '01-02-1990' }, 'birthday', DATE],
  ['birthday that is not a real date', { birthday: '2023-02-30' }, 'birthday', DATE],
  ['birthday with month 13', { birthday: '2023-13-01' }, 'birthday', DATE],
  ['ip_country not an assigned code', { ip_country: 'ZZ' }, 'ip_country', COUNTRY],
  ['ip_country of digits', { ip_country: '12' }, 'ip_country', COUNTRY],
  ['store_country not an assigned code', { store_country: 'XX' }, 'store_country', COUNTRY],
  ['ip_v4_address out of range', { ip_v4_address: '256.1.1.1' }, 'ip_v4_address', IPV4],
  ['store not in the enum', { store: 'google_play' }, 'store', STORE],
  ['store_account_token not a UUID', { store_account_token: 'not-a-uuid' }, 'store_account_token', UUID],
  ['att_status 4', { att_status: 4 }, 'att_status', ATT],
  ['att_status as the string "3"', { att_status: '3' }, 'att_status', ATT],
  ['att_status a fraction', { att_status: 1.5 }, 'att_status', ATT],
  ['analytics_disabled "yes"', { analytics_disabled: 'yes' }, 'analytics_disabled', BOOLEAN],
  ['analytics_disabled 1', { analytics_disabled: 1 }, 'analytics_disabled', BOOLEAN],
  ['first_name a number', { first_name: 42 }, 'first_name', STRING],
  ['last_name an object', { last_name: { a: 1 } }, 'last_name', STRING],
  ['first_name over 256 characters', { first_name: 'x'.repeat(257) }, 'first_name', 'Ensure this field has no more than 256 characters.'],
  ['custom_attributes a string', { custom_attributes: 'a=1' }, 'custom_attributes', LIST],
  ['custom_attributes an object', { custom_attributes: { key: 'a', value: 1 } }, 'custom_attributes', LIST],
  ['custom attribute not an object', { custom_attributes: ['a'] }, 'custom_attributes.0', 'Must be an object with "key" and "value".'],
  ['custom attribute key with bad characters', { custom_attributes: [{ key: 'bad key!', value: 'v' }] }, 'custom_attributes.0.key', KEY],
  ['custom attribute key of 31 characters', { custom_attributes: [{ key: 'k'.repeat(31), value: 'v' }] }, 'custom_attributes.0.key', KEY],
  ['custom attribute key empty', { custom_attributes: [{ key: '', value: 'v' }] }, 'custom_attributes.0.key', KEY],
  ['custom attribute key missing', { custom_attributes: [{ value: 'v' }] }, 'custom_attributes.0.key', KEY],
  [
    'custom attribute value over 50 characters',
    { custom_attributes: [{ key: 'ok', value: 'fine' }, { key: 'long', value: 'x'.repeat(51) }] },
    'custom_attributes.1.value',
    VALUE_LENGTH,
  ],
  ['custom attribute value a boolean', { custom_attributes: [{ key: 'flag', value: true }] }, 'custom_attributes.0.value', VALUE],
  ['custom attribute value an object', { custom_attributes: [{ key: 'obj', value: { a: 1 } }] }, 'custom_attributes.0.value', VALUE],
  ['custom attribute value an array', { custom_attributes: [{ key: 'arr', value: [1] }] }, 'custom_attributes.0.value', VALUE],
  ['custom attribute value missing', { custom_attributes: [{ key: 'novalue' }] }, 'custom_attributes.0.value', REQUIRED],
  ['installation_meta not an object', { installation_meta: 'device' }, 'installation_meta', 'Must be an object.'],
  ['installation_meta without device_id', { installation_meta: { platform: 'iOS' } }, 'installation_meta.device_id', REQUIRED],
  ['installation_meta with a null device_id', { installation_meta: { device_id: null } }, 'installation_meta.device_id', REQUIRED],
  ['installation_meta.device_id not a UUID', { installation_meta: { device_id: 'device-1' } }, 'installation_meta.device_id', UUID],
  [
    'installation_meta.platform not in the enum',
    { installation_meta: { device_id: randomUUID(), platform: 'Windows' } },
    'installation_meta.platform',
    PLATFORM,
  ],
  [
    'installation_meta.os over 512 characters',
    { installation_meta: { device_id: randomUUID(), os: 'o'.repeat(513) } },
    'installation_meta.os',
    'Ensure this field has no more than 512 characters.',
  ],
  [
    'installation_meta.locale a number',
    { installation_meta: { device_id: randomUUID(), locale: 7 } },
    'installation_meta.locale',
    STRING,
  ],
];

for (const kind of DATABASES) {
  describe(`profile validation (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let seeded: string;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
      seeded = 'validation-seed';
      const res = await send(ctx.app, 'POST', PROFILE_PATH, byUser(seeded), {
        first_name: 'Seed',
        gender: 'm',
        birthday: '2000-01-01',
        ip_country: 'DE',
        store: 'app_store',
        att_status: 2,
        analytics_disabled: false,
        custom_attributes: [
          { key: 'level', value: 7 },
          { key: 'tier', value: 'gold' },
        ],
      });
      assert.equal(res.statusCode, 200, res.body);
    });
    after(() => ctx.close());

    function byUser(customerUserId: string) {
      return { ...tenant.auth, 'adapty-customer-user-id': customerUserId };
    }
    const find = (customerUserId: string) => ctx.store.findProfile(tenant.appId, { customerUserId });

    let counter = 0;
    for (const [name, body, source, message] of CASES) {
      test(`${name}: 400 on ${source}, nothing written by PATCH or create`, async () => {
        const expected = envelope(400, 'validation_error', [source, message]);
        const before = await find(seeded);
        const patched = await send(ctx.app, 'PATCH', PROFILE_PATH, byUser(seeded), body);
        assert.equal(patched.statusCode, 400, patched.body);
        assert.deepEqual(patched.json(), expected);
        assert.deepEqual(await find(seeded), before);

        const fresh = `validation-new-${++counter}`;
        const created = await send(ctx.app, 'POST', PROFILE_PATH, byUser(fresh), body);
        assert.equal(created.statusCode, 400, created.body);
        assert.deepEqual(created.json(), expected);
        assert.equal(await find(fresh), null);

        const onExisting = await send(ctx.app, 'POST', PROFILE_PATH, byUser(seeded), body);
        assert.equal(onExisting.statusCode, 400, onExisting.body);
        assert.deepEqual(onExisting.json(), expected);
        assert.deepEqual(await find(seeded), before);
      });
    }

    test('a valid field next to an invalid one is not written either', async () => {
      const before = await find(seeded);
      const res = await send(ctx.app, 'PATCH', PROFILE_PATH, byUser(seeded), {
        first_name: 'Changed',
        custom_attributes: [
          { key: 'tier', value: 'platinum' },
          { key: 'bad key', value: 'x' },
        ],
      });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), envelope(400, 'validation_error', ['custom_attributes.1.key', KEY]));
      assert.deepEqual(await find(seeded), before);
    });

    test('all bad fields are reported together, one item per source, in the validator order', async () => {
      const before = await find(seeded);
      // Keys deliberately in reverse order: the answer follows the validator (attributes, then
      // custom_attributes item by item, then installation_meta's fields), not the body.
      const body = {
        installation_meta: { device_id: 'nope', platform: 'Windows', os: 5 },
        custom_attributes: [
          { key: 'bad key', value: true },
          { key: 'ok', value: 'x'.repeat(51) },
        ],
        analytics_disabled: 'yes',
        att_status: '3',
        store_account_token: 'nope',
        store: 'google',
        store_country: 'XX',
        ip_v4_address: '1.2.3',
        ip_country: 'ZZ',
        birthday: '2023-02-30',
        phone_number: 5,
        email: 'bad',
        gender: 'x',
        last_name: false,
        first_name: 42,
      };
      const expected = envelope(
        400,
        'validation_error',
        ['first_name', STRING],
        ['last_name', STRING],
        ['gender', GENDER],
        ['email', EMAIL],
        ['phone_number', STRING],
        ['birthday', DATE],
        ['ip_country', COUNTRY],
        ['ip_v4_address', IPV4],
        ['store_country', COUNTRY],
        ['store', STORE],
        ['store_account_token', UUID],
        ['att_status', ATT],
        ['analytics_disabled', BOOLEAN],
        ['custom_attributes.0.key', KEY],
        ['custom_attributes.0.value', VALUE],
        ['custom_attributes.1.value', VALUE_LENGTH],
        ['installation_meta.device_id', UUID],
        ['installation_meta.os', STRING],
        ['installation_meta.platform', PLATFORM],
      );
      for (const method of ['PATCH', 'POST'] as const) {
        const res = await send(ctx.app, method, PROFILE_PATH, byUser(seeded), body);
        assert.equal(res.statusCode, 400, method);
        assert.deepEqual(res.json(), expected, method);
        assert.deepEqual(await find(seeded), before, method);
      }
    });

    test('a body that is JSON but not an object is a 400 non_field_errors', async () => {
      const before = await find(seeded);
      for (const raw of ['[1]', '[{"first_name":"x"}]', '"hello"', '42', 'true', 'null']) {
        for (const method of ['PATCH', 'POST'] as const) {
          const res = await send(ctx.app, method, PROFILE_PATH, byUser(seeded), raw);
          assert.equal(res.statusCode, 400, `${method} ${raw}`);
          assert.deepEqual(res.json(), NOT_OBJECT, `${method} ${raw}`);
        }
        const fresh = await send(ctx.app, 'POST', PROFILE_PATH, byUser('not-object-new'), raw);
        assert.equal(fresh.statusCode, 400, raw);
        assert.deepEqual(fresh.json(), NOT_OBJECT, raw);
      }
      assert.deepEqual(await find(seeded), before);
      assert.equal(await find('not-object-new'), null);
    });

    test('values at the limits are accepted', async () => {
      const res = await send(ctx.app, 'POST', PROFILE_PATH, byUser('limits'), {
        first_name: 'f'.repeat(256),
        last_name: 'ü'.repeat(256),
        birthday: '2024-02-29',
        custom_attributes: [
          { key: 'k'.repeat(30), value: 'v'.repeat(50) },
          { key: 'A-z_0.9', value: 'ü'.repeat(50) },
        ],
        installation_meta: { device_id: randomUUID(), os: 'o'.repeat(512), platform: 'visionOS' },
      });
      assert.equal(res.statusCode, 200, res.body);
      const stored = await find('limits');
      assert.equal(stored?.attributes.first_name, 'f'.repeat(256));
      assert.equal(stored?.attributes.last_name, 'ü'.repeat(256));
      assert.equal(stored?.attributes.birthday, '2024-02-29');
      assert.equal(stored?.customAttributes.length, 2);
    });

    test('country codes are case-insensitive and stored upper-case; enums and UUIDs accepted', async () => {
      const token = randomUUID().toUpperCase();
      const res = await send(ctx.app, 'POST', PROFILE_PATH, byUser('normalise'), {
        ip_country: 'fr',
        store_country: 'Us',
        store: 'stripe',
        gender: 'o',
        store_account_token: token,
        att_status: 0,
        email: 'someone@mail.example.co.uk',
        installation_meta: { device_id: randomUUID().toUpperCase(), platform: 'Android' },
      });
      assert.equal(res.statusCode, 200, res.body);
      const stored = await find('normalise');
      assert.equal(stored?.attributes.ip_country, 'FR');
      assert.equal(stored?.attributes.store_country, 'US');
      assert.equal(stored?.attributes.store, 'stripe');
      assert.equal(stored?.attributes.gender, 'o');
      assert.equal(stored?.attributes.store_account_token?.toLowerCase(), token.toLowerCase());
      assert.equal(stored?.attributes.att_status, 0);
    });

    test('null is accepted for every attribute, custom_attributes and installation_meta', async () => {
      const res = await send(ctx.app, 'POST', PROFILE_PATH, byUser('all-null'), {
        first_name: null,
        last_name: null,
        gender: null,
        email: null,
        phone_number: null,
        birthday: null,
        ip_country: null,
        ip_v4_address: null,
        store_country: null,
        store: null,
        store_account_token: null,
        att_status: null,
        analytics_disabled: null,
        custom_attributes: null,
        installation_meta: null,
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().data.custom_attributes, []);
    });
  });
}
