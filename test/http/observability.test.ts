import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, DATABASES, onDatabase, IDENTIFIERS_PATH, PROFILE_PATH, send, type Tenant, type TestContext } from '../helpers.js';

/** The value of one sample line of a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && wanted.every((pair) => l.includes(pair)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

for (const kind of DATABASES) {
  describe(`request ids and metrics (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx?.close());

    test('every answer carries a request-id: the caller\'s x-request-id when sensible, else a new one', async () => {
      const given = await send(ctx.app, 'GET', '/healthz', { 'x-request-id': 'gateway-42.a:b' });
      assert.equal(given.headers['request-id'], 'gateway-42.a:b');
      const made = await send(ctx.app, 'GET', '/healthz', { 'x-request-id': 'has spaces and "quotes"' });
      assert.match(String(made.headers['request-id']), /^[0-9a-f]{32}$/);
      const error = await send(ctx.app, 'GET', PROFILE_PATH, {});
      assert.equal(error.statusCode, 401);
      assert.match(String(error.headers['request-id']), /^[0-9a-f]{32}$/);
      const missing = await send(ctx.app, 'GET', '/nowhere', {});
      assert.match(String(missing.headers['request-id']), /^[0-9a-f]{32}$/);
      const badUrl = await send(ctx.app, 'GET', '/api/v2/server-side-api/profile/%', {});
      assert.equal(badUrl.statusCode, 400);
      assert.match(String(badUrl.headers['request-id']), /^[0-9a-f]{32}$/);
    });

    test('/metrics is Prometheus text with request, query and identifier-write figures', async () => {
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'metrics-user' };
      await send(ctx.app, 'POST', PROFILE_PATH, headers, {});
      await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { appsflyer_id: 'm1', branch_id: 'b1' });
      await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { appsflyer_id: 'm2', branch_id: null });
      await send(ctx.app, 'GET', '/api/v2/server-side-api/profile/%', {});
      const res = await send(ctx.app, 'GET', '/metrics', {});
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const text = res.body;
      const route = IDENTIFIERS_PATH;
      assert.equal(sample(text, 'crosswalk_http_requests_total', { route, method: 'POST', status: '200' }), 2);
      assert.equal(sample(text, 'crosswalk_http_requests_total', { route: PROFILE_PATH, method: 'POST', status: '200' }), 1);
      assert.equal(sample(text, 'crosswalk_http_request_duration_seconds_count', { route, method: 'POST', status: '200' }), 2);
      assert.equal(sample(text, 'crosswalk_identifier_writes_total', { key: 'appsflyer_id', operation: 'set' }), 2);
      assert.equal(sample(text, 'crosswalk_identifier_writes_total', { key: 'branch_id', operation: 'clear' }), 1);
      assert.ok((sample(text, 'crosswalk_db_query_duration_seconds_count', { outcome: 'ok' }) ?? 0) > 0);
      assert.match(text, /^process_resident_memory_bytes \d+/m);
      // Labels hold route templates, never raw URLs.
      assert.doesNotMatch(text, /profile\/%/);
      // Every line is a comment, a blank, or `name{labels} value`.
      for (const line of text.split('\n')) {
        assert.match(line, /^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? -?[0-9.e+Na-]+|)$/, line);
      }
    });

    test('METRICS_ENABLED=false turns /metrics off', async () => {
      const quiet = await createTestContext(kind, { METRICS_ENABLED: 'false' });
      try {
        assert.equal((await send(quiet.app, 'GET', '/metrics', {})).statusCode, 404);
      } finally {
        await quiet.close();
      }
    });
  });
}
