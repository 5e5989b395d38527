/**
 * `crosswalk destinations`, run as its own process on a test database: add (credentials once),
 * list (hints only), bad input, deliveries with their reasons and filters, redeliver, test against
 * a local fake of Amplitude, remove, --help. Every destination points at loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NetworkPolicy } from '../src/webhooks/network-policy.js';
import { DeliveryWorker } from '../src/webhooks/worker.js';
import { urlOf } from './cli-helpers.js';
import { startAmplitudeFake } from './destinations/fakes/amplitude.js';
import type { ToolFake } from './destinations/fakes/fake.js';
import {
  createTestContext,
  DATABASES,
  IDENTIFIERS_PATH,
  onDatabase,
  PROFILE_PATH,
  queryRows,
  send,
  subscriptionBody,
  type Tenant,
  type TestContext,
  TRANSACTION_PATH,
} from './helpers.js';
import { runCliProcess } from './process-helpers.js';

/** The reasons of the deliveries skipped for a profile without the tool's id. */
const NO_AMPLITUDE_ID = 'no amplitude_user_id or amplitude_device_id on the profile';
const NO_MIXPANEL_ID = 'no mixpanel_user_id on the profile';
/** A Mixpanel destination's place: nothing listens there, and none of its deliveries is ever sent (they are skipped). */
const NOWHERE = 'http://127.0.0.1:9';
const MIXPANEL_TOKEN = 'mixpanelcli0123456789';
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';
const HOUR = 3_600_000;
const APP = 'cli-app';

type Json = Record<string, any>;

for (const kind of DATABASES) {
  describe(`crosswalk destinations (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let fake: ToolFake;
    let worker: DeliveryWorker;
    before(async () => {
      // The app in this process records transactions (the outbox makes the deliveries); the worker
      // below sends them to the fake, on loopback: allowed only because this test says so.
      ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      const created = await runCliProcess(['--database-url', urlOf(ctx.database), 'apps', 'create', APP, '--json']);
      assert.equal(created.code, 0, created.stderr);
      const app = JSON.parse(created.stdout) as { id: string; apiKey: string };
      tenant = { appId: app.id, key: app.apiKey, auth: { authorization: `Api-Key ${app.apiKey}` } };
      fake = await startAmplitudeFake();
      worker = new DeliveryWorker(ctx.store.webhooks, {
        network: new NetworkPolicy(ctx.config.webhooks),
        timeoutMs: 2_000,
        pollIntervalMs: 60_000,
        concurrency: 8,
        retentionMs: 0,
      });
    });
    after(async () => {
      await worker?.stop(0);
      if (ctx) {
        // Nothing in this suite may ever have pointed at anything but loopback, removed destinations included.
        const stored = await queryRows(ctx.database, `select url from webhook_endpoints where kind = 'destination'`);
        assert.ok(stored.length > 0);
        for (const row of stored) assert.equal(new URL(String(row.url)).hostname, '127.0.0.1', `${row.url} is on loopback`);
      }
      await fake?.close();
      await ctx?.close();
    });

    /** `crosswalk destinations …` on the test database; the fake and NOWHERE are on loopback, which the policy refuses without this setting. */
    function cli(...args: string[]) {
      return runCliProcess(['--database-url', urlOf(ctx.database), 'destinations', ...args], { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    }
    /** The same without WEBHOOK_ALLOW_PRIVATE_NETWORKS (the environment of this process has none: the test runner sets none). */
    function strictCli(...args: string[]) {
      return runCliProcess(['--database-url', urlOf(ctx.database), 'destinations', ...args], { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' });
    }
    const listed = async () => {
      const result = await cli('list', '--json');
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as Json[];
    };
    const deliveries = async (...filters: string[]) => {
      const result = await cli('deliveries', '--limit', '100', '--json', ...filters);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as { deliveries: Json[]; next: number | null };
    };
    async function call(method: 'POST', path: string, customerUserId: string, body: unknown) {
      const res = await send(ctx.app, method, path, { ...tenant.auth, 'adapty-customer-user-id': customerUserId }, body);
      assert.ok(res.statusCode < 300, `${path}: ${res.statusCode} ${res.body}`);
      return res.body === '' ? undefined : res.json();
    }
    /** A purchase of two days ago by the profile of `customerUserId`, made first. */
    async function purchase(customerUserId: string, transactionId: string, identifiers?: Record<string, string>): Promise<string> {
      const profile = await call('POST', PROFILE_PATH, customerUserId, {});
      if (identifiers) await call('POST', IDENTIFIERS_PATH, customerUserId, identifiers);
      const at = new Date(Date.now() - 48 * HOUR).toISOString();
      await call('POST', TRANSACTION_PATH, customerUserId, subscriptionBody(transactionId, { purchased_at: at, originally_purchased_at: at }));
      return profile.data.profile_id as string;
    }

    let amplitude: Json;
    let mixpanelId: string;

    test('add prints the credentials once; list shows them as hints only', async () => {
      const json = await cli('add', '--type', 'amplitude', ...Object.entries(fake.config).flatMap(([name, value]) => ['--config', `${name}=${value}`]), '--base-url', fake.baseUrl, '--json');
      assert.equal(json.code, 0, json.stderr);
      amplitude = JSON.parse(json.stdout);
      assert.equal(amplitude.type, 'amplitude');
      assert.equal(amplitude.baseUrl, fake.baseUrl);
      assert.deepEqual(amplitude.config, fake.config, 'the credentials in full, this once');
      assert.deepEqual(amplitude.eventTypes, ['transaction.recorded']);
      assert.equal(amplitude.includeSandbox, false);
      assert.equal(amplitude.eventNames.purchase, 'purchase_completed');

      const human = await cli(
        'add', '--app', tenant.appId, '--type', 'mixpanel', '--config', `project_token=${MIXPANEL_TOKEN}`, '--base-url', `${NOWHERE}/`,
        '--events', 'access_level.updated, transaction.recorded', '--event-name', 'purchase=bought', '--event-name', 'renewal=renewed', '--include-sandbox',
      );
      assert.equal(human.code, 0, human.stderr);
      const id = /^added destination ([0-9a-f-]{36}) for app "cli-app": mixpanel at http:\/\/127\.0\.0\.1:9$/m.exec(human.stdout)?.[1];
      assert.ok(id, human.stdout);
      mixpanelId = id;
      assert.match(human.stdout, /^events: transaction\.recorded, access_level\.updated$/m);
      assert.match(human.stdout, /^event names: trial=trial_started, purchase=bought, renewal=renewed, refund=refund, access_level=access_level_changed$/m);
      assert.match(human.stdout, /^sandbox transactions: sent$/m);
      assert.match(human.stdout, /shown only now/);
      assert.match(human.stdout, new RegExp(`^ {4}project_token=${MIXPANEL_TOKEN}$`, 'm'));

      const table = await cli('list', '--app', tenant.appId);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^ID +TYPE +BASE URL +EVENTS +SANDBOX +CREATED +CONFIG$/m);
      assert.match(table.stdout, new RegExp(`^${amplitude.id} +amplitude +${fake.baseUrl} +transaction\\.recorded +no +\\S+ +api_key=fake…$`, 'm'));
      assert.match(table.stdout, new RegExp(`^${mixpanelId} +mixpanel +http://127\\.0\\.0\\.1:9 +transaction\\.recorded,access_level\\.updated +yes +\\S+ +project_token=mixp…$`, 'm'));
      for (const secret of [fake.config.api_key!, MIXPANEL_TOKEN]) assert.ok(!table.stdout.includes(secret), 'no credential in the list');

      const list = await listed();
      assert.deepEqual(list.map((d) => d.id), [amplitude.id, mixpanelId]);
      assert.deepEqual(list.map((d) => d.config), [{ api_key: 'fake…' }, { project_token: 'mixp…' }]);
      assert.ok(!JSON.stringify(list).includes(fake.config.api_key!) && !JSON.stringify(list).includes(MIXPANEL_TOKEN));
    });

    test('bad input gets one clear line naming the option and exit code 1; nothing is added', async () => {
      const amp = ['add', '--type', 'amplitude', '--base-url', NOWHERE];
      const cases: [string[], string][] = [
        [['add', '--type', 'segment', '--config', 'write_key=abc', '--base-url', NOWHERE], 'crosswalk: --type: Must be one of: amplitude, mixpanel, posthog, firebase, appsflyer, adjust.\n'],
        [[...amp, '--config', 'min_id_length=3'], 'crosswalk: --config api_key: This field is required.\n'],
        [[...amp, '--config', 'api_key=abcdefghijkl', '--config', 'secret_key=x'], 'crosswalk: --config secret_key: Unknown config field for amplitude; expected: api_key, min_id_length.\n'],
        [[...amp, '--config', 'api_key=has space'], "crosswalk: --config api_key: Not a valid amplitude api_key: The Amplitude project's API key (Settings > Projects > General), sent in the request body.\n"],
        [
          [...amp, '--config', 'api_key', '--config', 'min_id_length=1', '--config', 'min_id_length=2'],
          'crosswalk: --config: Expected name=value, got "api_key".; --config min_id_length: Given more than once.\n',
        ],
        [[...amp, '--config', 'api_key=abcdefghijkl', '--events', 'profile.deleted'], 'crosswalk: --events: Must be a non-empty list of: transaction.recorded, access_level.updated.\n'],
        [
          ['add', '--type', 'adjust', '--config', 'app_token=abcdefghijkl', '--base-url', NOWHERE, '--events', 'access_level.updated'],
          'crosswalk: --events: adjust takes only: transaction.recorded.\n',
        ],
        [[...amp, '--config', 'api_key=abcdefghijkl', '--event-name', 'purchase='], 'crosswalk: --event-name purchase: Must be a string of 1 to 100 characters.\n'],
        [['add', '--type', 'amplitude', '--config', 'api_key=abcdefghijkl', '--base-url', `${NOWHERE}/?region=eu`], 'crosswalk: --base-url: A base URL has no query or fragment.\n'],
        [
          ['add', '--type', 'amplitude', '--base-url', 'ftp://127.0.0.1/', '--events', 'nope'],
          'crosswalk: --base-url: Enter an absolute http:// or https:// URL.; --events: Must be a non-empty list of: transaction.recorded, access_level.updated.\n',
        ],
        [[...amp, '--app', 'other', '--config', 'api_key=abcdefghijkl'], 'crosswalk: no app has the id or name "other" (see "crosswalk apps list")\n'],
        [
          ['deliveries', '--status', 'lost', '--destination', 'mixpanel', '--profile', 'someone', '--limit', '0', '--cursor', 'abc'],
          'crosswalk: --status: Must be one of: pending, succeeded, failed, skipped, cancelled.; --destination: Must be the id of a destination.; ' +
            '--profile: Must be a profile id (a UUID).; --limit: Must be a whole number from 1 to 100.; --cursor: Must be the next_cursor of a previous page.\n',
        ],
        [['remove', 'no-such-destination'], 'crosswalk: app "cli-app" has no destination with the id "no-such-destination" (see "crosswalk destinations list")\n'],
        [['test', NO_SUCH_ID], `crosswalk: app "cli-app" has no destination with the id "${NO_SUCH_ID}" (see "crosswalk destinations list")\n`],
        [['redeliver', '99999'], 'crosswalk: app "cli-app" has no delivery "99999" to a destination that still exists (see "crosswalk destinations deliveries")\n'],
      ];
      for (const [args, stderr] of cases) {
        const result = await cli(...args);
        assert.equal(result.code, 1, args.join(' '));
        assert.equal(result.stderr, stderr, args.join(' '));
        assert.equal(result.stdout, '', args.join(' '));
      }
      // The network policy of the server applies: loopback only when the setting allows it.
      const refused = await strictCli('add', '--type', 'amplitude', '--config', 'api_key=abcdefghijkl', '--base-url', NOWHERE);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^crosswalk: --base-url: The address 127\.0\.0\.1 is a loopback address; .*WEBHOOK_ALLOW_PRIVATE_NETWORKS.*\n$/);

      const missing = await cli('add', '--config', 'api_key=abcdefghijkl');
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /required option '--type <type>' not specified/);
      assert.deepEqual((await listed()).map((d) => d.id), [amplitude.id, mixpanelId], 'nothing was added');
    });

    let skipped: Json;
    let succeeded: Json;
    let withoutIds: string;
    let withId: string;

    test('deliveries lists newest first with each reason, and filters by status, destination and profile', async () => {
      // One purchase by a profile with no tool id, then one by a profile with an Amplitude user id.
      withoutIds = await purchase('cli-no-ids', 'cli-tx-1');
      withId = await purchase('cli-amplitude', 'cli-tx-2', { amplitude_user_id: 'amp-user-0001' });
      const pending = await deliveries('--status', 'pending');
      assert.ok(pending.deliveries.length >= 4, JSON.stringify(pending));
      // The worker takes every due delivery: the skipped ones are decided without a request.
      while ((await worker.runOnce()).length > 0);

      const page = await deliveries();
      assert.equal(page.next, null);
      const ids = page.deliveries.map((d) => d.id as number);
      assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
      const toAmplitude = page.deliveries.filter((d) => d.destinationId === amplitude.id);
      const toMixpanel = page.deliveries.filter((d) => d.destinationId === mixpanelId);
      assert.equal(toAmplitude.length + toMixpanel.length, page.deliveries.length);
      // Amplitude takes transaction.recorded only: one delivery per purchase.
      assert.deepEqual(
        toAmplitude.map((d) => [d.destinationType, d.eventType, d.profileId, d.status, d.reason]),
        [
          ['amplitude', 'transaction.recorded', withId, 'succeeded', null],
          ['amplitude', 'transaction.recorded', withoutIds, 'skipped', NO_AMPLITUDE_ID],
        ],
      );
      // Mixpanel takes both event types; neither profile has a Mixpanel id.
      assert.ok(toMixpanel.some((d) => d.eventType === 'transaction.recorded' && d.profileId === withId));
      assert.ok(toMixpanel.some((d) => d.eventType === 'transaction.recorded' && d.profileId === withoutIds));
      for (const delivery of toMixpanel) assert.deepEqual([delivery.destinationType, delivery.status, delivery.reason], ['mixpanel', 'skipped', NO_MIXPANEL_ID], JSON.stringify(delivery));
      [succeeded, skipped] = toAmplitude as [Json, Json];
      assert.equal(fake.counted().length, 1, 'the fake counted the one purchase that had an Amplitude id');
      assert.equal(fake.counted()[0]!.userId, 'amp-user-0001');

      // The table shows the reason of each.
      const table = await cli('deliveries', '--app', tenant.appId);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^ID +STATUS +EVENT +PROFILE +DESTINATION +TYPE +ATTEMPTS +LAST CODE +NEXT ATTEMPT +CREATED +REASON$/m);
      assert.match(table.stdout, new RegExp(`^${skipped.id} +skipped +transaction\\.recorded +${withoutIds} +${amplitude.id} +amplitude +1 +\\S+ +${NO_AMPLITUDE_ID}$`, 'm'));
      assert.match(table.stdout, new RegExp(`^${succeeded.id} +succeeded +transaction\\.recorded +${withId} +${amplitude.id} +amplitude +1 +200 +\\S+$`, 'm'));
      assert.equal(table.stdout.split('\n').filter((line) => line.endsWith(NO_MIXPANEL_ID)).length, toMixpanel.length);

      // Filters, each alone and together.
      const idsOf = (result: { deliveries: Json[] }) => result.deliveries.map((d) => d.id);
      assert.deepEqual(idsOf(await deliveries('--status', 'succeeded')), [succeeded.id]);
      assert.deepEqual(idsOf(await deliveries('--status', 'skipped')), ids.filter((id) => id !== succeeded.id));
      assert.deepEqual(idsOf(await deliveries('--status', 'failed')), []);
      assert.deepEqual(idsOf(await deliveries('--destination', amplitude.id)), [succeeded.id, skipped.id]);
      assert.deepEqual(idsOf(await deliveries('--destination', mixpanelId.toUpperCase())), toMixpanel.map((d) => d.id));
      assert.deepEqual(idsOf(await deliveries('--profile', withoutIds)), page.deliveries.filter((d) => d.profileId === withoutIds).map((d) => d.id));
      assert.deepEqual(idsOf(await deliveries('--profile', withoutIds, '--destination', amplitude.id, '--status', 'skipped')), [skipped.id]);
      assert.deepEqual(idsOf(await deliveries('--profile', NO_SUCH_ID)), []);

      // Pages: a full page prints its cursor.
      const first = await cli('deliveries', '--limit', '1');
      assert.equal(first.code, 0, first.stderr);
      const cursor = /^more: --cursor (\d+)$/m.exec(first.stdout)?.[1];
      assert.equal(Number(cursor), ids[0]);
      assert.deepEqual(idsOf(await deliveries('--cursor', cursor!)), ids.slice(1));
    });

    test('redeliver queues the event again as a new pending delivery', async () => {
      const again = await cli('redeliver', String(succeeded.id));
      assert.equal(again.code, 0, `exit code ${again.code}; stderr: ${again.stderr}; stdout: ${again.stdout}`);
      const match = /^queued delivery (\d+): event ([0-9a-f-]{36}) \(transaction\.recorded\) to destination ([0-9a-f-]{36})$/m.exec(again.stdout);
      assert.ok(match, again.stdout);
      assert.ok(Number(match[1]) > succeeded.id);
      assert.equal(match[2], succeeded.eventId);
      assert.equal(match[3], amplitude.id);
      const json = await cli('redeliver', '--app', tenant.appId, String(skipped.id), '--json');
      assert.equal(json.code, 0, json.stderr);
      const queued = JSON.parse(json.stdout) as Json;
      assert.deepEqual([queued.destinationId, queued.destinationType, queued.eventId, queued.status, queued.reason], [amplitude.id, 'amplitude', skipped.eventId, 'pending', null]);
      assert.deepEqual((await deliveries('--status', 'pending')).deliveries.map((d) => d.id), [queued.id, Number(match[1])]);
    });

    test('test sends one event to the tool now: exit 0 when the tool takes it, 1 otherwise', async () => {
      const before = fake.counted().length;
      const ok = await cli('test', amplitude.id);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stderr, '');
      assert.match(ok.stdout, new RegExp(`^sent a test event \\(a sandbox purchase of 0\\.01 USD of crosswalk\\.test\\) to destination ${amplitude.id}$`, 'm'));
      assert.match(ok.stdout, /^status code: 200$/m);
      assert.match(ok.stdout, /^answer: \{"code":200,"events_ingested":1,/m);
      assert.match(ok.stdout, /^verdict: succeeded$/m);
      const counted = fake.counted();
      assert.equal(counted.length, before + 1, 'the fake counted the test event');
      assert.deepEqual([counted.at(-1)!.eventName, counted.at(-1)!.revenue, counted.at(-1)!.currency], ['purchase_completed', 0.01, 'USD']);

      const json = await cli('test', '--app', tenant.appId, amplitude.id.toUpperCase(), '--json');
      assert.equal(json.code, 0, json.stderr);
      const result = JSON.parse(json.stdout) as Json;
      assert.deepEqual([result.status, result.statusCode, result.error], ['succeeded', 200, null]);
      assert.match(result.answer, /^\{"code":200,"events_ingested":1,/);
      assert.equal(fake.counted().length, before + 2, 'a second test event, with ids of its own');

      // The tool refuses: its answer, the verdict, exit 1. The destination is added and removed here.
      const wrong = await cli('add', '--type', 'amplitude', '--config', 'api_key=wrong-amplitude-key-0123', '--base-url', fake.baseUrl, '--json');
      assert.equal(wrong.code, 0, wrong.stderr);
      const wrongId = JSON.parse(wrong.stdout).id as string;
      const refused = await cli('test', wrongId);
      assert.equal(refused.code, 1);
      assert.match(refused.stdout, /^status code: 400$/m);
      assert.match(refused.stdout, /^answer: .*Invalid API key/m);
      assert.match(refused.stdout, /^verdict: failed: .*Invalid API key/m);
      assert.match(refused.stderr, /^crosswalk: the test event was not taken: .*Invalid API key.*\n$/);
      assert.equal(fake.counted().length, before + 2);

      // Sent under the network policy: without the setting, loopback is refused and nothing is sent.
      const requests = fake.requests.length;
      const blocked = await strictCli('test', amplitude.id);
      assert.equal(blocked.code, 1);
      assert.match(blocked.stdout, /^no answer$/m);
      assert.match(blocked.stdout, /^verdict: failed: the connection failed: refused: /m);
      assert.match(blocked.stderr, /^crosswalk: the test event was not taken: the connection failed: refused: /);
      assert.equal(fake.requests.length, requests, 'nothing reached the fake');

      assert.equal((await cli('remove', wrongId)).code, 0);
    });

    test('remove: the destination is gone and its pending deliveries are cancelled', async () => {
      const pendingBefore = (await deliveries('--status', 'pending')).deliveries;
      assert.deepEqual(pendingBefore.map((d) => d.destinationId), [amplitude.id, amplitude.id]);
      const removed = await cli('remove', '--app', tenant.appId, amplitude.id);
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal(removed.stdout, `removed destination ${amplitude.id}; its pending deliveries were cancelled\n`);
      assert.deepEqual((await listed()).map((d) => d.id), [mixpanelId]);
      assert.deepEqual((await deliveries('--status', 'pending')).deliveries, []);
      const cancelled = (await deliveries('--status', 'cancelled')).deliveries;
      assert.deepEqual(cancelled.map((d) => d.id), pendingBefore.map((d) => d.id));
      // The history stays; the destination does not come back.
      const history = (await deliveries('--destination', amplitude.id)).deliveries;
      assert.deepEqual(history.map((d) => [d.status, d.destinationType]), [['cancelled', 'amplitude'], ['cancelled', 'amplitude'], ['succeeded', 'amplitude'], ['skipped', 'amplitude']]);
      assert.equal((await cli('remove', amplitude.id)).code, 1);
      assert.equal((await cli('test', amplitude.id)).code, 1);
      assert.equal((await cli('redeliver', String(succeeded.id))).code, 1, 'the destination is gone');
      const table = await cli('list');
      assert.ok(!table.stdout.includes(amplitude.id));

      // Each change was audited as the CLI's, without a credential.
      const audit = await runCliProcess(['--database-url', urlOf(ctx.database), 'audit', '--app', APP, '--json']);
      assert.equal(audit.code, 0, audit.stderr);
      const entries = (JSON.parse(audit.stdout) as { entries: Json[] }).entries.filter((entry) => String(entry.action).startsWith('destination'));
      assert.deepEqual(entries.map((entry) => [entry.action, entry.actor]).reverse(), [
        ['destination.add', 'cli'], ['destination.add', 'cli'],
        ['destination_delivery.redeliver', 'cli'], ['destination_delivery.redeliver', 'cli'],
        ['destination.add', 'cli'], ['destination.remove', 'cli'], ['destination.remove', 'cli'],
      ]);
      for (const secret of [fake.config.api_key!, MIXPANEL_TOKEN, 'wrong-amplitude-key-0123']) assert.ok(!audit.stdout.includes(secret));
    });

    test('--help works on every destinations command', async () => {
      for (const command of [[], ['add'], ['list'], ['remove'], ['test'], ['deliveries'], ['redeliver']]) {
        const result = await cli(...command, '--help');
        assert.equal(result.code, 0, command.join(' '));
        assert.match(result.stdout, /^Usage: crosswalk destinations/m, command.join(' '));
      }
      const add = await cli('add', '--help');
      assert.match(add.stdout, /^ {2}amplitude +--config api_key, min_id_length \(optional\); events: transaction\.recorded, access_level\.updated$/m);
    });
  });
}
