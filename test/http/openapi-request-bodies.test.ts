import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, IDENTIFIERS_PATH, PROFILE_PATH, send, type TestContext } from '../helpers.js';

// The OpenAPI document says which request bodies may be left out: those of the routes whose
// emptyBodyIsEmptyObject hook reads no body as {}, and only those.

interface Operation {
  operationId: string;
  requestBody?: { required?: boolean; content: Record<string, unknown> };
}

describe('the OpenAPI document: optional and required request bodies', () => {
  let ctx: TestContext;
  let paths: Record<string, Record<string, Operation>>;
  before(async () => {
    ctx = await createTestContext('sqlite');
    const res = await send(ctx.app, 'GET', '/openapi.json', {});
    assert.equal(res.statusCode, 200);
    paths = res.json().paths;
  });
  after(() => ctx.close());

  const withBody = () =>
    Object.values(paths)
      .flatMap((item) => Object.values(item))
      .filter((operation) => operation.requestBody !== undefined);

  test('profile create and update and set integration identifiers have an optional body', () => {
    for (const operation of [paths[PROFILE_PATH]!.post!, paths[PROFILE_PATH]!.patch!, paths[IDENTIFIERS_PATH]!.post!]) {
      assert.equal(operation.requestBody?.required, false, operation.operationId);
      assert.ok(operation.requestBody?.content['application/json'], `${operation.operationId} still documents its body`);
    }
  });

  test('the bodies of other operations stay required, and the marker used on the way is not published', () => {
    const optional = withBody().filter((operation) => operation.requestBody!.required !== true).map((operation) => operation.operationId);
    assert.deepEqual(optional.sort(), ['createProfile', 'setIntegrationIdentifiers', 'updateProfile']);
    const required = withBody().filter((operation) => operation.requestBody!.required === true).map((operation) => operation.operationId);
    assert.ok(required.includes('batchSetIntegrationIdentifiers') && required.includes('createWebhookEndpoint'), required.join(', '));
    assert.ok(!JSON.stringify(paths).includes('x-crosswalk-'));
  });

  test('what the document says is what the routes do: an optional body left out is answered as {} is', async () => {
    const tenant = await ctx.newTenant();
    const headers = { ...tenant.auth, 'adapty-customer-user-id': 'openapi-no-body' };
    // The answer without the time it was made, so that two answers can be compared.
    const answer = (res: { statusCode: number; body: string }) => {
      const body = res.body === '' ? null : JSON.parse(res.body);
      if (body?.data?.timestamp !== undefined) delete body.data.timestamp;
      return { status: res.statusCode, body };
    };
    let checked = 0;
    for (const [url, item] of Object.entries(paths)) {
      if (url.includes('{')) continue;
      for (const [method, operation] of Object.entries(item)) {
        if (operation.requestBody?.required !== false) continue;
        const verb = method.toUpperCase() as 'POST';
        const none = answer(await ctx.app.inject({ method: verb, url, headers }));
        const empty = answer(await send(ctx.app, verb, url, headers, {}));
        assert.deepEqual(none, empty, `${method} ${url}`);
        checked++;
      }
    }
    assert.ok(checked >= 3, `${checked} operations checked`);
  });
});
