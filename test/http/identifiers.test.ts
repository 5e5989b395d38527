import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { IDENTIFIER_KEYS } from '../../src/domain/identifiers.js';
import {
  createTestContext,
  DATABASES,
  onDatabase,
  envelope,
  queryRows,
  IDENTIFIERS_PATH,
  PROFILE_PATH,
  send,
  type Tenant,
  type TestContext,
} from '../helpers.js';

/** The vendor schema's 16 keys, written out independently of the product's own list. */
const VENDOR_KEYS = [
  'adjust_device_id',
  'airbridge_device_id',
  'amplitude_device_id',
  'amplitude_user_id',
  'appmetrica_device_id',
  'appmetrica_profile_id',
  'appsflyer_id',
  'branch_id',
  'facebook_anonymous_id',
  'firebase_app_instance_id',
  'mixpanel_user_id',
  'one_signal_player_id',
  'one_signal_subscription_id',
  'posthog_distinct_user_id',
  'pushwoosh_hwid',
  'tenjin_analytics_installation_id',
];

const ALL_NULL = Object.fromEntries(VENDOR_KEYS.map((key) => [key, null]));

const NONE_GIVEN = envelope(400, 'validation_error', [
  'non_field_errors',
  'At least one integration identifier must be provided.',
]);
const NOT_OBJECT = envelope(400, 'validation_error', [
  'non_field_errors',
  'Expected a JSON object of integration identifiers.',
]);
const NOT_FOUND = envelope(404, 'profile_not_found', [null, 'Profile not found']);
const BLANK = 'This field may not be blank; use null to clear it.';
const TOO_LONG = 'Ensure this field has no more than 512 characters.';
const WRONG_TYPE = 'Must be a string, a number or null.';
const INEXACT = 'This number cannot be stored exactly; send it as a string.';

for (const kind of DATABASES) {
  describe(`integration identifiers (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let counter = 0;

    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    /** A fresh profile of `owner`, addressed by its customer user id; returns both ids and the headers. */
    async function newProfile(owner: Tenant = tenant) {
      const customerUserId = `ident-${kind}-${++counter}-${randomUUID().slice(0, 8)}`;
      const headers = { ...owner.auth, 'adapty-customer-user-id': customerUserId };
      const res = await send(ctx.app, 'POST', PROFILE_PATH, headers, {});
      assert.equal(res.statusCode, 200, res.payload);
      const profileId: string = res.json().data.profile_id;
      return { customerUserId, profileId, headers };
    }

    const setIds = (headers: Record<string, string>, body: unknown) =>
      send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, body);

    async function getIds(headers: Record<string, string>) {
      const res = await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers);
      assert.equal(res.statusCode, 200, res.payload);
      return res.json() as Record<string, string | null>;
    }

    /** The expected GET answer: all 16 keys null except the given ones. */
    const expected = (values: Record<string, string | null>) => ({ ...ALL_NULL, ...values });

    async function assertSet(headers: Record<string, string>, body: unknown) {
      const res = await setIds(headers, body);
      assert.equal(res.statusCode, 200, res.payload);
      assert.equal(res.payload, '');
    }

    describe('reading', () => {
      test('a fresh profile has all 16 keys in vendor schema order, all null, with no data wrapper', async () => {
        const { headers } = await newProfile();
        const res = await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers);
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        const body = res.json();
        assert.deepEqual(Object.keys(body), [...IDENTIFIER_KEYS]);
        assert.deepEqual(Object.keys(body), VENDOR_KEYS);
        assert.equal(Object.keys(body).length, 16);
        assert.equal('data' in body, false);
        for (const key of VENDOR_KEYS) assert.equal(body[key], null, key);
        assert.deepEqual(body, ALL_NULL);
      });

      test('the product key list is exactly the vendor list', () => {
        assert.deepEqual([...IDENTIFIER_KEYS], VENDOR_KEYS);
      });

      test('a profile with some keys set still answers all 16 keys in schema order', async () => {
        const { headers } = await newProfile();
        // Written in reverse order; the answer must still follow the schema order.
        await assertSet(headers, { tenjin_analytics_installation_id: 't', branch_id: 'b', adjust_device_id: 'a' });
        const body = await getIds(headers);
        assert.deepEqual(Object.keys(body), VENDOR_KEYS);
        assert.deepEqual(body, expected({ adjust_device_id: 'a', branch_id: 'b', tenjin_analytics_installation_id: 't' }));
      });
    });

    describe('writing', () => {
      test('a successful POST is a 200 with an empty body, and GET shows the values', async () => {
        const { headers } = await newProfile();
        const res = await setIds(headers, { appsflyer_id: 'af-1', amplitude_user_id: 'amp-1' });
        assert.equal(res.statusCode, 200);
        assert.equal(res.payload, '');
        assert.deepEqual(await getIds(headers), expected({ appsflyer_id: 'af-1', amplitude_user_id: 'amp-1' }));
      });

      test('all 16 keys can be set in one request', async () => {
        const { headers } = await newProfile();
        const body = Object.fromEntries(VENDOR_KEYS.map((key, i) => [key, `value-${i}-${key}`]));
        await assertSet(headers, body);
        assert.deepEqual(await getIds(headers), body);
      });

      test('a second POST with other keys leaves the first keys untouched', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, { appsflyer_id: 'first', branch_id: 'first-branch' });
        await assertSet(headers, { mixpanel_user_id: 'second' });
        assert.deepEqual(
          await getIds(headers),
          expected({ appsflyer_id: 'first', branch_id: 'first-branch', mixpanel_user_id: 'second' }),
        );
        await assertSet(headers, { appsflyer_id: 'replaced' });
        assert.deepEqual(
          await getIds(headers),
          expected({ appsflyer_id: 'replaced', branch_id: 'first-branch', mixpanel_user_id: 'second' }),
        );
      });

      test('null clears a key and leaves the others', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, { appsflyer_id: 'a', branch_id: 'b', pushwoosh_hwid: 'p' });
        await assertSet(headers, { branch_id: null });
        assert.deepEqual(await getIds(headers), expected({ appsflyer_id: 'a', pushwoosh_hwid: 'p' }));
        // Clearing and setting in one request.
        await assertSet(headers, { appsflyer_id: null, one_signal_player_id: 'os' });
        assert.deepEqual(await getIds(headers), expected({ pushwoosh_hwid: 'p', one_signal_player_id: 'os' }));
      });

      test('null on a key that is not set is a 200 and changes nothing', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, { appsflyer_id: 'keep' });
        await assertSet(headers, { branch_id: null });
        assert.deepEqual(await getIds(headers), expected({ appsflyer_id: 'keep' }));
      });

      test('numbers are stored as their decimal strings', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, {
          adjust_device_id: 42,
          airbridge_device_id: 1.5,
          amplitude_device_id: -7,
          amplitude_user_id: 3,
          appmetrica_device_id: 9007199254740991,
          appmetrica_profile_id: 0.25,
        });
        assert.deepEqual(
          await getIds(headers),
          expected({
            adjust_device_id: '42',
            airbridge_device_id: '1.5',
            amplitude_device_id: '-7',
            amplitude_user_id: '3',
            appmetrica_device_id: '9007199254740991',
            appmetrica_profile_id: '0.25',
          }),
        );
      });

      test('strings are trimmed', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, { appsflyer_id: '  abc  ', branch_id: '\t\n x y \r\n', mixpanel_user_id: 'inner  spaces' });
        assert.deepEqual(
          await getIds(headers),
          expected({ appsflyer_id: 'abc', branch_id: 'x y', mixpanel_user_id: 'inner  spaces' }),
        );
      });

      test('unicode is preserved exactly', async () => {
        const { headers } = await newProfile();
        const values = {
          appsflyer_id: 'Ünïcødé-日本語-🎉-Ω',
          branch_id: 'e\u0301 combining',
          posthog_distinct_user_id: '👩‍👩‍👧‍👦',
        };
        await assertSet(headers, values);
        assert.deepEqual(await getIds(headers), expected(values));
      });

      test('exactly 512 characters are accepted; 513 are rejected', async () => {
        const { headers } = await newProfile();
        const max = 'a'.repeat(512);
        await assertSet(headers, { firebase_app_instance_id: max });
        assert.equal((await getIds(headers)).firebase_app_instance_id, max);

        const over = await setIds(headers, { firebase_app_instance_id: 'b'.repeat(513) });
        assert.equal(over.statusCode, 400);
        assert.deepEqual(over.json(), envelope(400, 'validation_error', ['firebase_app_instance_id', TOO_LONG]));
        assert.equal((await getIds(headers)).firebase_app_instance_id, max);
      });

      test('length is counted in characters, not UTF-16 units or bytes', async () => {
        const { headers } = await newProfile();
        const emoji = '😀'.repeat(512);
        await assertSet(headers, { branch_id: emoji });
        assert.equal((await getIds(headers)).branch_id, emoji);
        const accented = 'é'.repeat(512); // 1024 bytes in UTF-8
        await assertSet(headers, { appsflyer_id: accented });
        assert.equal((await getIds(headers)).appsflyer_id, accented);

        const over = await setIds(headers, { branch_id: '😀'.repeat(513) });
        assert.equal(over.statusCode, 400);
        assert.deepEqual(over.json(), envelope(400, 'validation_error', ['branch_id', TOO_LONG]));
      });

      test('setting a key to the value it already has is a 200 and changes nothing', async () => {
        const { headers, profileId } = await newProfile();
        await assertSet(headers, { appsflyer_id: 'same', branch_id: 'b1' });
        const stamps = async () =>
          Object.fromEntries(
            (
              await queryRows(
                ctx.database,
                `select key, value, updated_at from integration_identifiers where app_id = '${tenant.appId}' and profile_id = '${profileId}'`,
              )
            ).map((row) => [row.key as string, { value: row.value, updated_at: Number(row.updated_at) }]),
          );
        const before = await stamps();
        const getBefore = await getIds(headers);
        await sleep(15);
        await assertSet(headers, { appsflyer_id: 'same' });
        await assertSet(headers, { appsflyer_id: '  same  ' }); // trims to the same value
        await assertSet(headers, { appsflyer_id: 'same', branch_id: 'b2' });
        const afterwards = await stamps();
        assert.deepEqual(await getIds(headers), { ...getBefore, branch_id: 'b2' });
        assert.deepEqual(afterwards.appsflyer_id, before.appsflyer_id, 'an unchanged value is not rewritten');
        assert.equal(afterwards.branch_id?.value, 'b2');
        assert.ok(afterwards.branch_id!.updated_at > before.branch_id!.updated_at, 'a changed value is rewritten');
      });

      test('unknown keys are ignored next to a known key', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, { appsflyer_id: 'known', not_a_key: 'x', custom_attributes: [1], BRANCH_ID: 'upper' });
        const body = await getIds(headers);
        assert.deepEqual(body, expected({ appsflyer_id: 'known' }));
        assert.equal('not_a_key' in body, false);
      });

      test('unknown keys with invalid values are not validated', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, { appsflyer_id: 'ok', unknown_key: true, other: '   ', big: 'x'.repeat(600) });
        assert.deepEqual(await getIds(headers), expected({ appsflyer_id: 'ok' }));
      });

      test('a body with only null values is a valid write', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, { appsflyer_id: 'gone', branch_id: 'stays' });
        await assertSet(headers, { appsflyer_id: null });
        assert.deepEqual(await getIds(headers), expected({ branch_id: 'stays' }));
      });
    });

    describe('rejections', () => {
      test('a blank string is a 400 naming the key', async () => {
        const { headers } = await newProfile();
        for (const blank of ['   ', '', '\t\n ']) {
          const res = await setIds(headers, { branch_id: blank });
          assert.equal(res.statusCode, 400, JSON.stringify(blank));
          assert.deepEqual(res.json(), envelope(400, 'validation_error', ['branch_id', BLANK]));
        }
      });

      test('over 512 characters is a 400 naming the key', async () => {
        const { headers } = await newProfile();
        const res = await setIds(headers, { one_signal_subscription_id: 'z'.repeat(1000) });
        assert.equal(res.statusCode, 400);
        assert.deepEqual(res.json(), envelope(400, 'validation_error', ['one_signal_subscription_id', TOO_LONG]));
      });

      test('booleans, arrays and objects are a 400', async () => {
        const { headers } = await newProfile();
        for (const value of [true, false, [], ['a'], {}, { value: 'a' }]) {
          const res = await setIds(headers, { appsflyer_id: value });
          assert.equal(res.statusCode, 400, JSON.stringify(value));
          assert.deepEqual(res.json(), envelope(400, 'validation_error', ['appsflyer_id', WRONG_TYPE]));
        }
        assert.deepEqual(await getIds(headers), ALL_NULL);
      });

      test('numbers that cannot be stored exactly are a 400', async () => {
        const { headers } = await newProfile();
        for (const raw of ['12345678901234567890', '1e-7', '9007199254740993']) {
          const res = await setIds(headers, `{"mixpanel_user_id": ${raw}}`);
          assert.equal(res.statusCode, 400, raw);
          assert.deepEqual(res.json(), envelope(400, 'validation_error', ['mixpanel_user_id', INEXACT]), raw);
        }
        assert.deepEqual(await getIds(headers), ALL_NULL);
      });

      test('several bad keys are all reported, one item per source, in schema order', async () => {
        const { headers } = await newProfile();
        const res = await setIds(
          headers,
          '{"tenjin_analytics_installation_id": true, "unknown": false, "branch_id": "   ", ' +
            `"appsflyer_id": 1e-7, "adjust_device_id": "${'x'.repeat(513)}", "mixpanel_user_id": {"a": 1}, ` +
            '"amplitude_user_id": 12345678901234567890, "pushwoosh_hwid": "fine"}',
        );
        assert.equal(res.statusCode, 400);
        assert.deepEqual(
          res.json(),
          envelope(
            400,
            'validation_error',
            ['adjust_device_id', TOO_LONG],
            ['amplitude_user_id', INEXACT],
            ['appsflyer_id', INEXACT],
            ['branch_id', BLANK],
            ['mixpanel_user_id', WRONG_TYPE],
            ['tenjin_analytics_installation_id', WRONG_TYPE],
          ),
        );
        assert.deepEqual(await getIds(headers), ALL_NULL, 'the valid key was not written either');
      });

      test('a body mixing good and bad keys writes nothing', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, { appsflyer_id: 'orig-af', branch_id: 'orig-branch', pushwoosh_hwid: 'orig-p' });
        const beforeIds = await getIds(headers);
        const res = await setIds(headers, {
          appsflyer_id: 'new-af', // a change
          branch_id: null, // a clear
          mixpanel_user_id: 'new-mix', // a new key
          pushwoosh_hwid: false, // the bad one
        });
        assert.equal(res.statusCode, 400);
        assert.deepEqual(res.json(), envelope(400, 'validation_error', ['pushwoosh_hwid', WRONG_TYPE]));
        const afterIds = await getIds(headers);
        assert.deepEqual(afterIds, beforeIds);
        assert.deepEqual(afterIds, expected({ appsflyer_id: 'orig-af', branch_id: 'orig-branch', pushwoosh_hwid: 'orig-p' }));
      });

      test('no known key in the body is a 400 non_field_errors', async () => {
        const { headers } = await newProfile();
        const bodies: unknown[] = [{}, { not_a_key: 'x' }, { Appsflyer_Id: 'x', data: { appsflyer_id: 'x' } }];
        for (const body of bodies) {
          const res = await setIds(headers, body);
          assert.equal(res.statusCode, 400, JSON.stringify(body));
          assert.deepEqual(res.json(), NONE_GIVEN, JSON.stringify(body));
        }
        assert.deepEqual(await getIds(headers), ALL_NULL);
      });

      test('an empty body with a JSON content type is the same 400', async () => {
        const { headers } = await newProfile();
        const res = await ctx.app.inject({
          method: 'POST',
          url: IDENTIFIERS_PATH,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': '0' },
          payload: '',
        });
        assert.equal(res.statusCode, 400);
        assert.deepEqual(res.json(), NONE_GIVEN);
      });

      test('no content type and no body is the same 400', async () => {
        const { headers } = await newProfile();
        const res = await ctx.app.inject({ method: 'POST', url: IDENTIFIERS_PATH, headers });
        assert.equal(res.statusCode, 400);
        assert.deepEqual(res.json(), NONE_GIVEN);
      });

      test('a JSON body that is not an object is a 400 non_field_errors', async () => {
        const { headers } = await newProfile();
        for (const raw of ['[1]', '[{"appsflyer_id": "x"}]', '"appsflyer_id"', '42', 'true', 'null']) {
          const res = await setIds(headers, raw);
          assert.equal(res.statusCode, 400, raw);
          assert.deepEqual(res.json(), NOT_OBJECT, raw);
        }
        assert.deepEqual(await getIds(headers), ALL_NULL);
      });
    });

    describe('addressing', () => {
      test('by profile id only, by customer user id only, and by both', async () => {
        const { customerUserId, profileId } = await newProfile();
        const byId = { ...tenant.auth, 'adapty-profile-id': profileId };
        const byUser = { ...tenant.auth, 'adapty-customer-user-id': customerUserId };
        const byBoth = { ...byId, ...byUser };

        await assertSet(byId, { appsflyer_id: 'by-id' });
        await assertSet(byUser, { branch_id: 'by-user' });
        await assertSet(byBoth, { mixpanel_user_id: 'by-both' });
        const all = expected({ appsflyer_id: 'by-id', branch_id: 'by-user', mixpanel_user_id: 'by-both' });
        assert.deepEqual(await getIds(byId), all);
        assert.deepEqual(await getIds(byUser), all);
        assert.deepEqual(await getIds(byBoth), all);
      });

      test('an empty header counts as absent', async () => {
        const { customerUserId, profileId } = await newProfile();
        await assertSet({ ...tenant.auth, 'adapty-profile-id': '', 'adapty-customer-user-id': customerUserId }, { pushwoosh_hwid: 'e1' });
        assert.equal(
          (await getIds({ ...tenant.auth, 'adapty-profile-id': profileId, 'adapty-customer-user-id': '' })).pushwoosh_hwid,
          'e1',
        );
      });

      test('the profile id is matched case-insensitively', async () => {
        const { profileId } = await newProfile();
        const upper = { ...tenant.auth, 'adapty-profile-id': profileId.toUpperCase() };
        await assertSet(upper, { adjust_device_id: 'upper' });
        assert.equal((await getIds({ ...tenant.auth, 'adapty-profile-id': profileId })).adjust_device_id, 'upper');
      });

      test('a profile without a customer user id is addressed by its profile id', async () => {
        const profileId = randomUUID();
        const headers = { ...tenant.auth, 'adapty-profile-id': profileId };
        assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
        await assertSet(headers, { branch_id: 'no-cuid' });
        assert.deepEqual(await getIds(headers), expected({ branch_id: 'no-cuid' }));
      });

      test('neither header is a 400 naming both headers; a bad profile id is a 400 on the header', async () => {
        for (const method of ['GET', 'POST'] as const) {
          const body = method === 'POST' ? { branch_id: 'x' } : undefined;
          const none = await send(ctx.app, method, IDENTIFIERS_PATH, tenant.auth, body);
          assert.equal(none.statusCode, 400, method);
          const noneBody = none.json();
          assert.equal(noneBody.error_code, 'validation_error');
          assert.equal(noneBody.status_code, 400);
          assert.equal(noneBody.errors.length, 1);
          assert.equal(noneBody.errors[0].source, 'non_field_errors');
          assert.match(noneBody.errors[0].errors[0], /adapty-customer-user-id/);
          assert.match(noneBody.errors[0].errors[0], /adapty-profile-id/);

          const bad = await send(ctx.app, method, IDENTIFIERS_PATH, { ...tenant.auth, 'adapty-profile-id': 'not-a-uuid' }, body);
          assert.equal(bad.statusCode, 400, method);
          const badBody = bad.json();
          assert.equal(badBody.error_code, 'validation_error');
          assert.equal(badBody.errors.length, 1);
          assert.equal(badBody.errors[0].source, 'adapty-profile-id');
        }
      });
    });

    describe('not found', () => {
      test('an unknown customer user id is a 404 on GET and POST', async () => {
        const headers = { ...tenant.auth, 'adapty-customer-user-id': `nobody-${randomUUID()}` };
        const get = await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers);
        assert.equal(get.statusCode, 404);
        assert.deepEqual(get.json(), NOT_FOUND);
        const post = await setIds(headers, { appsflyer_id: 'x' });
        assert.equal(post.statusCode, 404);
        assert.deepEqual(post.json(), NOT_FOUND);
      });

      test('an unknown profile id is a 404 on GET and POST', async () => {
        const headers = { ...tenant.auth, 'adapty-profile-id': randomUUID() };
        const get = await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers);
        assert.equal(get.statusCode, 404);
        assert.deepEqual(get.json(), NOT_FOUND);
        const post = await setIds(headers, { appsflyer_id: 'x' });
        assert.equal(post.statusCode, 404);
        assert.deepEqual(post.json(), NOT_FOUND);
      });

      test('headers naming two different profiles are a 404 and change neither', async () => {
        const first = await newProfile();
        const second = await newProfile();
        await assertSet(first.headers, { appsflyer_id: 'first' });
        await assertSet(second.headers, { appsflyer_id: 'second' });
        const mixed = {
          ...tenant.auth,
          'adapty-profile-id': first.profileId,
          'adapty-customer-user-id': second.customerUserId,
        };
        const get = await send(ctx.app, 'GET', IDENTIFIERS_PATH, mixed);
        assert.equal(get.statusCode, 404);
        assert.deepEqual(get.json(), NOT_FOUND);
        const post = await setIds(mixed, { appsflyer_id: 'mixed', branch_id: 'mixed' });
        assert.equal(post.statusCode, 404);
        assert.deepEqual(post.json(), NOT_FOUND);
        assert.deepEqual(await getIds(first.headers), expected({ appsflyer_id: 'first' }));
        assert.deepEqual(await getIds(second.headers), expected({ appsflyer_id: 'second' }));
      });

      test('an existing profile id with an unknown customer user id is a 404', async () => {
        const { profileId, headers } = await newProfile();
        await assertSet(headers, { branch_id: 'kept' });
        const mixed = { ...tenant.auth, 'adapty-profile-id': profileId, 'adapty-customer-user-id': `other-${randomUUID()}` };
        assert.deepEqual((await send(ctx.app, 'GET', IDENTIFIERS_PATH, mixed)).json(), NOT_FOUND);
        const post = await setIds(mixed, { branch_id: 'changed' });
        assert.equal(post.statusCode, 404);
        assert.deepEqual(post.json(), NOT_FOUND);
        assert.deepEqual(await getIds(headers), expected({ branch_id: 'kept' }));
      });

      test('POST on a missing profile does not create it', async () => {
        const customerUserId = `ghost-${randomUUID()}`;
        const profileId = randomUUID();
        for (const headers of <Record<string, string>[]>[
          { ...tenant.auth, 'adapty-customer-user-id': customerUserId },
          { ...tenant.auth, 'adapty-profile-id': profileId },
          { ...tenant.auth, 'adapty-profile-id': profileId, 'adapty-customer-user-id': customerUserId },
        ]) {
          const post = await setIds(headers, { appsflyer_id: 'ghost' });
          assert.equal(post.statusCode, 404);
          assert.deepEqual(post.json(), NOT_FOUND);
          const profile = await send(ctx.app, 'GET', PROFILE_PATH, headers);
          assert.equal(profile.statusCode, 404);
          assert.deepEqual(profile.json(), envelope(404, 'profile_does_not_exist', [null, 'Profile not found']));
          assert.deepEqual((await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers)).json(), NOT_FOUND);
        }
      });

      test('a deleted profile is not found, and a recreated one starts with no identifiers', async () => {
        const { headers } = await newProfile();
        await assertSet(headers, { appsflyer_id: 'before-delete' });
        assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, headers)).statusCode, 204);
        assert.deepEqual((await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers)).json(), NOT_FOUND);
        assert.equal((await setIds(headers, { appsflyer_id: 'x' })).statusCode, 404);
        assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
        assert.deepEqual(await getIds(headers), ALL_NULL);
      });
    });

    describe('concurrency', () => {
      test('16 concurrent requests each setting one distinct key all survive', async () => {
        const { headers } = await newProfile();
        const values = Object.fromEntries(VENDOR_KEYS.map((key, i) => [key, `concurrent-${i}`]));
        const results = await Promise.all(VENDOR_KEYS.map((key) => setIds(headers, { [key]: values[key] })));
        for (const res of results) {
          assert.equal(res.statusCode, 200, res.payload);
          assert.equal(res.payload, '');
        }
        assert.deepEqual(await getIds(headers), values);
      });

      test('50 concurrent requests cycling over the 16 keys lose no key', async () => {
        const { headers } = await newProfile();
        const sent = new Map<string, Set<string>>();
        const requests = Array.from({ length: 50 }, (_, i) => {
          const key = VENDOR_KEYS[i % VENDOR_KEYS.length]!;
          const value = `round-${i}`;
          if (!sent.has(key)) sent.set(key, new Set());
          sent.get(key)!.add(value);
          return ctx.app.inject({
            method: 'POST',
            url: IDENTIFIERS_PATH,
            headers: { ...headers, 'content-type': 'application/json' },
            payload: JSON.stringify({ [key]: value }),
          });
        });
        const results = await Promise.all(requests);
        for (const res of results) assert.equal(res.statusCode, 200, res.payload);
        const body = await getIds(headers);
        assert.deepEqual(Object.keys(body), VENDOR_KEYS);
        for (const key of VENDOR_KEYS) {
          const value = body[key];
          assert.notEqual(value, null, `${key} was lost`);
          assert.ok(sent.get(key)!.has(value!), `${key} holds ${value}, which was never sent for it`);
        }
      });

      test('after 34 concurrent early writes, 16 concurrent final writes decide every key', async () => {
        const { headers } = await newProfile();
        // Each key is written by several concurrent requests carrying distinct keys per request;
        // a final round of one request per key decides the value.
        const first = Array.from({ length: 34 }, (_, i) =>
          setIds(headers, { [VENDOR_KEYS[i % 16]!]: `early-${i}` }),
        );
        for (const res of await Promise.all(first)) assert.equal(res.statusCode, 200, res.payload);
        const final = Object.fromEntries(VENDOR_KEYS.map((key, i) => [key, `final-${i}`]));
        for (const res of await Promise.all(VENDOR_KEYS.map((key) => setIds(headers, { [key]: final[key] })))) {
          assert.equal(res.statusCode, 200, res.payload);
        }
        assert.deepEqual(await getIds(headers), final);
      });

      test('concurrent writes to different profiles do not mix', async () => {
        const profiles = await Promise.all(Array.from({ length: 8 }, () => newProfile()));
        const results = await Promise.all(
          profiles.flatMap((profile, p) =>
            VENDOR_KEYS.slice(0, 4).map((key) => setIds(profile.headers, { [key]: `p${p}-${key}` })),
          ),
        );
        for (const res of results) assert.equal(res.statusCode, 200, res.payload);
        for (const [p, profile] of profiles.entries()) {
          assert.deepEqual(
            await getIds(profile.headers),
            expected(Object.fromEntries(VENDOR_KEYS.slice(0, 4).map((key) => [key, `p${p}-${key}`]))),
          );
        }
      });
    });

    describe('tenancy', () => {
      test("another tenant gets 404 for the first tenant's profile and changes nothing", async () => {
        const owner = await newProfile();
        await assertSet(owner.headers, { appsflyer_id: 'owner-af', branch_id: 'owner-branch' });
        const other = await ctx.newTenant();
        for (const address of <Record<string, string>[]>[
          { 'adapty-customer-user-id': owner.customerUserId },
          { 'adapty-profile-id': owner.profileId },
          { 'adapty-customer-user-id': owner.customerUserId, 'adapty-profile-id': owner.profileId },
        ]) {
          const headers = { ...other.auth, ...address };
          const get = await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers);
          assert.equal(get.statusCode, 404);
          assert.deepEqual(get.json(), NOT_FOUND);
          const post = await setIds(headers, { appsflyer_id: 'intruder', branch_id: null, mixpanel_user_id: 'intruder' });
          assert.equal(post.statusCode, 404);
          assert.deepEqual(post.json(), NOT_FOUND);
          // Nor was a profile made for the other tenant.
          assert.equal((await send(ctx.app, 'GET', PROFILE_PATH, headers)).statusCode, 404);
        }
        assert.deepEqual(await getIds(owner.headers), expected({ appsflyer_id: 'owner-af', branch_id: 'owner-branch' }));
      });

      test('two tenants with the same customer user id keep separate identifiers', async () => {
        const owner = await newProfile();
        const other = await ctx.newTenant();
        const otherHeaders = { ...other.auth, 'adapty-customer-user-id': owner.customerUserId };
        assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, otherHeaders, {})).statusCode, 200);
        await assertSet(owner.headers, { appsflyer_id: 'mine', branch_id: 'mine' });
        await assertSet(otherHeaders, { appsflyer_id: 'theirs' });
        assert.deepEqual(await getIds(owner.headers), expected({ appsflyer_id: 'mine', branch_id: 'mine' }));
        assert.deepEqual(await getIds(otherHeaders), expected({ appsflyer_id: 'theirs' }));
      });
    });
  });
}
