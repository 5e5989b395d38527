import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BUILT_IN_PLACEHOLDERS } from '../src/domain/rules.js';
import { createTestContext, DATABASES, onDatabase, envelope, IDENTIFIERS_PATH, profileOk, send, type Tenant, type TestContext } from './helpers.js';
import { runCliProcess } from './process-helpers.js';

for (const kind of DATABASES) {
  describe(`crosswalk rules (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let url: string;
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
      const config = ctx.database.config;
      url = config.kind === 'sqlite' ? `sqlite:${config.file}` : config.url;
    });
    after(() => ctx.close());
    const cli = (...args: string[]) => runCliProcess(['--database-url', url, ...args, '--app', tenant.appId]);
    const json = async (...args: string[]) => {
      const run = await cli(...args, '--json');
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout);
    };

    test('show prints the defaults: drop placeholders, allow shared values', async () => {
      const shown = await json('rules', 'show');
      assert.equal(shown.app.id, tenant.appId);
      assert.equal(shown.placeholder_mode, 'drop');
      assert.deepEqual(shown.built_in_placeholders, BUILT_IN_PLACEHOLDERS);
      assert.deepEqual(shown.extra_placeholders, []);
      assert.equal(Object.keys(shown.conflict_policies).length, 16);
      assert.ok(Object.values(shown.conflict_policies).every((policy) => policy === 'allow'));
      const table = await cli('rules', 'show');
      assert.match(table.stdout, /placeholder mode: drop/);
      assert.match(table.stdout, /^appsflyer_id +allow$/m);
    });

    test('placeholder mode, extra values and conflict policies set with the CLI take effect on the next request', async () => {
      const headers = { ...tenant.auth, 'adapty-customer-user-id': 'cli-rules' };
      await profileOk(ctx.app, 'POST', headers, {});

      assert.equal((await json('rules', 'placeholder-mode', 'reject')).placeholder_mode, 'reject');
      const refused = await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { appsflyer_id: 'null' });
      assert.deepEqual(refused.json(), envelope(400, 'validation_error', ['appsflyer_id', 'This value is a placeholder, not a real identifier; this app refuses placeholders.']));

      const added = await json('rules', 'placeholder-add', ' NOT-SET ', 'idfa_unavailable');
      assert.deepEqual(added.extra_placeholders, ['not-set', 'idfa_unavailable']);
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { branch_id: 'Not-Set' })).statusCode, 400);
      assert.deepEqual((await json('rules', 'placeholder-remove', 'not-set')).extra_placeholders, ['idfa_unavailable']);
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { branch_id: 'Not-Set' })).statusCode, 200);

      assert.equal((await json('rules', 'placeholder-mode', 'accept')).placeholder_mode, 'accept');
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { appsflyer_id: 'null' })).statusCode, 200);

      const moved = await json('rules', 'conflict', 'appsflyer_id', 'move');
      assert.equal(moved.conflict_policies.appsflyer_id, 'move');
      const all = await json('rules', 'conflict', 'all', 'reject');
      assert.ok(Object.values(all.conflict_policies).every((policy) => policy === 'reject'));
      const second = { ...tenant.auth, 'adapty-customer-user-id': 'cli-rules-2' };
      await profileOk(ctx.app, 'POST', second, {});
      const conflict = await send(ctx.app, 'POST', IDENTIFIERS_PATH, second, { branch_id: 'Not-Set' });
      assert.equal(conflict.statusCode, 409);
      const allowed = await json('rules', 'conflict', 'all', 'allow');
      assert.ok(Object.values(allowed.conflict_policies).every((policy) => policy === 'allow'));
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, second, { branch_id: 'Not-Set' })).statusCode, 200);
    });

    test('mistakes are one clear line and exit code 1, and change nothing', async () => {
      const before = await json('rules', 'show');
      const cases: [string[], string][] = [
        [['rules', 'placeholder-mode', 'ignore'], 'crosswalk: the placeholder mode must be one of drop, reject, accept, got "ignore"\n'],
        [['rules', 'conflict', 'appsflyer', 'move'], /^crosswalk: unknown identifier key "appsflyer"; one of: all, adjust_device_id, /.source],
        [['rules', 'conflict', 'branch_id', 'steal'], 'crosswalk: the conflict policy must be one of allow, reject, move, got "steal"\n'],
        [['rules', 'placeholder-remove', 'never-added'], 'crosswalk: not in the app\'s own list: "never-added" (built-in values cannot be removed; use placeholder-mode accept)\n'],
        [['rules', 'placeholder-add', '  '], 'crosswalk: a placeholder value must not be blank\n'],
      ];
      for (const [args, expected] of cases) {
        const run = await cli(...args);
        assert.equal(run.code, 1, args.join(' '));
        if (expected.startsWith('^')) assert.match(run.stderr, new RegExp(expected));
        else assert.equal(run.stderr, expected);
      }
      assert.deepEqual(await json('rules', 'show'), before);
    });
  });
}
