import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { EVENT_TYPES as CONSOLE_EVENT_TYPES, IDENTIFIER_KEYS as CONSOLE_IDENTIFIER_KEYS } from '../console/src/wire.js';
import { collectStats } from '../src/cli/stats.js';
import { EVENT_TYPES } from '../src/domain/events.js';
import { IDENTIFIER_KEYS } from '../src/domain/identifiers.js';
import { registerErrorHandling } from '../src/http/error-handler.js';
import { consoleRoutes } from '../src/http/routes/console.js';
import { createServices } from '../src/services/index.js';
import {
  createTestContext,
  DATABASES,
  envelope,
  IDENTIFIERS_PATH,
  onDatabase,
  PROFILE_PATH,
  send,
  subscriptionBody,
  type Tenant,
  type TestContext,
  TRANSACTION_PATH,
} from './helpers.js';

/** The routes the console calls beyond the existing API: deliveries by profile, the app's counts, the key's scope. */

const DELIVERIES = '/crosswalk/v1/webhooks/deliveries/';
const ENDPOINTS = '/crosswalk/v1/webhooks/endpoints/';
const STATS = '/crosswalk/v1/stats/';
const KEY = '/crosswalk/v1/key/';
const NEEDS_ADMIN = (scope: string) =>
  envelope(403, 'forbidden', ['non_field_errors', `This API key has the ${scope} scope; this operation needs the admin scope.`]);

for (const kind of DATABASES) {
  describe(`routes of the console (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let a: Tenant;
    let b: Tenant;
    before(async () => {
      ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      a = await ctx.newTenant();
      b = await ctx.newTenant();
    });
    after(() => ctx.close());

    const ok = async (tenant: Tenant, method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await send(ctx.app, method, url, { ...tenant.auth, ...headers }, body);
      assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
      return res.body === '' ? null : res.json();
    };
    const list = async (tenant: Tenant, query: string) => (await ok(tenant, 'GET', `${DELIVERIES}${query}`)) as { data: { id: number; profile_id: string; endpoint_id: string; event_type: string; status: string }[]; next_cursor: string | null };
    const keyOf = async (tenant: Tenant, scope: 'read' | 'write' | 'admin') => {
      const secret = `${scope}-key-of-${tenant.appId}`;
      const { key } = await ctx.store.addApiKey(tenant.appId, secret, `${scope} key`, { scope });
      return { id: key.id, auth: { authorization: `Api-Key ${secret}` } };
    };

    test('deliveries filtered by profile_id: only that profile’s, newest first, with every other filter and the cursor', async () => {
      const all = (await ok(a, 'POST', ENDPOINTS, { url: 'http://127.0.0.1:9/all' })).data;
      const deletes = (await ok(a, 'POST', ENDPOINTS, { url: 'http://127.0.0.1:9/deletes', event_types: ['profile.deleted'] })).data;
      const first = (await ok(a, 'POST', PROFILE_PATH, {}, { 'adapty-customer-user-id': 'first' })).data.profile_id as string;
      const second = (await ok(a, 'POST', PROFILE_PATH, {}, { 'adapty-customer-user-id': 'second' })).data.profile_id as string;
      await ok(a, 'POST', IDENTIFIERS_PATH, { appsflyer_id: 'af-first' }, { 'adapty-customer-user-id': 'first' });
      await ok(a, 'POST', IDENTIFIERS_PATH, { appsflyer_id: 'af-second' }, { 'adapty-customer-user-id': 'second' });

      const mine = await list(a, `?profile_id=${first}`);
      assert.deepEqual(mine.data.map((d) => d.event_type), ['integration_identifiers.updated', 'profile.created']);
      assert.ok(mine.data.every((d) => d.profile_id === first && d.endpoint_id === all.id));
      assert.equal(mine.next_cursor, null);
      const everything = await list(a, '?limit=100');
      assert.deepEqual(
        mine.data.map((d) => d.id),
        everything.data.filter((d) => d.profile_id === first).map((d) => d.id),
      );
      assert.deepEqual((await list(a, `?profile_id=${first.toUpperCase()}`)).data, mine.data);

      // Page by page.
      const page1 = await list(a, `?profile_id=${first}&limit=1`);
      assert.deepEqual(page1.data.map((d) => d.id), [mine.data[0]!.id]);
      assert.equal(page1.next_cursor, String(mine.data[0]!.id));
      const page2 = await list(a, `?profile_id=${first}&limit=1&cursor=${page1.next_cursor}`);
      assert.deepEqual(page2.data.map((d) => d.id), [mine.data[1]!.id]);
      assert.equal(page2.next_cursor, null);

      // With the endpoint and the status.
      assert.deepEqual((await list(a, `?profile_id=${first}&endpoint_id=${deletes.id}`)).data, []);
      await ok(a, 'DELETE', PROFILE_PATH, undefined, { 'adapty-customer-user-id': 'first' });
      const deleted = await list(a, `?profile_id=${first}&endpoint_id=${deletes.id}`);
      assert.deepEqual(deleted.data.map((d) => [d.event_type, d.profile_id]), [['profile.deleted', first]]);
      // With a status: exactly the app's deliveries of that profile and status.
      const now = (await list(a, '?limit=100')).data;
      for (const status of ['pending', 'cancelled', 'succeeded', 'failed']) {
        const expected = now.filter((d) => d.profile_id === first && d.status === status).map((d) => d.id);
        assert.deepEqual((await list(a, `?profile_id=${first}&status=${status}`)).data.map((d) => d.id), expected, status);
      }
      assert.ok(now.some((d) => d.profile_id === first && d.status === 'pending'));
      assert.equal((await list(a, `?profile_id=${second}`)).data.length, 2);

      // A removed endpoint's deliveries are still listed (cancelled).
      await ok(a, 'DELETE', `${ENDPOINTS}${all.id}/`);
      const afterRemoval = await list(a, `?profile_id=${second}`);
      assert.deepEqual(afterRemoval.data.map((d) => d.status), ['cancelled', 'cancelled']);

      // Nobody's profile, and another app's: nothing.
      assert.deepEqual(await list(a, '?profile_id=00000000-0000-4000-8000-000000000000'), { data: [], next_cursor: null });
      assert.deepEqual(await list(b, `?profile_id=${second}`), { data: [], next_cursor: null });
    });

    test('a profile_id that is not a UUID, or given twice, is 400 naming it', async () => {
      for (const [query, message] of [
        ['?profile_id=', 'Must be a profile id (a UUID).'],
        ['?profile_id=user-42', 'Must be a profile id (a UUID).'],
        ['?profile_id=%00', 'Must be a profile id (a UUID).'],
        ['?profile_id=00000000-0000-4000-8000-000000000000&profile_id=00000000-0000-4000-8000-000000000001', 'Give this parameter once.'],
      ]) {
        const res = await send(ctx.app, 'GET', `${DELIVERIES}${query}`, a.auth);
        assert.equal(res.statusCode, 400, query);
        assert.deepEqual(res.json(), envelope(400, 'validation_error', ['profile_id', message!]), query);
      }
    });

    test('GET /crosswalk/v1/stats/ answers what `crosswalk stats` counts, for admin keys only', async () => {
      const tenant = await ctx.newTenant();
      const reader = await keyOf(tenant, 'read');
      const writer = await keyOf(tenant, 'write');
      await ok(tenant, 'POST', PROFILE_PATH, {}, { 'adapty-customer-user-id': 'paying' });
      await ok(tenant, 'POST', PROFILE_PATH, {}, { 'adapty-customer-user-id': 'idle' });
      await ok(tenant, 'POST', IDENTIFIERS_PATH, { appsflyer_id: 'af-1', amplitude_user_id: 'amp-1' }, { 'adapty-customer-user-id': 'paying' });
      await ok(tenant, 'POST', IDENTIFIERS_PATH, { appsflyer_id: 'af-2' }, { 'adapty-customer-user-id': 'idle' });
      await ok(tenant, 'POST', TRANSACTION_PATH, subscriptionBody('2000000000000001'), { 'adapty-customer-user-id': 'paying' });

      const { data } = await ok(tenant, 'GET', STATS);
      const identifiers = Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, 0]));
      Object.assign(identifiers, { appsflyer_id: 2, amplitude_user_id: 1 });
      assert.deepEqual({ ...data, database: { ...data.database, bytes: 0 } }, {
        app: { id: tenant.appId, name: (await ctx.store.findApp(tenant.appId))!.name },
        profiles: 2,
        identifiers,
        api_keys: { active: 3, revoked: 0 },
        revenue: {
          transactions: [{ store: 'app_store', environment: 'Production', count: 1, refunded: 0, revenue_usd: 9.99 }],
          grants: 0,
          revenue_usd: 9.99,
        },
        database: { dialect: kind, bytes: 0 },
      });
      assert.ok(data.database.bytes > 0);

      // The same figures as the CLI's report, from the same services.
      const services = createServices(ctx.store);
      const report = await collectStats(services.importExport, services.revenue, (await ctx.store.findApp(tenant.appId))!);
      assert.equal(data.profiles, report.profiles);
      assert.deepEqual(data.identifiers, report.identifiers);
      assert.deepEqual(data.api_keys, report.apiKeys);
      assert.equal(data.revenue.revenue_usd, report.revenue.revenueUsd);
      assert.equal(data.revenue.grants, report.revenue.grants);
      // Where the database lives is not said over HTTP.
      assert.ok(!JSON.stringify(data).includes(kind === 'sqlite' ? path.basename(String((report.database as { file?: string }).file)) : 'search_path'));

      for (const [key, scope] of [[reader, 'read'], [writer, 'write']] as const) {
        const refused = await send(ctx.app, 'GET', STATS, key.auth);
        assert.equal(refused.statusCode, 403);
        assert.deepEqual(refused.json(), NEEDS_ADMIN(scope));
      }
      const anonymous = await send(ctx.app, 'GET', STATS, {});
      assert.deepEqual(anonymous.json(), envelope(401, 'not_authenticated', ['non_field_errors', 'Authentication credentials were not provided.']));
      // Another app's counts are its own.
      const other = (await ok(b, 'GET', STATS)).data;
      assert.equal(other.app.id, b.appId);
      assert.notEqual(other.profiles, data.profiles);
    });

    test('GET /crosswalk/v1/key/ names the app, the key and its scope, for any key', async () => {
      const tenant = await ctx.newTenant();
      for (const scope of ['read', 'write', 'admin'] as const) {
        const key = await keyOf(tenant, scope);
        const res = await send(ctx.app, 'GET', KEY, key.auth);
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), { app_id: tenant.appId, key_id: key.id, scope });
      }
      const unknown = await send(ctx.app, 'GET', KEY, { authorization: 'Api-Key nobody-has-this-key-0123' });
      assert.deepEqual(unknown.json(), envelope(401, 'unauthorized', ['non_field_errors', 'Invalid API key']));
      const none = await send(ctx.app, 'GET', KEY, {});
      assert.deepEqual(none.json(), envelope(401, 'not_authenticated', ['non_field_errors', 'Authentication credentials were not provided.']));
      const posted = await send(ctx.app, 'POST', KEY, tenant.auth, {});
      assert.equal(posted.statusCode, 405);
    });
  });
}

describe('the console’s files', () => {
  test('before the console is built, /console/ says so in the envelope (503), never a 500', async () => {
    const app = Fastify({ logger: false });
    registerErrorHandling(app);
    consoleRoutes(app, path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-console-')), 'missing'));
    const res = await app.inject({ method: 'GET', url: '/console/' });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), envelope(503, 'service_unavailable', ['non_field_errors', 'The console is not built: run npm run build, then start the server again.']));
    assert.ok(res.headers['content-security-policy']);
    await app.close();
  });

  test('the console’s lists of identifier keys and event types are the server’s', () => {
    assert.deepEqual([...CONSOLE_IDENTIFIER_KEYS], [...IDENTIFIER_KEYS]);
    assert.deepEqual([...CONSOLE_EVENT_TYPES], [...EVENT_TYPES]);
  });
});
