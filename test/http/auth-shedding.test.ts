import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { generateApiKey } from '../../src/domain/api-keys.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { KeyCache } from '../../src/http/key-cache.js';
import { addressGroup, AuthFailureLimiter } from '../../src/http/rate-limit.js';
import { createServices } from '../../src/services/index.js';
import { createTestContext, DATABASES, envelope, onDatabase, PROFILE_PATH, type Tenant, type TestContext } from '../helpers.js';
import { countKeyLookups } from '../keys-support.js';

const UNAUTHORIZED = envelope(401, 'unauthorized', ['non_field_errors', 'Invalid API key']);
const NOT_AUTHENTICATED = envelope(401, 'not_authenticated', ['non_field_errors', 'Authentication credentials were not provided.']);
const shed = (seconds: string) => envelope(429, 'rate_limited', ['non_field_errors', `Too many failed authentications from this address; retry in ${seconds} s.`]);
/** The default of AUTH_FAILURES_PER_MINUTE. */
const THRESHOLD = 60;

for (const kind of DATABASES) {
  describe(`failed authentications are shed per address, before any key lookup (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let address = 0;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
    });
    after(() => ctx.close());

    /** A client address of its own for each test, so that their failures do not add up. */
    const newAddress = () => `198.51.100.${++address}`;
    const get = (remoteAddress: string, headers: Record<string, string>) =>
      ctx.app.inject({ method: 'GET', url: PROFILE_PATH, remoteAddress, headers: { 'adapty-customer-user-id': 'shed', ...headers } });
    const badKey = () => ({ authorization: `Api-Key ${generateApiKey()}` });

    test(`200 bad keys from one address: 401 for the first ${THRESHOLD}, then 429 with Retry-After and no key lookup`, async () => {
      const from = newAddress();
      const lookups = countKeyLookups(ctx);
      const started = Date.now();
      const answers: LightMyRequestResponse[] = [];
      try {
        for (let i = 0; i < 200; i++) answers.push(await get(from, badKey()));
      } finally {
        lookups.stop();
      }
      const seconds = Math.ceil((Date.now() - started) / 1000);
      for (const res of answers.slice(0, THRESHOLD)) assert.deepEqual(res.json(), UNAUTHORIZED);
      const rest = answers.slice(THRESHOLD);
      const refused = rest.filter((res) => res.statusCode === 429);
      const admitted = rest.filter((res) => res.statusCode === 401);
      // The bucket refills by one a second: the run may earn a failure or two more, never more.
      assert.ok(admitted.length <= seconds, `${admitted.length} more failures admitted in ${seconds} s`);
      assert.equal(refused.length + admitted.length, rest.length);
      for (const res of refused) {
        assert.equal(res.headers['retry-after'], '1');
        assert.deepEqual(res.json(), shed('1'));
      }
      assert.equal(lookups.count(), THRESHOLD + admitted.length, 'a shed request looked its key up');
      // Another address is not affected.
      assert.deepEqual((await get(newAddress(), badKey())).json(), UNAUTHORIZED);
    });

    test('missing and malformed credentials count as failures too, and are shed the same way', async () => {
      const from = newAddress();
      for (let i = 0; i < THRESHOLD; i++) assert.deepEqual((await get(from, i % 2 ? {} : { authorization: 'Bearer x' })).json(), NOT_AUTHENTICATED);
      const res = await get(from, {});
      assert.equal(res.statusCode, 429);
      assert.equal(res.headers['retry-after'], '1');
      assert.deepEqual(res.json(), shed('1'));
    });

    test('a shed address may fail again once Retry-After has passed', async () => {
      const from = newAddress();
      for (let i = 0; i < THRESHOLD; i++) await get(from, badKey());
      const refused = await get(from, badKey());
      assert.equal(refused.statusCode, 429);
      await sleep(Number(refused.headers['retry-after']) * 1000 + 50);
      assert.deepEqual((await get(from, badKey())).json(), UNAUTHORIZED);
      assert.equal((await get(from, badKey())).statusCode, 429);
    });

    test('a valid key this process knows is served from a shed address without a lookup; one it never saw waits', async () => {
      const from = newAddress();
      const known = { ...tenant.auth, 'adapty-customer-user-id': 'known' };
      assert.equal((await ctx.app.inject({ method: 'POST', url: PROFILE_PATH, remoteAddress: from, headers: known, payload: {} })).statusCode, 200);
      for (let i = 0; i < THRESHOLD; i++) await get(from, badKey());
      assert.equal((await get(from, badKey())).statusCode, 429);
      const lookups = countKeyLookups(ctx);
      try {
        const res = await get(from, known);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(lookups.count(), 0);
      } finally {
        lookups.stop();
      }
      const stranger = await ctx.newTenant();
      const res = await get(from, stranger.auth);
      assert.equal(res.statusCode, 429, res.body);
      assert.equal((await get(newAddress(), stranger.auth)).statusCode, 404);
    });
  });

  describe(`the key cache under a flood of unknown keys (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    before(async () => {
      // No limit on failures here: every unknown key reaches the cache and the database. A cache
      // lifetime longer than the flood takes, so that only eviction could make a valid key go.
      ctx = await createTestContext(kind, { AUTH_FAILURES_PER_MINUTE: '0', API_KEY_CACHE_TTL_MS: '600000' });
    });
    after(() => ctx.close());

    test('1,200 distinct bad keys over HTTP leave a valid key cached: no lookup for it afterwards', async () => {
      const tenant = await ctx.newTenant();
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'flood' };
      assert.equal((await ctx.app.inject({ method: 'POST', url: PROFILE_PATH, headers, payload: {} })).statusCode, 200);
      const lookups = countKeyLookups(ctx);
      try {
        for (let i = 0; i < 1200; i++) {
          const res = await ctx.app.inject({ method: 'GET', url: PROFILE_PATH, headers: { authorization: `Api-Key ${generateApiKey()}` } });
          assert.equal(res.statusCode, 401);
        }
        assert.equal(lookups.count(), 1200);
        assert.equal((await ctx.app.inject({ method: 'GET', url: PROFILE_PATH, headers })).statusCode, 200);
        assert.equal(lookups.count(), 1200, 'the valid key was looked up again');
      } finally {
        lookups.stop();
      }
    });

    test('with room for 10 keys, 100 unknown keys push out no valid one; the unknown ones push out each other', async () => {
      const apps = createServices(ctx.store).apps;
      const cache = new KeyCache(apps, 60_000, 10, 5);
      const tenants = await Promise.all(Array.from({ length: 3 }, () => ctx.newTenant()));
      const lookups = countKeyLookups(ctx);
      try {
        for (const tenant of tenants) assert.equal((await cache.owner(tenant.key))?.appId, tenant.appId);
        const bad = Array.from({ length: 100 }, () => generateApiKey());
        for (const key of bad) assert.equal(await cache.owner(key), null);
        assert.equal(lookups.count(), 103);
        for (const tenant of tenants) assert.equal((await cache.owner(tenant.key))?.appId, tenant.appId);
        assert.equal(lookups.count(), 103, 'a valid key was pushed out');
        // The last five unknown keys are remembered; the first is not any more.
        for (const key of bad.slice(-5)) assert.equal(await cache.owner(key), null);
        assert.equal(lookups.count(), 103);
        await cache.owner(bad[0]!);
        assert.equal(lookups.count(), 104);
      } finally {
        lookups.stop();
      }
    });
  });
}

for (const kind of DATABASES) {
  describe(`behind a proxy: failures are counted by the client address TRUST_PROXY believes (${kind})`, onDatabase(kind), () => {
    let trusting: TestContext;
    let plain: TestContext;
    before(async () => {
      trusting = await createTestContext(kind, { TRUST_PROXY: '10.0.0.0/8', AUTH_FAILURES_PER_MINUTE: '3' });
      plain = await createTestContext(kind, { AUTH_FAILURES_PER_MINUTE: '3' });
    });
    after(async () => {
      await trusting?.close();
      await plain?.close();
    });

    const viaProxy = (ctx: TestContext, client: string) =>
      ctx.app.inject({ method: 'GET', url: PROFILE_PATH, remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': client, authorization: `Api-Key ${generateApiKey()}` } });

    test('a trusted proxy: each client behind it has its own count', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await viaProxy(trusting, '203.0.113.9')).statusCode, 401);
      assert.equal((await viaProxy(trusting, '203.0.113.9')).statusCode, 429);
      assert.equal((await viaProxy(trusting, '203.0.113.10')).statusCode, 401);
    });

    test('no TRUST_PROXY: X-Forwarded-For is not believed, and the proxy is the client', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await viaProxy(plain, `203.0.113.${i}`)).statusCode, 401);
      assert.equal((await viaProxy(plain, '203.0.113.99')).statusCode, 429);
    });
  });
}

describe('TRUST_PROXY, as written', () => {
  test('true or false, a number of hops, or proxy addresses and networks; anything else stops the start', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8' }).trustProxy, ['10.0.0.0/8', '192.168.1.7/32', 'fd00::/8']);
    assert.throws(() => loadConfig({ TRUST_PROXY: 'the load balancer' }), (error: Error) => error instanceof ConfigError && error.message.startsWith('TRUST_PROXY: '));
    assert.throws(() => loadConfig({ TRUST_PROXY: '101' }), /TRUST_PROXY must be between 1 and 100, got 101/);
    assert.equal(loadConfig({}).authFailuresPerMinute, 60);
    assert.throws(() => loadConfig({ AUTH_FAILURES_PER_MINUTE: 'lots' }), /AUTH_FAILURES_PER_MINUTE must be a whole number, got "lots"/);
  });
});

describe('client addresses, as failures are counted', () => {
  test('IPv4 by address, IPv6 by its /64 network, IPv4 mapped into IPv6 as IPv4', () => {
    assert.equal(addressGroup('203.0.113.7'), '203.0.113.7');
    assert.equal(addressGroup('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressGroup('2001:db8:0:1::1'), '2001:db8:0:1::/64');
    assert.equal(addressGroup('2001:DB8:0:1:ffff:ffff:ffff:ffff'), '2001:db8:0:1::/64');
    assert.equal(addressGroup('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressGroup('::1'), '0:0:0:0::/64');
    assert.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
  });

  test('the limiter counts per group: two addresses of one /64 share their failures', () => {
    const limiter = new AuthFailureLimiter(2);
    const now = 1_000_000;
    limiter.failed('2001:db8:0:1::a', now);
    assert.equal(limiter.blocked('2001:db8:0:1::b', now), null);
    limiter.failed('2001:db8:0:1::b', now);
    assert.equal(limiter.blocked('2001:db8:0:1::c', now), 30);
    assert.equal(limiter.blocked('2001:db8:0:2::c', now), null);
    // Two a minute: one comes back after 30 seconds.
    assert.equal(limiter.blocked('2001:db8:0:1::a', now + 30_000), null);
  });
});
