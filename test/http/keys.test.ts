import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiKeyHint, generateApiKey, parseKeyLifetime, rehint } from '../../src/domain/api-keys.js';
import { bootstrap } from '../../src/bootstrap.js';
import { createServices } from '../../src/services/index.js';
import { createTestContext, DATABASES, envelope, onDatabase, PROFILE_PATH, queryRows, send, type Tenant, type TestContext } from '../helpers.js';
import { keyOf } from '../keys-support.js';

const UNAUTHORIZED = envelope(401, 'unauthorized', ['non_field_errors', 'Invalid API key']);

/** Waits until `check` answers something other than undefined, or fails after `ms`. */
async function eventually<T>(check: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) assert.fail('gave up waiting');
    await sleep(20);
  }
}

for (const kind of DATABASES) {
  describe(`key expiry, last use and hints (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let counter = 0;

    before(async () => {
      // The default cache lifetime (5 s): an expiring key must not outlive its expiry in the cache.
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    const address = () => ({ 'adapty-customer-user-id': `keys-${kind}-${++counter}` });
    const lastUsedOf = async (keyId: string) => {
      const [row] = await queryRows(ctx.database, `select last_used_at from api_keys where id = '${keyId}'`);
      return row!.last_used_at === null ? null : Number(row!.last_used_at);
    };

    test('a key whose expiry has passed is answered exactly like an unknown or a revoked one', async () => {
      const expired = await keyOf(ctx, tenant.appId, 'admin', { expiresAt: Date.now() - 1000 });
      const revoked = await keyOf(ctx, tenant.appId, 'admin');
      await ctx.store.revokeApiKey(revoked.id);
      const headers = address();
      for (const auth of [expired.auth, revoked.auth, { authorization: `Api-Key ${generateApiKey()}` }]) {
        for (const method of ['GET', 'POST'] as const) {
          const res = await send(ctx.app, method, PROFILE_PATH, { ...auth, ...headers }, method === 'POST' ? {} : undefined);
          assert.equal(res.statusCode, 401);
          assert.deepEqual(res.json(), UNAUTHORIZED);
          assert.deepEqual(Object.keys(res.headers).filter((name) => name === 'retry-after'), []);
        }
      }
      assert.deepEqual(await queryRows(ctx.database, `select id from profiles where customer_user_id = '${headers['adapty-customer-user-id']}'`), []);
    });

    test('a key works until its expiry and not a moment after, though the key cache still remembers it', async () => {
      const key = await keyOf(ctx, tenant.appId, 'write', { expiresAt: Date.now() + 600 });
      const headers = { ...key.auth, ...address() };
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
      assert.equal((await send(ctx.app, 'GET', PROFILE_PATH, headers)).statusCode, 200);
      await sleep(700);
      const res = await send(ctx.app, 'GET', PROFILE_PATH, headers);
      assert.deepEqual(res.json(), UNAUTHORIZED);
      assert.equal(res.statusCode, 401);
    });

    test('last use: written once the first request is answered, then not again within a minute, per key', async () => {
      const writes: string[][] = [];
      const original = ctx.store.touchApiKeys;
      ctx.store.touchApiKeys = function (this: typeof ctx.store, keyIds, at) {
        writes.push([...keyIds]);
        return original.call(this, keyIds, at);
      };
      try {
        const first = await keyOf(ctx, tenant.appId, 'read');
        const second = await keyOf(ctx, tenant.appId, 'read');
        assert.equal(await lastUsedOf(first.id), null);
        const before = Date.now();
        const headers = address();
        assert.equal((await send(ctx.app, 'GET', PROFILE_PATH, { ...first.auth, ...headers })).statusCode, 404);
        const used = await eventually(async () => (await lastUsedOf(first.id)) ?? undefined);
        assert.ok(used >= before && used <= Date.now(), `last_used_at ${used} is not the time of the request`);
        for (let i = 0; i < 30; i++) await send(ctx.app, 'GET', PROFILE_PATH, { ...first.auth, ...headers });
        await sleep(50);
        assert.equal(await lastUsedOf(first.id), used, 'written again within the minute');
        assert.deepEqual(writes.filter((ids) => ids.includes(first.id)), [[first.id]], 'one write for 31 requests');
        assert.equal(await lastUsedOf(second.id), null);
        await send(ctx.app, 'GET', PROFILE_PATH, { ...second.auth, ...headers });
        await eventually(async () => (await lastUsedOf(second.id)) ?? undefined);
        const listed = (await ctx.store.listApiKeys(tenant.appId)).find((key) => key.id === first.id);
        assert.equal(listed?.lastUsedAt, used);
      } finally {
        ctx.store.touchApiKeys = original;
      }
    });

    test('a failed last-use write is logged, never answered: the request it follows still succeeds', async () => {
      const original = ctx.store.touchApiKeys;
      let attempts = 0;
      ctx.store.touchApiKeys = async () => {
        attempts++;
        throw new Error('disk full');
      };
      try {
        const key = await keyOf(ctx, tenant.appId, 'write');
        const res = await send(ctx.app, 'POST', PROFILE_PATH, { ...key.auth, ...address() }, {});
        assert.equal(res.statusCode, 200, res.body);
        await eventually(async () => (attempts > 0 ? true : undefined));
        assert.equal((await send(ctx.app, 'GET', PROFILE_PATH, { ...key.auth, ...address() })).statusCode, 404);
        assert.equal(await lastUsedOf(key.id), null);
      } finally {
        ctx.store.touchApiKeys = original;
      }
    });

    test("hints: an operator's own key shows four characters, a generated one its public prefix", async () => {
      const services = createServices(ctx.store);
      const chosen = 'Tr0ub4dor-and-3-horses.x1';
      const { key: operator } = await services.apps.addKey(tenant.appId, chosen, 'operator', 'cli');
      assert.equal(operator.hint, 'Tr0u…');
      const generated = generateApiKey();
      const { key: made } = await services.apps.addKey(tenant.appId, generated, 'generated', 'cli', { generated: true });
      assert.equal(made.hint, `${generated.split('.')[0]}.…`);
      // A key in the generated shape that the operator chose is still the operator's secret.
      const lookalike = generateApiKey();
      assert.equal((await services.apps.addKey(tenant.appId, lookalike, 'lookalike', 'cli')).key.hint, `${lookalike.slice(0, 4)}…`);
      const stored = await queryRows(ctx.database, `select hint from api_keys where app_id = '${tenant.appId}'`);
      for (const row of stored) assert.ok(!String(row.hint).includes('Tr0ub4dor'), `hint ${String(row.hint)}`);
    });

    test('the start-up warnings name CROSSWALK_API_KEY by its hint only', async () => {
      const database = ctx.store;
      const services = createServices(database);
      const chosen = `Tr0ub4dor-and-3-horses.${kind}-${Date.now()}`;
      const first = await bootstrap(services.apps, chosen);
      assert.equal(first.warning, undefined);
      const [key] = (await services.apps.listKeys()).filter((k) => k.name === 'CROSSWALK_API_KEY');
      assert.equal(key?.scope, 'admin');
      await services.apps.revokeKey(key!.id, 'cli');
      const second = await bootstrap(services.apps, chosen);
      assert.equal(second.warning, 'CROSSWALK_API_KEY (Tr0u…) is revoked; it is not accepted');
    });
  });
}

describe('key lifetimes and hints, as written', () => {
  test('--expires-in takes minutes, hours or days', () => {
    assert.deepEqual(parseKeyLifetime('90m'), { ms: 90 * 60_000 });
    assert.deepEqual(parseKeyLifetime('12h'), { ms: 12 * 3_600_000 });
    assert.deepEqual(parseKeyLifetime('30d'), { ms: 30 * 86_400_000 });
    for (const bad of ['', '30', 'd', '1.5d', '-1d', '30 days', '1w', '10s', '0d', '3651d', '1e3d']) {
      assert.ok('problem' in parseKeyLifetime(bad), bad);
    }
    assert.deepEqual(parseKeyLifetime('1w'), { problem: 'expected a whole number followed by m (minutes), h (hours) or d (days), e.g. 90m, 12h or 30d, got "1w"' });
  });

  test('hints stored before keys had an origin are cut to what may be shown', () => {
    assert.equal(apiKeyHint('Tr0ub4dor-and-3-horses.x1', false), 'Tr0u…');
    assert.equal(rehint('Tr0ub4dor-and-3-horses.…', 'backend'), 'Tr0u…');
    assert.equal(rehint('my-o…', 'backend'), 'my-o…');
    assert.equal(rehint('secret_live_AbCdEfGh.…', 'created with the CLI'), 'secret_live_AbCdEfGh.…');
    assert.equal(rehint('secret_live_AbCdEfGh.…', 'CROSSWALK_API_KEY'), 'secr…');
  });
});
