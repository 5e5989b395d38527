import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { type KeyScope, scopeAllows } from '../../src/domain/api-keys.js';
import { defaultScope, routeScopes } from '../../src/http/auth.js';
import { createServices } from '../../src/services/index.js';
import {
  createTestContext,
  DATABASES,
  envelope,
  IDENTIFIERS_PATH,
  onDatabase,
  PROFILE_PATH,
  queryRows,
  send,
  subscriptionBody,
  type Tenant,
  type TestContext,
  TRANSACTION_PATH,
} from '../helpers.js';
import { auditRows, forbiddenBody, keyOf, tablesText, type TestKey } from '../keys-support.js';

const BATCH = '/crosswalk/v1/integration-identifiers/batch/';
const LOOKUP = '/crosswalk/v1/integration-identifiers/lookup/?key=appsflyer_id&value=af-1';
const ENDPOINTS = '/crosswalk/v1/webhooks/endpoints/';
const DELIVERIES = '/crosswalk/v1/webhooks/deliveries/';
const REVENUE = '/crosswalk/v1/revenue/';
const AUDIT = '/crosswalk/v1/audit/';
const CACHE_TTL_MS = 100;

/** Routes any client may call without a key: documents, probes, the console's files and the metrics. */
const PUBLIC = [/^\/docs/, /^\/openapi\.json$/, /^\/healthz$/, /^\/readyz$/, /^\/console/, /^\/metrics$/];

/** The scope each route must need, written out independently of the code that decides it. */
function expectedScope(method: string, path: string): KeyScope {
  // Destinations hold the tools' credentials: even listing them needs an admin key.
  if (/^\/crosswalk\/v1\/(audit|stats|destinations)\b/.test(path)) return 'admin';
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (/^\/crosswalk\/v1\/(webhooks|revenue)\//.test(path)) return 'admin';
  return 'write';
}

/** Every (method, path) `printRoutes` lists, path parameters filled in with plausible values. */
function registeredRoutes(tree: string): { method: string; path: string; pattern: string }[] {
  const routes: { method: string; path: string; pattern: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (\S+) \(([^)]*)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    const pattern = `${stack.at(-1) ?? ''}${match[2]}`;
    stack.push(pattern);
    const path = pattern
      .replace(':id', '7d0f0a4e-0000-4000-8000-000000000000')
      .replace(':currency', 'EUR')
      .replace(/:[a-z_]+/g, 'scope-walk')
      .replace(/\/\*$/, '/anything');
    for (const method of match[3]!.split(', ')) routes.push({ method, path: `${path}/`, pattern });
  }
  return routes;
}

for (const kind of DATABASES) {
  describe(`key scopes (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    const keys = {} as Record<KeyScope, TestKey>;
    let counter = 0;

    before(async () => {
      // A key's new scope applies once the key cache forgets the key; keep that short here.
      ctx = await createTestContext(kind, { API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      tenant = await ctx.newTenant();
      for (const scope of ['read', 'write', 'admin'] as const) keys[scope] = await keyOf(ctx, tenant.appId, scope);
    });
    after(() => ctx.close());

    const as = (scope: KeyScope, extra: Record<string, string> = {}) => ({ ...keys[scope].auth, ...extra });
    const cuid = () => `scopes-${kind}-${++counter}`;
    const rowsOf = async (table: string, where: string) => queryRows(ctx.database, `select * from ${table} where app_id = '${tenant.appId}' and ${where}`);

    test('every registered route has a scope: only the public ones answer without a key, and a key below the scope gets 403 and writes nothing', async () => {
      const routes = registeredRoutes(ctx.app.printRoutes({ commonPrefix: false }));
      const api = routes.filter((route) => !PUBLIC.some((pattern) => pattern.test(route.pattern)));
      assert.ok(api.length >= 30, `only ${api.length} API routes found in:\n${ctx.app.printRoutes({ commonPrefix: false })}`);
      for (const { method, path } of api) {
        const res = await send(ctx.app, method as 'GET', path, {});
        assert.equal(res.statusCode, 401, `${method} ${path} answers without a key`);
      }
      const before = await tablesText(ctx);
      let refused = 0;
      for (const { method, path } of api) {
        const needed = expectedScope(method, path);
        for (const granted of ['read', 'write'] as const) {
          if (scopeAllows(granted, needed)) continue;
          const res = await send(ctx.app, method as 'GET', path, as(granted), method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : {});
          assert.equal(res.statusCode, 403, `${method} ${path} with a ${granted} key: ${res.body}`);
          if (method !== 'HEAD') assert.deepEqual(res.json(), forbiddenBody(granted, needed), `${method} ${path}`);
          refused++;
        }
      }
      assert.ok(refused >= 20, `only ${refused} refusals`);
      assert.equal(await tablesText(ctx), before, 'a refused request wrote something');
      for (const { method, path } of api) {
        const needed = expectedScope(method, path);
        for (const granted of ['read', 'write', 'admin'] as const) {
          if (!scopeAllows(granted, needed)) continue;
          const res = await send(ctx.app, method as 'GET', path, as(granted), method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : {});
          assert.ok(![401, 403].includes(res.statusCode), `${method} ${path} with a ${granted} key: ${res.statusCode} ${res.body}`);
        }
      }
    });

    test('read: every GET answers; writes to profiles, identifiers, purchases and batches are 403 and nothing is written', async () => {
      const id = cuid();
      const owner = as('admin', { 'adapty-customer-user-id': id });
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, owner, { first_name: 'Ada' })).statusCode, 200);
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, owner, { appsflyer_id: `af-${id}` })).statusCode, 200);
      const reader = as('read', { 'adapty-customer-user-id': id });
      for (const url of [PROFILE_PATH, IDENTIFIERS_PATH, LOOKUP, `/crosswalk/v1/integration-identifiers/history/`, ENDPOINTS, DELIVERIES, `${REVENUE}products/`, `${REVENUE}settings/`]) {
        const res = await send(ctx.app, 'GET', url, reader);
        assert.equal(res.statusCode, 200, `GET ${url}: ${res.body}`);
      }
      const before = await tablesText(ctx);
      const fresh = as('read', { 'adapty-customer-user-id': cuid() });
      const writes: [string, string, Record<string, string>, unknown][] = [
        ['POST', PROFILE_PATH, fresh, { first_name: 'Intruder' }],
        ['PATCH', PROFILE_PATH, reader, { first_name: 'Intruder' }],
        ['DELETE', PROFILE_PATH, reader, undefined],
        ['POST', IDENTIFIERS_PATH, reader, { appsflyer_id: 'intruder' }],
        ['POST', TRANSACTION_PATH, reader, subscriptionBody(`tx-${id}`)],
        ['POST', BATCH, as('read'), { items: [{ customer_user_id: id, identifiers: { branch_id: 'intruder' } }], create_missing: true }],
      ];
      for (const [method, url, headers, body] of writes) {
        const res = await send(ctx.app, method as 'POST', url, headers, body);
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
        assert.deepEqual(res.json(), forbiddenBody('read', 'write'), `${method} ${url}`);
      }
      assert.equal(await tablesText(ctx), before);
      const [profile] = await rowsOf('profiles', `customer_user_id = '${id}'`);
      assert.equal(profile?.first_name, 'Ada');
      assert.deepEqual(await rowsOf('transactions', `store_transaction_id = 'tx-${id}'`), []);
    });

    test('write: profiles, identifiers, purchases and batches; webhooks, revenue configuration and the audit trail are 403 and nothing is written', async () => {
      const id = cuid();
      const writer = as('write', { 'adapty-customer-user-id': id });
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, writer, { first_name: 'Grace' })).statusCode, 200);
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, writer, { appsflyer_id: `af-${id}` })).statusCode, 200);
      assert.equal((await send(ctx.app, 'PATCH', PROFILE_PATH, writer, { last_name: 'Hopper' })).statusCode, 200);
      assert.equal((await send(ctx.app, 'POST', TRANSACTION_PATH, writer, subscriptionBody(`tx-${id}`))).statusCode, 200);
      const batch = await send(ctx.app, 'POST', BATCH, as('write'), { items: [{ customer_user_id: id, identifiers: { branch_id: `br-${id}` } }] });
      assert.equal(batch.statusCode, 200, batch.body);
      assert.equal(batch.json().succeeded, 1);
      assert.equal((await rowsOf('transactions', `store_transaction_id = 'tx-${id}'`)).length, 1);
      assert.equal((await rowsOf('integration_identifiers', `value = 'br-${id}'`)).length, 1);

      const endpoint = await send(ctx.app, 'POST', ENDPOINTS, as('admin'), { url: 'http://127.0.0.1:9/scopes' });
      assert.equal(endpoint.statusCode, 201, endpoint.body);
      const endpointId = endpoint.json().data.id as string;
      const before = await tablesText(ctx);
      const auditBefore = await auditRows(ctx, tenant.appId);
      const management: [string, string, unknown][] = [
        ['POST', ENDPOINTS, { url: 'http://127.0.0.1:9/intruder' }],
        ['DELETE', `${ENDPOINTS}${endpointId}/`, undefined],
        ['POST', `${DELIVERIES}1/redeliver/`, undefined],
        ['PUT', `${REVENUE}access-levels/intruder/`, undefined],
        ['DELETE', `${REVENUE}access-levels/premium/`, undefined],
        ['PUT', `${REVENUE}products/intruder/`, { access_level_id: 'premium' }],
        ['DELETE', `${REVENUE}products/intruder/`, undefined],
        ['PUT', `${REVENUE}currency-rates/EUR/`, { usd_per_unit: 2 }],
        ['DELETE', `${REVENUE}currency-rates/EUR/`, undefined],
        ['PUT', `${REVENUE}settings/`, { unknown_access_levels: 'reject' }],
        ['GET', AUDIT, undefined],
      ];
      for (const [method, url, body] of management) {
        const res = await send(ctx.app, method as 'POST', url, as('write'), body);
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
        assert.deepEqual(res.json(), forbiddenBody('write', 'admin'), `${method} ${url}`);
      }
      assert.equal(await tablesText(ctx), before);
      assert.deepEqual(await auditRows(ctx, tenant.appId), auditBefore, 'a refused action left an audit entry');
      assert.equal((await rowsOf('webhook_endpoints', `id = '${endpointId}' and removed_at is null`)).length, 1);
    });

    test('admin: the management routes too, each recorded as made by the key', async () => {
      const admin = as('admin');
      const endpoint = await send(ctx.app, 'POST', ENDPOINTS, admin, { url: 'http://127.0.0.1:9/admin' });
      assert.equal(endpoint.statusCode, 201, endpoint.body);
      for (const [method, url, body, status] of [
        ['PUT', `${REVENUE}access-levels/gold/`, undefined, 200],
        ['PUT', `${REVENUE}products/gold_monthly/`, { access_level_id: 'gold' }, 200],
        ['PUT', `${REVENUE}currency-rates/EUR/`, { usd_per_unit: 1.08 }, 200],
        ['PUT', `${REVENUE}settings/`, { unknown_access_levels: 'reject' }, 200],
        ['DELETE', `${ENDPOINTS}${endpoint.json().data.id}/`, undefined, 204],
        ['GET', AUDIT, undefined, 200],
      ] as const) {
        const res = await send(ctx.app, method, url, admin, body);
        assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
      }
      const mine = (await auditRows(ctx, tenant.appId)).filter((row) => row.actor === keys.admin.id).map((row) => row.action);
      assert.deepEqual(mine.slice(-6), ['webhook_endpoint.add', 'access_level.add', 'product.set', 'currency_rate.set', 'revenue_settings.set', 'webhook_endpoint.remove']);
    });

    test("a key's new scope applies once the key cache forgets the key", async () => {
      const key = await keyOf(ctx, tenant.appId, 'write');
      const headers = { ...key.auth, 'adapty-customer-user-id': cuid() };
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
      const changed = await createServices(ctx.store).apps.setKeyScope(key.id, 'read', 'cli');
      assert.equal(changed?.scope, 'read');
      await sleep(CACHE_TTL_MS + 50);
      const res = await send(ctx.app, 'POST', PROFILE_PATH, headers, {});
      assert.deepEqual(res.json(), forbiddenBody('read', 'write'));
      assert.equal((await send(ctx.app, 'GET', PROFILE_PATH, headers)).statusCode, 200);
      const [entry] = (await auditRows(ctx, tenant.appId)).filter((row) => row.target_id === key.id);
      assert.deepEqual(entry, { actor: 'cli', action: 'key.scope', target_id: key.id, detail: { from: 'write', to: 'read' } });
    });

    test('the OpenAPI document gives every operation its scope, and a 403 where a key can lack it', async () => {
      const document = (await send(ctx.app, 'GET', '/openapi.json', {})).json() as { paths: Record<string, Record<string, { 'x-api-key-scope'?: string; responses: Record<string, unknown> }>> };
      let operations = 0;
      for (const [path, item] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          const needed = expectedScope(method.toUpperCase(), path);
          assert.equal(operation['x-api-key-scope'], needed, `${method} ${path}`);
          assert.equal('403' in operation.responses, needed !== 'read', `${method} ${path}: 403 documented`);
          operations++;
        }
      }
      assert.ok(operations >= 25, `${operations} operations`);
      assert.equal(document.paths[AUDIT]?.get?.['x-api-key-scope'], 'admin');
    });

    test('the key of every other suite (newTenant) is an admin key', async () => {
      const res = await send(ctx.app, 'GET', AUDIT, tenant.auth);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual((await ctx.store.listApiKeys(tenant.appId)).find((key) => key.name === 'test')?.scope, 'admin');
    });

    test('a missing key is still 401 before any scope is looked at', async () => {
      const res = await send(ctx.app, 'GET', AUDIT, {});
      assert.deepEqual(res.json(), envelope(401, 'not_authenticated', ['non_field_errors', 'Authentication credentials were not provided.']));
    });
  });
}

describe('route scopes at registration', () => {
  test('a route without a scope gets its method’s: reading needs read, anything else write', () => {
    assert.equal(defaultScope('GET'), 'read');
    assert.equal(defaultScope('HEAD'), 'read');
    assert.equal(defaultScope(['GET', 'HEAD']), 'read');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) assert.equal(defaultScope(method), 'write');
    assert.equal(defaultScope(['GET', 'POST']), 'write');
  });

  test('a route naming a scope that does not exist fails the start', async () => {
    const app = Fastify();
    routeScopes(app);
    assert.throws(
      () => app.get('/x', { config: { scope: 'root' as KeyScope } }, async () => ({})),
      /route GET \/x names the unknown scope "root"/,
    );
    await app.close();
  });

  test('each route carries its resolved scope in its config', async () => {
    const app = Fastify();
    routeScopes(app);
    const seen: Record<string, unknown> = {};
    app.get('/read', async (request) => (seen.read = request.routeOptions.config.scope));
    app.post('/write', async (request) => (seen.write = request.routeOptions.config.scope));
    app.get('/admin', { config: { scope: 'admin' } }, async (request) => (seen.admin = request.routeOptions.config.scope));
    for (const [method, url] of [['GET', '/read'], ['POST', '/write'], ['GET', '/admin']] as const) await app.inject({ method, url });
    assert.deepEqual(seen, { read: 'read', write: 'write', admin: 'admin' });
    await app.close();
  });
});
