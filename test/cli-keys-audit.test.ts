import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServices } from '../src/services/index.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import { cliOn, urlOf } from './cli-helpers.js';
import { createTestDatabase, DATABASES, onDatabase, type TestDatabase } from './helpers.js';
import { runCliProcess } from './process-helpers.js';

const DAY_MS = 86_400_000;
const OPERATOR_KEY = 'Tr0ub4dor-and-3-horses.x1';

interface ListedKey {
  id: string;
  name: string;
  hint: string;
  scope: string;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

for (const kind of DATABASES) {
  describe(`crosswalk keys and crosswalk audit (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let appId: string;
    before(async () => {
      database = await createTestDatabase(kind);
      const created = await cliOn(database, 'apps', 'create', 'audited', '--json');
      assert.equal(created.code, 0, created.stderr);
      appId = JSON.parse(created.stdout).id;
      store = KyselyStore.open(database.config);
    });
    after(async () => {
      await store?.close();
      await database.drop();
    });

    const ok = async (...args: string[]) => {
      const run = await runCliProcess(['--database-url', urlOf(database), ...args], { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      return run.stdout;
    };
    const fails = async (expected: string, ...args: string[]) => {
      const run = await cliOn(database, ...args);
      assert.equal(run.code, 1, args.join(' '));
      assert.equal(run.stderr, `crosswalk: ${expected}\n`);
    };
    const listed = async () => JSON.parse(await ok('keys', 'list', '--json')) as ListedKey[];

    test('keys create: --scopes and --expires-in, with clear errors for bad values', async () => {
      await fails('--scopes must be one of read, write, admin, got "root"', 'keys', 'create', '--scopes', 'root');
      await fails('--expires-in: expected a whole number followed by m (minutes), h (hours) or d (days), e.g. 90m, 12h or 30d, got "1w"', 'keys', 'create', '--expires-in', '1w');
      await fails(`--expires-in: a key's lifetime can be at most 3650d, got "9999d"`, 'keys', 'create', '--expires-in', '9999d');
      const before = Date.now();
      const made = JSON.parse(await ok('keys', 'create', '--name', 'dashboard', '--scopes', 'read', '--expires-in', '30d', '--json'));
      assert.equal(made.scope, 'read');
      assert.ok(made.expiresAt >= before + 30 * DAY_MS && made.expiresAt <= Date.now() + 30 * DAY_MS, String(made.expiresAt));
      assert.equal(made.lastUsedAt, null);
      assert.match(made.hint, /^secret_live_[A-Za-z0-9]{8}\.…$/);
      const plain = await ok('keys', 'create', '--name', 'backend', '--scopes', 'write');
      assert.match(plain, /^created write key [0-9a-f-]{36} for app "audited"$/m);
      assert.match(plain, /secret_live_[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}/);
      const keys = await listed();
      assert.deepEqual(keys.map((key) => [key.name, key.scope]), [['created with the app', 'admin'], ['dashboard', 'read'], ['backend', 'write']]);
      assert.equal(keys[1]!.expiresAt, made.expiresAt);
      assert.equal(keys[0]!.expiresAt, null);
    });

    test("keys list shows scope, expiry and last use, and an operator's own key by four characters", async () => {
      const made = JSON.parse(await ok('keys', 'create', '--name', 'operator', '--key', OPERATOR_KEY, '--json'));
      assert.equal(made.hint, 'Tr0u…');
      assert.equal(made.scope, 'admin');
      const secret = JSON.parse(await ok('keys', 'create', '--name', 'used', '--scopes', 'read', '--json')).apiKey as string;
      const owner = await createServices(store).apps.keyOwner(secret);
      await store.touchApiKeys([owner!.keyId], Date.UTC(2030, 0, 2, 3, 4, 5));
      const table = await ok('keys', 'list');
      assert.match(table, /^ID +APP +NAME +HINT +SCOPE +CREATED +EXPIRES +LAST USED +REVOKED$/m);
      assert.ok(!table.includes('Tr0ub4dor'), 'the table shows the operator key');
      assert.match(table, /operator +Tr0u… +admin /);
      assert.match(table, / read +\S+ +2030-01-02T03:04:05\.000Z$/m);
      assert.match(table, /dashboard +secret_live_\w{8}\.… +read +\S+ +\d{4}-\d\d-\d\dT[\d:.]+Z/);
    });

    test('keys scope changes what a key may do; keys revoke ends it', async () => {
      const key = (await listed()).find((candidate) => candidate.name === 'backend')!;
      await fails('the scope must be one of read, write, admin, got "everything"', 'keys', 'scope', key.id, 'everything');
      await fails('no key has the id "nope" (see "crosswalk keys list")', 'keys', 'scope', 'nope', 'read');
      assert.equal((await ok('keys', 'scope', key.id, 'admin')).trim(), `key ${key.id} now has the admin scope`);
      assert.equal((await listed()).find((candidate) => candidate.id === key.id)!.scope, 'admin');
      assert.equal((await ok('keys', 'revoke', key.id)).trim(), `revoked key ${key.id}`);
      assert.ok((await listed()).find((candidate) => candidate.id === key.id)!.revokedAt);
    });

    test('every management command is in the audit trail, as made by cli, newest first', async () => {
      const endpoint = JSON.parse(await ok('webhooks', 'add', '--url', 'http://127.0.0.1:9/hooks/secret-path', '--events', 'profile.created', '--json'));
      await createServices(store).profiles.ensure(appId, { customerUserId: 'audited-user' }, { attributes: {} });
      const [delivery] = JSON.parse(await ok('webhooks', 'deliveries', '--json')).deliveries;
      const redelivered = JSON.parse(await ok('webhooks', 'redeliver', String(delivery.id), '--json'));
      await ok('webhooks', 'remove', endpoint.id);
      await ok('rules', 'placeholder-mode', 'reject');
      await ok('rules', 'conflict', 'appsflyer_id', 'move');
      await ok('revenue', 'access-levels', 'add', 'gold');
      await ok('revenue', 'products', 'set', 'gold_monthly', '--access-level', 'gold');
      await ok('revenue', 'rates', 'set', 'EUR', '1.08');
      await ok('revenue', 'rates', 'remove', 'EUR');
      await ok('revenue', 'products', 'remove', 'gold_monthly');
      await ok('revenue', 'access-levels', 'remove', 'gold');
      await ok('revenue', 'unknown-access-levels', 'reject');
      // Nothing changes, nothing is recorded.
      await ok('revenue', 'unknown-access-levels', 'reject');
      await ok('rules', 'placeholder-mode', 'reject');

      const page = JSON.parse(await ok('audit', '--json', '--limit', '500')) as { entries: { actor: string; action: string; targetId: string | null; detail: unknown }[]; next: number | null };
      assert.equal(page.next, null);
      assert.ok(page.entries.every((entry) => entry.actor === 'cli'));
      const keys = await listed();
      const id = (name: string) => keys.find((key) => key.name === name)!.id;
      assert.deepEqual(
        page.entries.map((entry) => [entry.action, entry.targetId, entry.detail]).reverse(),
        [
          ['app.create', appId, { name: 'audited' }],
          ['key.create', id('created with the app'), { name: 'created with the app', scope: 'admin', expires_at: null }],
          ['key.create', id('dashboard'), { name: 'dashboard', scope: 'read', expires_at: new Date(keys.find((key) => key.name === 'dashboard')!.expiresAt!).toISOString() }],
          ['key.create', id('backend'), { name: 'backend', scope: 'write', expires_at: null }],
          ['key.create', id('operator'), { name: 'operator', scope: 'admin', expires_at: null }],
          ['key.create', id('used'), { name: 'used', scope: 'read', expires_at: null }],
          ['key.scope', id('backend'), { from: 'write', to: 'admin' }],
          ['key.revoke', id('backend'), { name: 'backend' }],
          ['webhook_endpoint.add', endpoint.id, { url_origin: 'http://127.0.0.1:9', event_types: ['profile.created'] }],
          ['webhook_delivery.redeliver', String(redelivered.id), { redelivery_of: String(delivery.id), endpoint_id: endpoint.id, event_id: delivery.eventId }],
          ['webhook_endpoint.remove', endpoint.id, {}],
          ['rules.update', null, { placeholder_mode: 'reject' }],
          ['rules.update', null, { conflict_policies: { appsflyer_id: 'move' } }],
          ['access_level.add', 'gold', {}],
          ['product.set', 'gold_monthly', { access_level_id: 'gold', is_consumable: false, access_level_created: false }],
          ['currency_rate.set', 'EUR', { usd_per_unit: 1.08 }],
          ['currency_rate.remove', 'EUR', {}],
          ['product.remove', 'gold_monthly', {}],
          ['access_level.remove', 'gold', {}],
          ['revenue_settings.set', null, { unknown_access_levels: 'reject' }],
        ],
      );
      assert.ok(!JSON.stringify(page).includes('secret-path'));
      assert.ok(!JSON.stringify(page).includes('Tr0ub4dor'));

      const table = await ok('audit', '--limit', '2');
      assert.match(table, /^ID +TIME +ACTOR +ACTION +TARGET +DETAIL$/m);
      assert.match(table, /^\d+ +\d{4}-\d\d-\d\dT[\d:.]+Z +cli +revenue_settings\.set +\{"unknown_access_levels":"reject"\}$/m);
      const cursor = /^more: --cursor (\d+)$/m.exec(table)?.[1];
      assert.ok(cursor, table);
      const next = JSON.parse(await ok('audit', '--json', '--limit', '1', '--cursor', cursor));
      assert.equal(next.entries[0].action, 'product.remove');
    });

    test('audit: bad options are named', async () => {
      await fails('--limit: Must be a whole number from 1 to 500.', 'audit', '--limit', '0');
      await fails('--cursor: Not a cursor this API gave out: pass next_cursor from the previous page unchanged.', 'audit', '--cursor', 'x');
    });
  });
}
