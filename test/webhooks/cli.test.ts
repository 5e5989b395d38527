import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KyselyStore } from '../../src/storage/kysely-store.js';
import { createServices } from '../../src/services/index.js';
import { createTestDatabase, DATABASES, onDatabase, type TestDatabase } from '../helpers.js';
import { runCliProcess } from '../process-helpers.js';
import { ALL_EVENT_TYPES as ALL_TYPES, databaseUrl } from './support.js';


for (const kind of DATABASES) {
  describe(`crosswalk webhooks (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let appId: string;
    before(async () => {
      database = await createTestDatabase(kind);
      const created = await runCliProcess(['--database-url', databaseUrl(database), 'apps', 'create', 'cli-app', '--no-key', '--json']);
      assert.equal(created.code, 0, created.stderr);
      appId = JSON.parse(created.stdout).id;
      store = KyselyStore.open(database.config);
    });
    after(async () => {
      await store?.close();
      await database.drop();
    });
    function cli(...args: string[]) {
      // Endpoints on loopback and at names nobody resolves here: the network policy has its own suite.
      return runCliProcess(['--database-url', databaseUrl(database), 'webhooks', ...args], { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    }

    let generated: { id: string; secret: string };
    let chosenId: string;

    test('add prints the secret once; list shows hints only', async () => {
      const json = await cli('add', '--url', 'http://127.0.0.1:9/hooks', '--json');
      assert.equal(json.code, 0, json.stderr);
      generated = JSON.parse(json.stdout);
      assert.match(generated.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual((generated as unknown as { eventTypes: string[] }).eventTypes, ALL_TYPES);

      const human = await cli(
        'add', '--app', 'cli-app', '--url', 'https://hooks.example.com/x', '--events', 'profile.deleted, integration_identifiers.updated',
        '--secret', 'my-own-signing-secret-1', '--description', 'from the CLI',
      );
      assert.equal(human.code, 0, human.stderr);
      const id = /^added endpoint ([0-9a-f-]{36}) for app "cli-app": https:\/\/hooks\.example\.com\/x$/m.exec(human.stdout)?.[1];
      assert.ok(id, human.stdout);
      chosenId = id;
      assert.match(human.stdout, /^events: profile\.deleted, integration_identifiers\.updated$/m);
      assert.match(human.stdout, /^ {4}my-own-signing-secret-1$/m);

      const table = await cli('list');
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^ID +URL +EVENTS +SECRET +CREATED +DESCRIPTION$/m);
      assert.match(table.stdout, new RegExp(`^${chosenId} +https://hooks\\.example\\.com/x +profile\\.deleted,integration_identifiers\\.updated +my-o… +\\S+ +from the CLI$`, 'm'));
      assert.ok(table.stdout.includes(generated.id));
      assert.ok(!table.stdout.includes(generated.secret) && !table.stdout.includes('my-own-signing-secret-1'));
      const listed = JSON.parse((await cli('list', '--json')).stdout) as Record<string, unknown>[];
      assert.deepEqual(listed.map((e) => e.id), [generated.id, chosenId]);
      assert.ok(listed.every((e) => !('secret' in e) && typeof e.secretHint === 'string'));
    });

    test('bad input gets one clear line and exit code 1', async () => {
      const cases: [string[], string][] = [
        [['add', '--url', 'ftp://example.com/'], 'crosswalk: --url: Enter an absolute http:// or https:// URL.\n'],
        [['add', '--url', 'http://example.com/', '--events', 'profile.exploded'], `crosswalk: --events: Unknown event type "profile.exploded"; expected one of: ${ALL_TYPES.join(', ')}.\n`],
        [['add', '--url', 'http://example.com/', '--events', ','], `crosswalk: --events: Must be a non-empty list of event types: ${ALL_TYPES.join(', ')}.\n`],
        [['add', '--url', 'nope', '--secret', 'short'], 'crosswalk: --url: Enter an absolute http:// or https:// URL.; --secret: A secret must be 16 to 256 characters long.\n'],
        [['add', '--app', 'other', '--url', 'http://example.com/'], 'crosswalk: no app has the id or name "other" (see "crosswalk apps list")\n'],
        [['deliveries', '--status', 'lost'], 'crosswalk: --status: Must be one of: pending, succeeded, failed, cancelled.\n'],
        [['deliveries', '--limit', '0'], 'crosswalk: --limit: Must be a whole number from 1 to 100.\n'],
        [['remove', 'no-such-endpoint'], 'crosswalk: app "cli-app" has no endpoint with the id "no-such-endpoint" (see "crosswalk webhooks list")\n'],
        [['redeliver', '99999'], 'crosswalk: app "cli-app" has no delivery "99999" to an endpoint that still exists (see "crosswalk webhooks deliveries")\n'],
        [['redeliver', 'abc'], 'crosswalk: app "cli-app" has no delivery "abc" to an endpoint that still exists (see "crosswalk webhooks deliveries")\n'],
      ];
      for (const [args, stderr] of cases) {
        const result = await cli(...args);
        assert.equal(result.code, 1, args.join(' '));
        assert.equal(result.stderr, stderr, args.join(' '));
      }
      const missing = await cli('add');
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /required option '--url <url>' not specified/);
      assert.equal(JSON.parse((await cli('list', '--json')).stdout).length, 2, 'nothing was added');
    });

    test('deliveries lists newest first with a cursor; redeliver queues a new one; remove cancels', async () => {
      // Three changes of one profile: the first endpoint is subscribed to all three, the second to the delete.
      await createServices(store).profiles.ensure(appId, { customerUserId: 'cli-user' }, { attributes: {} });
      await createServices(store).profiles.update(appId, { customerUserId: 'cli-user' }, { attributes: { first_name: 'Cli' } });
      await createServices(store).profiles.delete(appId, { customerUserId: 'cli-user' });

      const page = JSON.parse((await cli('deliveries', '--json')).stdout) as { deliveries: Record<string, any>[]; next: number | null };
      // The delete made one delivery per endpoint, in no particular order between the two, and
      // cancelled the profile's earlier deliveries (their events keep only ids).
      assert.deepEqual(page.deliveries.map((d) => [d.eventType, d.endpointId === chosenId ? 'chosen' : d.endpointId === generated.id ? 'generated' : '?', d.status]).sort(), [
        ['profile.created', 'generated', 'cancelled'],
        ['profile.deleted', 'chosen', 'pending'],
        ['profile.deleted', 'generated', 'pending'],
        ['profile.updated', 'generated', 'cancelled'],
      ]);
      assert.deepEqual(page.deliveries.map((d) => d.eventType), ['profile.deleted', 'profile.deleted', 'profile.updated', 'profile.created']);
      assert.equal(page.next, null);

      const table = await cli('deliveries', '--limit', '2', '--endpoint', generated.id);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^ID +STATUS +EVENT +PROFILE +ENDPOINT +ATTEMPTS +LAST CODE +NEXT ATTEMPT +CREATED +LAST ERROR$/m);
      const cursor = /^more: --cursor (\d+)$/m.exec(table.stdout)?.[1];
      assert.equal(Number(cursor), page.deliveries[2]!.id);
      const rest = JSON.parse((await cli('deliveries', '--endpoint', generated.id, '--cursor', cursor!, '--json')).stdout);
      assert.deepEqual(rest.deliveries.map((d: { id: number }) => d.id), [page.deliveries[3]!.id]);

      // --profile: the deliveries of events about one profile (a deleted one's included).
      const profileId = page.deliveries[0]!.profileId as string;
      const mine = JSON.parse((await cli('deliveries', '--profile', profileId.toUpperCase(), '--json')).stdout);
      assert.deepEqual(mine.deliveries.map((d: { id: number }) => d.id), page.deliveries.map((d) => d.id));
      const nobody = JSON.parse((await cli('deliveries', '--profile', '00000000-0000-4000-8000-000000000000', '--json')).stdout);
      assert.deepEqual(nobody.deliveries, []);
      const bad = await cli('deliveries', '--profile', 'not-a-uuid');
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr, 'crosswalk: --profile: Must be a profile id (a UUID).\n');

      const oldest = page.deliveries[3]!;
      const again = await cli('redeliver', String(oldest.id));
      assert.equal(again.code, 0, again.stderr);
      const newId = Number(/^queued delivery (\d+): event ([0-9a-f-]{36}) \(profile\.created\) to endpoint ([0-9a-f-]{36})$/m.exec(again.stdout)?.[1]);
      assert.ok(newId > page.deliveries[0]!.id, again.stdout);

      const removed = await cli('remove', generated.id);
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal(removed.stdout, `removed endpoint ${generated.id}; its pending deliveries were cancelled\n`);
      const cancelled = JSON.parse((await cli('deliveries', '--endpoint', generated.id, '--json')).stdout);
      assert.deepEqual(cancelled.deliveries.map((d: { status: string }) => d.status), ['cancelled', 'cancelled', 'cancelled', 'cancelled']);
      const pending = JSON.parse((await cli('deliveries', '--status', 'pending', '--json')).stdout);
      assert.deepEqual(pending.deliveries.map((d: { endpointId: string }) => d.endpointId), [chosenId]);
      assert.equal((await cli('remove', generated.id)).code, 1);
      assert.equal((await cli('redeliver', String(oldest.id))).code, 1, 'the endpoint is gone');
    });

    test('--help works on every webhooks command', async () => {
      for (const command of [[], ['add'], ['list'], ['remove'], ['deliveries'], ['redeliver']]) {
        const result = await cli(...command, '--help');
        assert.equal(result.code, 0, command.join(' '));
        assert.match(result.stdout, /^Usage: crosswalk webhooks/m);
      }
    });
  });
}
