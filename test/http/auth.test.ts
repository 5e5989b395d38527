import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateApiKey } from '../../src/domain/api-keys.js';
import {
  createTestContext,
  DATABASES,
  onDatabase,
  envelope,
  IDENTIFIERS_PATH,
  PROFILE_PATH,
  send,
  type Tenant,
  type TestContext,
} from '../helpers.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface Route {
  name: string;
  method: Method;
  path: string;
  /** A valid body for the route, sent as JSON; absent for GET and DELETE. */
  body?: unknown;
  /** The status of a successful call. */
  ok: number;
  /** The error code of a profile that is not found; null where the route creates the profile instead. */
  notFoundCode: 'profile_does_not_exist' | 'profile_not_found' | null;
}

/** Every API route, each with a body that would succeed. */
const ROUTES: readonly Route[] = [
  { name: 'POST profile', method: 'POST', path: PROFILE_PATH, body: { first_name: 'Intruder' }, ok: 200, notFoundCode: null },
  { name: 'GET profile', method: 'GET', path: PROFILE_PATH, ok: 200, notFoundCode: 'profile_does_not_exist' },
  { name: 'PATCH profile', method: 'PATCH', path: PROFILE_PATH, body: { first_name: 'Intruder' }, ok: 200, notFoundCode: 'profile_does_not_exist' },
  { name: 'DELETE profile', method: 'DELETE', path: PROFILE_PATH, ok: 204, notFoundCode: 'profile_does_not_exist' },
  { name: 'POST identifiers', method: 'POST', path: IDENTIFIERS_PATH, body: { branch_id: 'intruder' }, ok: 200, notFoundCode: 'profile_not_found' },
  { name: 'GET identifiers', method: 'GET', path: IDENTIFIERS_PATH, ok: 200, notFoundCode: 'profile_not_found' },
];

const NOT_AUTHENTICATED = envelope(401, 'not_authenticated', [
  'non_field_errors',
  'Authentication credentials were not provided.',
]);
const UNAUTHORIZED = envelope(401, 'unauthorized', ['non_field_errors', 'Invalid API key']);

const CACHE_TTL_MS = 100;

for (const kind of DATABASES) {
  describe(`authentication (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let counter = 0;

    before(async () => {
      // Revocation takes effect once the key cache forgets the key; keep that short here. These
      // tests fail to authenticate hundreds of times on purpose: the limit on failures per address
      // (tested in auth-shedding.test.ts) is set out of their way.
      ctx = await createTestContext(kind, { API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS), AUTH_FAILURES_PER_MINUTE: '1000000' });
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    /** A profile of `owner` with attributes and identifiers, so that any change to it shows. */
    async function victim(owner: Tenant = tenant) {
      const customerUserId = `auth-${kind}-${++counter}-${randomUUID().slice(0, 8)}`;
      const headers = { ...owner.auth, 'adapty-customer-user-id': customerUserId };
      const created = await send(ctx.app, 'POST', PROFILE_PATH, headers, {
        first_name: 'Owner',
        custom_attributes: [{ key: 'plan', value: 'gold' }],
      });
      assert.equal(created.statusCode, 200, created.payload);
      const set = await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { appsflyer_id: 'owner-af' });
      assert.equal(set.statusCode, 200, set.payload);
      return { customerUserId, profileId: created.json().data.profile_id as string, headers };
    }

    /** What a client can observe of a profile through the owner's key (the timestamp aside). */
    async function snapshot(headers: Record<string, string>) {
      const profile = await send(ctx.app, 'GET', PROFILE_PATH, headers);
      const identifiers = await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers);
      const data = profile.statusCode === 200 ? { ...profile.json().data, timestamp: undefined } : null;
      return { profileStatus: profile.statusCode, data, identifiersStatus: identifiers.statusCode, identifiers: identifiers.json() };
    }

    const call = (route: Route, headers: Record<string, string>) =>
      send(ctx.app, route.method, route.path, headers, route.body);

    describe('missing or malformed credentials', () => {
      test('no Authorization header is a 401 not_authenticated on every route', async () => {
        const { customerUserId, headers: ownerHeaders } = await victim();
        const before = await snapshot(ownerHeaders);
        for (const route of ROUTES) {
          const res = await call(route, { 'adapty-customer-user-id': customerUserId });
          assert.equal(res.statusCode, 401, route.name);
          assert.deepEqual(res.json(), NOT_AUTHENTICATED, route.name);
        }
        assert.deepEqual(await snapshot(ownerHeaders), before);
      });

      test('an empty Authorization header is a 401 not_authenticated on every route', async () => {
        for (const route of ROUTES) {
          const res = await call(route, { authorization: '', 'adapty-customer-user-id': 'whoever' });
          assert.equal(res.statusCode, 401, route.name);
          assert.deepEqual(res.json(), NOT_AUTHENTICATED, route.name);
        }
      });

      test('a wrong scheme is a 401 not_authenticated on every route', async () => {
        const { customerUserId, headers: ownerHeaders } = await victim();
        const before = await snapshot(ownerHeaders);
        const wrong = [
          `Bearer ${tenant.key}`,
          'Basic x',
          `Basic ${Buffer.from(`user:${tenant.key}`).toString('base64')}`,
          tenant.key,
          'Api-Key',
          'Api-Key ',
          'Api-Key    ',
          `ApiKey ${tenant.key}`,
          `Token ${tenant.key}`,
          `Api-Key: ${tenant.key}`,
        ];
        for (const route of ROUTES) {
          for (const authorization of wrong) {
            const res = await call(route, { authorization, 'adapty-customer-user-id': customerUserId });
            assert.equal(res.statusCode, 401, `${route.name} with ${JSON.stringify(authorization)}`);
            assert.deepEqual(res.json(), NOT_AUTHENTICATED, `${route.name} with ${JSON.stringify(authorization)}`);
          }
        }
        assert.deepEqual(await snapshot(ownerHeaders), before);
      });

      test('a missing key is reported before missing addressing headers', async () => {
        for (const route of ROUTES) {
          const res = await call(route, {});
          assert.equal(res.statusCode, 401, route.name);
          assert.deepEqual(res.json(), NOT_AUTHENTICATED, route.name);
          const unknown = await call(route, { authorization: `Api-Key ${generateApiKey()}` });
          assert.equal(unknown.statusCode, 401, route.name);
          assert.deepEqual(unknown.json(), UNAUTHORIZED, route.name);
        }
      });
    });

    describe('valid keys', () => {
      test('the scheme is case-insensitive on every route', async () => {
        const { customerUserId } = await victim();
        for (const scheme of ['Api-Key', 'api-key', 'API-KEY', 'aPi-KeY']) {
          const headers = { authorization: `${scheme} ${tenant.key}`, 'adapty-customer-user-id': customerUserId };
          for (const route of ROUTES) {
            // DELETE removes the profile; make sure it exists before each call.
            await send(ctx.app, 'POST', PROFILE_PATH, { ...tenant.auth, 'adapty-customer-user-id': customerUserId }, {});
            const res = await call(route, headers);
            assert.equal(res.statusCode, route.ok, `${route.name} with ${scheme}: ${res.payload}`);
          }
        }
      });

      test('each route answers its success status and body with a valid key', async () => {
        const { customerUserId, profileId } = await victim();
        const headers = { ...tenant.auth, 'adapty-customer-user-id': customerUserId };
        for (const route of ROUTES) {
          await send(ctx.app, 'POST', PROFILE_PATH, headers, {});
          const res = await call(route, headers);
          assert.equal(res.statusCode, route.ok, `${route.name}: ${res.payload}`);
          if (route.path === PROFILE_PATH && route.ok === 200) {
            assert.equal(res.json().data.app_id, tenant.appId, route.name);
            assert.equal(res.json().data.profile_id, profileId, route.name);
          }
        }
      });

      test('an operator-supplied key of another shape works', async () => {
        const secret = `operator-key-${randomUUID()}`;
        await ctx.store.addApiKey(tenant.appId, secret, 'operator');
        const { customerUserId } = await victim();
        const res = await send(ctx.app, 'GET', PROFILE_PATH, { authorization: `Api-Key ${secret}`, 'adapty-customer-user-id': customerUserId });
        assert.equal(res.statusCode, 200, res.payload);
        assert.equal(res.json().data.app_id, tenant.appId);
      });

      test('surrounding whitespace in the header value is tolerated', async () => {
        const { customerUserId } = await victim();
        const res = await send(ctx.app, 'GET', IDENTIFIERS_PATH, {
          authorization: `  Api-Key ${tenant.key}  `,
          'adapty-customer-user-id': customerUserId,
        });
        assert.equal(res.statusCode, 200, res.payload);
        assert.equal(res.json().appsflyer_id, 'owner-af');
      });
    });

    describe('unknown and revoked keys', () => {
      test('a well-formed unknown key is a 401 unauthorized on every route', async () => {
        const { customerUserId, headers: ownerHeaders } = await victim();
        const before = await snapshot(ownerHeaders);
        const unknownKeys = [
          generateApiKey(),
          tenant.key.slice(0, -1), // a prefix of a real key
          `${tenant.key}x`, // a real key with more after it
          tenant.key.toUpperCase() === tenant.key ? tenant.key.toLowerCase() : tenant.key.toUpperCase(), // keys are case-sensitive
        ];
        for (const route of ROUTES) {
          for (const key of unknownKeys) {
            const res = await call(route, { authorization: `Api-Key ${key}`, 'adapty-customer-user-id': customerUserId });
            assert.equal(res.statusCode, 401, `${route.name} with ${key}`);
            assert.deepEqual(res.json(), UNAUTHORIZED, `${route.name} with ${key}`);
          }
        }
        assert.deepEqual(await snapshot(ownerHeaders), before);
      });

      test('a revoked key is a 401 unauthorized on every route; another key of the app still works', async () => {
        const owner = await ctx.newTenant();
        const spare = generateApiKey();
        await ctx.store.addApiKey(owner.appId, spare, 'spare');
        const spareHeaders = { authorization: `Api-Key ${spare}` };
        const { customerUserId } = await victim(owner);

        const keys = await ctx.store.listApiKeys(owner.appId);
        assert.equal(keys.length, 2);
        const first = keys.find((key) => key.name === 'test');
        assert.ok(first, 'the tenant key is listed');
        assert.equal(await ctx.store.revokeApiKey(first.id), true);
        await sleep(CACHE_TTL_MS + 50);

        const before = await snapshot({ ...spareHeaders, 'adapty-customer-user-id': customerUserId });
        assert.equal(before.profileStatus, 200);
        for (const route of ROUTES) {
          const res = await call(route, { ...owner.auth, 'adapty-customer-user-id': customerUserId });
          assert.equal(res.statusCode, 401, route.name);
          assert.deepEqual(res.json(), UNAUTHORIZED, route.name);
        }
        assert.deepEqual(await snapshot({ ...spareHeaders, 'adapty-customer-user-id': customerUserId }), before);
      });

      test('revoking one tenant key does not affect another tenant', async () => {
        const doomed = await ctx.newTenant();
        const [key] = await ctx.store.listApiKeys(doomed.appId);
        assert.ok(key);
        await ctx.store.revokeApiKey(key.id);
        await sleep(CACHE_TTL_MS + 50);
        const { customerUserId } = await victim();
        const res = await send(ctx.app, 'GET', PROFILE_PATH, { ...tenant.auth, 'adapty-customer-user-id': customerUserId });
        assert.equal(res.statusCode, 200);
        const revoked = await send(ctx.app, 'GET', PROFILE_PATH, { ...doomed.auth, 'adapty-customer-user-id': customerUserId });
        assert.deepEqual(revoked.json(), UNAUTHORIZED);
      });
    });

    describe('tenancy', () => {
      test("another app's key sees the profile as not found on every route and changes nothing", async () => {
        const owner = await victim();
        const before = await snapshot(owner.headers);
        assert.equal(before.profileStatus, 200);
        assert.equal(before.identifiers.appsflyer_id, 'owner-af');
        const other = await ctx.newTenant();
        for (const address of <Record<string, string>[]>[
          { 'adapty-customer-user-id': owner.customerUserId },
          { 'adapty-profile-id': owner.profileId },
          { 'adapty-customer-user-id': owner.customerUserId, 'adapty-profile-id': owner.profileId },
        ]) {
          for (const route of ROUTES) {
            const label = `${route.name} with ${Object.keys(address).join('+')}`;
            const res = await call(route, { ...other.auth, ...address });
            if (route.notFoundCode === null) {
              // Create never finds another app's profile: it makes (or finds) one of the caller's own app.
              assert.equal(res.statusCode, 200, `${label}: ${res.payload}`);
              const data = res.json().data;
              assert.equal(data.app_id, other.appId, label);
              assert.deepEqual(data.custom_attributes, [], label);
              // Remove it again so the next address starts from nothing in the other app.
              const del = await send(ctx.app, 'DELETE', PROFILE_PATH, { ...other.auth, ...address });
              assert.equal(del.statusCode, 204, label);
            } else {
              assert.equal(res.statusCode, 404, `${label}: ${res.payload}`);
              assert.deepEqual(res.json(), envelope(404, route.notFoundCode, [null, 'Profile not found']), label);
            }
          }
        }
        assert.deepEqual(await snapshot(owner.headers), before);
      });
    });

    describe('order of checks', () => {
      test('auth is checked before body parsing: invalid JSON with no key is a 401, not a 400', async () => {
        for (const route of ROUTES.filter((r) => r.method === 'POST' || r.method === 'PATCH')) {
          const headers = { 'adapty-customer-user-id': 'parse-order', 'content-type': 'application/json' };
          const none = await send(ctx.app, route.method, route.path, headers, '{"first_name": ');
          assert.equal(none.statusCode, 401, route.name);
          assert.deepEqual(none.json(), NOT_AUTHENTICATED, route.name);
          const unknown = await send(
            ctx.app,
            route.method,
            route.path,
            { ...headers, authorization: `Api-Key ${generateApiKey()}` },
            '{"first_name": ',
          );
          assert.equal(unknown.statusCode, 401, route.name);
          assert.deepEqual(unknown.json(), UNAUTHORIZED, route.name);
          // With a good key, the same body is the parse error.
          const good = await send(ctx.app, route.method, route.path, { ...headers, ...tenant.auth }, '{"first_name": ');
          assert.equal(good.statusCode, 400, route.name);
          assert.equal(good.json().error_code, 'parse_error', route.name);
        }
      });

      test('auth is checked before the media type: a non-JSON body with no key is a 401, not a 415', async () => {
        for (const route of ROUTES.filter((r) => r.method === 'POST' || r.method === 'PATCH')) {
          const res = await send(
            ctx.app,
            route.method,
            route.path,
            { 'adapty-customer-user-id': 'media-order', 'content-type': 'text/plain' },
            'branch_id=x',
          );
          assert.equal(res.statusCode, 401, route.name);
          assert.deepEqual(res.json(), NOT_AUTHENTICATED, route.name);
        }
      });

      test('auth is checked before validation: an invalid body with no key is a 401', async () => {
        const bodies: Record<string, unknown> = {
          [`POST ${PROFILE_PATH}`]: { gender: 'nonsense' },
          [`PATCH ${PROFILE_PATH}`]: { gender: 'nonsense' },
          [`POST ${IDENTIFIERS_PATH}`]: { branch_id: true },
        };
        for (const route of ROUTES.filter((r) => r.method === 'POST' || r.method === 'PATCH')) {
          const res = await send(ctx.app, route.method, route.path, { 'adapty-profile-id': 'not-a-uuid' }, bodies[`${route.method} ${route.path}`]);
          assert.equal(res.statusCode, 401, route.name);
          assert.deepEqual(res.json(), NOT_AUTHENTICATED, route.name);
        }
      });
    });

    describe('probes', () => {
      test('/healthz and /readyz need no key', async () => {
        for (const headers of <Record<string, string>[]>[{}, { authorization: 'Bearer nothing' }, { authorization: `Api-Key ${generateApiKey()}` }]) {
          const health = await send(ctx.app, 'GET', '/healthz', headers);
          assert.equal(health.statusCode, 200);
          assert.deepEqual(health.json(), { status: 'ok' });
          const ready = await send(ctx.app, 'GET', '/readyz', headers);
          assert.equal(ready.statusCode, 200);
          assert.deepEqual(ready.json(), { status: 'ready' });
        }
      });
    });
  });
}
