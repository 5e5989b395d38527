import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseIdentifiersBody } from '../../src/schemas/identifiers.js';
import { parseProfileBody } from '../../src/schemas/profile.js';
import { createTestContext, DATABASES, onDatabase, envelope, PROFILE_PATH, send, type Tenant, type TestContext } from '../helpers.js';

// How the route schemas validate (docs/compatibility.md, "Validation"): query text is read as a
// number only when written in decimal digits, an empty parameter is a value, header problems come
// before query problems, each field gets one message, and the API and the CLI import share one
// validator. The messages themselves are asserted by the suites of each route.

const HISTORY = '/crosswalk/v1/integration-identifiers/history/';
const DELIVERIES = '/crosswalk/v1/webhooks/deliveries/';
const LIMIT = envelope(400, 'validation_error', ['limit', 'Must be a whole number from 1 to 500.']);

for (const kind of DATABASES) {
  describe(`validation by the route schemas (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let byUser: Record<string, string>;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
      byUser = { ...tenant.auth, 'adapty-customer-user-id': 'validation-user' };
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, byUser, {})).statusCode, 200);
    });
    after(() => ctx.close());

    test('a query number must be written in decimal digits', async () => {
      for (const limit of ['1e2', '0x10', '%205', '5.0', '', 'true']) {
        const res = await send(ctx.app, 'GET', `${HISTORY}?limit=${limit}`, byUser);
        assert.deepEqual(res.json(), LIMIT, limit);
      }
      for (const limit of ['5', '007', '500']) {
        const res = await send(ctx.app, 'GET', `${HISTORY}?limit=${limit}`, byUser);
        assert.equal(res.statusCode, 200, `${limit}: ${res.body}`);
      }
      const cursor = await send(ctx.app, 'GET', `${DELIVERIES}?cursor=1e3`, tenant.auth);
      assert.deepEqual(cursor.json(), envelope(400, 'validation_error', ['cursor', 'Must be the next_cursor of a previous page.']));
    });

    test('an empty query parameter is a value, not an absent one', async () => {
      const res = await send(ctx.app, 'GET', `${HISTORY}?cursor=`, byUser);
      assert.deepEqual(
        res.json(),
        envelope(400, 'validation_error', ['cursor', 'Not a cursor this API gave out: pass next_cursor from the previous page unchanged.']),
      );
    });

    test('profile header problems come before query problems; query problems come in the schema order', async () => {
      const badHeader = await send(ctx.app, 'GET', `${HISTORY}?limit=0`, { ...tenant.auth, 'adapty-profile-id': 'nope' });
      assert.deepEqual(badHeader.json(), envelope(400, 'validation_error', ['adapty-profile-id', 'Must be a valid UUID.']));
      const both = await send(ctx.app, 'GET', `${HISTORY}?cursor=x&limit=0&key=nope&limit=1`, byUser);
      const body = both.json() as { errors: { source: string }[] };
      assert.deepEqual(body.errors.map((item) => item.source), ['key', 'limit', 'cursor']);
      assert.deepEqual(body.errors[1], { source: 'limit', errors: ['Give this query parameter only once.'] });
    });

    test('one message per field: a value that fails its schema is not also checked by hand', async () => {
      // 300 characters holding a NUL: the length is reported; the NUL check runs on accepted text only.
      const res = await send(ctx.app, 'PATCH', PROFILE_PATH, byUser, { first_name: `${'x'.repeat(300)}\u0000` });
      assert.deepEqual(res.json(), envelope(400, 'validation_error', ['first_name', 'Ensure this field has no more than 256 characters.']));
      const nul = await send(ctx.app, 'PATCH', PROFILE_PATH, byUser, { first_name: 'a\u0000b' });
      assert.deepEqual(nul.json(), envelope(400, 'validation_error', ['first_name', 'Must not contain the NUL character (U+0000).']));
    });

    test('the API and the CLI import refuse a body with the same envelope', async () => {
      const bodies: [string, unknown, (body: unknown) => unknown][] = [
        [PROFILE_PATH, { gender: 'x', custom_attributes: [{ key: 'bad key', value: 1 }] }, parseProfileBody],
        ['/api/v2/server-side-api/integration/profile/set/integration-identifiers/', { branch_id: '  ', appsflyer_id: 1e-7 }, parseIdentifiersBody],
      ];
      for (const [path, body, parse] of bodies) {
        const res = await send(ctx.app, path === PROFILE_PATH ? 'PATCH' : 'POST', path, byUser, body);
        assert.equal(res.statusCode, 400, res.body);
        assert.throws(() => parse(body), (error: { toBody(): unknown }) => {
          assert.deepEqual(error.toBody(), res.json());
          return true;
        });
      }
    });

    test('the OpenAPI document publishes the schemas that validate', async () => {
      const document = (await send(ctx.app, 'GET', '/openapi.json', {})).json() as {
        paths: Record<string, Record<string, { parameters?: { name: string; schema: Record<string, unknown> }[]; requestBody?: unknown }>>;
      };
      const history = document.paths[HISTORY]!.get!.parameters!;
      assert.deepEqual(history.find((p) => p.name === 'limit')!.schema, { type: 'integer', minimum: 1, maximum: 500, default: 50 });
      const profile = document.paths[PROFILE_PATH]!.patch!.requestBody as { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
      assert.deepEqual(profile.content['application/json']!.schema.properties.birthday, {
        type: ['string', 'null'],
        maxLength: 10,
        format: 'date',
        description: 'A real calendar date, YYYY-MM-DD',
      });
    });
  });
}
