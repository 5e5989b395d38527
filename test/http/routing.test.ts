import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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

for (const kind of DATABASES) {
  describe(`routing and bodies (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    test('paths work with and without the trailing slash', async () => {
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'slash' };
      for (const path of [PROFILE_PATH, PROFILE_PATH.slice(0, -1)]) {
        const res = await send(ctx.app, 'POST', path, headers, {});
        assert.equal(res.statusCode, 200, path);
      }
      for (const path of [IDENTIFIERS_PATH, IDENTIFIERS_PATH.slice(0, -1)]) {
        const set = await send(ctx.app, 'POST', path, headers, { branch_id: path });
        assert.equal(set.statusCode, 200, path);
        const get = await send(ctx.app, 'GET', path, headers);
        assert.equal(get.json().branch_id, path);
      }
    });

    test('an unknown path is a 404 in the envelope, with or without a key', async () => {
      for (const headers of [{}, tenant.auth]) {
        const res = await send(ctx.app, 'GET', '/api/v2/server-side-api/nothing/', headers);
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), envelope(404, 'not_found', ['non_field_errors', 'There is no such endpoint.']));
      }
    });

    test('a wrong method on a known path is a 405 naming the allowed methods', async () => {
      const res = await send(ctx.app, 'PUT', PROFILE_PATH, tenant.auth, {});
      assert.equal(res.statusCode, 405);
      assert.equal(res.headers.allow, 'DELETE, GET, HEAD, PATCH, POST');
      assert.deepEqual(
        res.json(),
        envelope(405, 'method_not_allowed', ['non_field_errors', 'Method "PUT" is not allowed on this path.']),
      );
      const onIdentifiers = await send(ctx.app, 'DELETE', IDENTIFIERS_PATH.slice(0, -1), tenant.auth);
      assert.equal(onIdentifiers.statusCode, 405);
      assert.equal(onIdentifiers.headers.allow, 'GET, HEAD, POST');
    });

    test('invalid JSON is a parse_error with source null', async () => {
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'parse' };
      const res = await send(ctx.app, 'POST', PROFILE_PATH, headers, '{"first_name": ');
      assert.equal(res.statusCode, 400);
      const body = res.json();
      assert.equal(body.error_code, 'parse_error');
      assert.equal(body.status_code, 400);
      assert.equal(body.errors.length, 1);
      assert.equal(body.errors[0].source, null);
      assert.match(body.errors[0].errors[0], /^JSON parse error - /);
    });

    test('a body that is not UTF-8 is a parse_error', async () => {
      const res = await ctx.app.inject({
        method: 'POST',
        url: IDENTIFIERS_PATH,
        headers: { ...tenant.auth, 'adapty-customer-user-id': 'utf8', 'content-type': 'application/json' },
        payload: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), envelope(400, 'parse_error', [null, 'JSON parse error - body is not valid UTF-8']));
    });

    test('a non-JSON content type on a body is a 415', async () => {
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'media', 'content-type': 'text/plain' };
      const res = await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, 'appsflyer_id=1');
      assert.equal(res.statusCode, 415);
      assert.deepEqual(
        res.json(),
        envelope(415, 'unsupported_media_type', ['non_field_errors', 'Unsupported media type: send the body as application/json.']),
      );
    });

    test('a charset other than UTF-8 is a 415; utf-8 is fine', async () => {
      const base = { ...tenant.auth, 'adapty-customer-user-id': 'charset' };
      await send(ctx.app, 'POST', PROFILE_PATH, base, {});
      const latin = await send(ctx.app, 'POST', IDENTIFIERS_PATH, { ...base, 'content-type': 'application/json; charset=latin1' }, { branch_id: 'x' });
      assert.equal(latin.statusCode, 415);
      assert.equal(latin.json().error_code, 'unsupported_media_type');
      const utf8 = await send(ctx.app, 'POST', IDENTIFIERS_PATH, { ...base, 'content-type': 'application/json; charset=UTF-8' }, { branch_id: 'x' });
      assert.equal(utf8.statusCode, 200);
    });

    test('a body over 64 KiB is a 413; one just under is accepted', async () => {
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'big' };
      const over = await send(ctx.app, 'POST', PROFILE_PATH, headers, { first_name: 'x'.repeat(64 * 1024) });
      assert.equal(over.statusCode, 413);
      assert.deepEqual(
        over.json(),
        envelope(413, 'payload_too_large', ['non_field_errors', 'The request body must not be larger than 65536 bytes.']),
      );
      const padding = ' '.repeat(64 * 1024 - 20);
      const under = await send(ctx.app, 'POST', PROFILE_PATH, headers, `{${padding}}`);
      assert.equal(under.statusCode, 200);
    });

    test('JSON content type with an empty body is fine on GET and DELETE', async () => {
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'empty', 'content-type': 'application/json', 'content-length': '0' };
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers)).statusCode, 200);
      assert.equal((await send(ctx.app, 'GET', PROFILE_PATH, headers)).statusCode, 200);
      assert.equal((await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers)).statusCode, 200);
      assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, headers)).statusCode, 204);
    });

    test('readiness is a 503 in the envelope when the database does not answer', async () => {
      const broken = await createTestContext(kind);
      await broken.store.close();
      try {
        assert.equal((await send(broken.app, 'GET', '/healthz', {})).statusCode, 200);
        const ready = await send(broken.app, 'GET', '/readyz', {});
        assert.equal(ready.statusCode, 503);
        assert.deepEqual(
          ready.json(),
          envelope(503, 'service_unavailable', ['non_field_errors', 'The database is not answering.']),
        );
      } finally {
        await broken.app.close();
        await broken.database.drop();
      }
    });

    test('health and readiness need no key', async () => {
      assert.deepEqual((await send(ctx.app, 'GET', '/healthz', {})).json(), { status: 'ok' });
      const ready = await send(ctx.app, 'GET', '/readyz', {});
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json(), { status: 'ready' });
    });
  });
}
