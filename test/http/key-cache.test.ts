import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { generateApiKey } from '../../src/domain/api-keys.js';
import { createTestContext, DATABASES, onDatabase, PROFILE_PATH, send, type TestContext } from '../helpers.js';

// Long enough that a loaded machine answers the first requests well within it.
const TTL_MS = 1500;

for (const kind of DATABASES) {
  describe(`API key cache (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    before(async () => {
      ctx = await createTestContext(kind, { API_KEY_CACHE_TTL_MS: String(TTL_MS) });
    });
    after(() => ctx?.close());

    test('a revoked key keeps working until the cache forgets it, and no longer', async () => {
      const tenant = await ctx.newTenant();
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'cached' };
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
      const [key] = await ctx.store.listApiKeys(tenant.appId);
      await ctx.store.revokeApiKey(key!.id);
      // Within the documented bound the cached answer may still be used...
      assert.equal((await send(ctx.app, 'GET', PROFILE_PATH, headers)).statusCode, 200);
      await sleep(TTL_MS + 100);
      // ...and after it, never.
      assert.equal((await send(ctx.app, 'GET', PROFILE_PATH, headers)).statusCode, 401);
    });

    test('a key created after a failed attempt works once the short negative entry expires', async () => {
      const tenant = await ctx.newTenant();
      const secret = generateApiKey();
      const headers = { authorization: `Api-Key ${secret}`, 'adapty-customer-user-id': 'late' };
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 401);
      await ctx.store.addApiKey(tenant.appId, secret, 'late');
      await sleep(TTL_MS / 10 + 50);
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
    });
  });
}
