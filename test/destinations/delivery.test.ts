/**
 * Revenue reaching each tool through real server processes: a transaction recorded through the
 * Adapty-compatible route arrives at each tool's local fake in the tool's format, under the tool's
 * id, with its revenue, once by the tool's dedup key across a resend, a retry and a SIGKILL; a
 * profile without a tool's id gets a skipped delivery with the reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, DATABASES, IDENTIFIERS_PATH, onDatabase, PROFILE_PATH, queryRows, subscriptionBody, type TestDatabase, TRANSACTION_PATH } from '../helpers.js';
import { type ServerProcess, startServer } from '../process-helpers.js';
import { databaseUrl, waitFor } from '../webhooks/support.js';
import { startAdjustFake } from './fakes/adjust.js';
import { startAmplitudeFake } from './fakes/amplitude.js';
import { startAppsFlyerFake } from './fakes/appsflyer.js';
import type { ToolFake } from './fakes/fake.js';
import { startFirebaseFake } from './fakes/firebase.js';
import { startMixpanelFake } from './fakes/mixpanel.js';
import { startPostHogFake } from './fakes/posthog.js';

const KEY = 'destinations-process-key-0123456789';
const HOUR = 3_600_000;
/** Recent times: some tools refuse or re-date events more than a few days old. */
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const PURCHASED_AT = ago(48 * HOUR);
/** The test's subscription, bought two days ago, renewed one day ago. */
const purchase = (transactionId: string, changes: Record<string, unknown> = {}) =>
  subscriptionBody(transactionId, { purchased_at: PURCHASED_AT, originally_purchased_at: PURCHASED_AT, ...changes });
const DESTINATIONS = '/crosswalk/v1/destinations/';

/** Each tool: its fake, the identifier it files users under, and that identifier's value on the test profile. */
const TOOLS = [
  { type: 'amplitude', start: startAmplitudeFake, key: 'amplitude_user_id', value: 'amp-user-0001' },
  { type: 'mixpanel', start: startMixpanelFake, key: 'mixpanel_user_id', value: 'mp-user-0001' },
  { type: 'posthog', start: startPostHogFake, key: 'posthog_distinct_user_id', value: 'ph-user-0001' },
  { type: 'firebase', start: startFirebaseFake, key: 'firebase_app_instance_id', value: '0123456789abcdef0123456789abcdef' },
  { type: 'appsflyer', start: startAppsFlyerFake, key: 'appsflyer_id', value: '1712345678901-1234567' },
  { type: 'adjust', start: startAdjustFake, key: 'adjust_device_id', value: 'fedcba9876543210fedcba9876543210' },
] as const;

/** The tools that drop a second copy of an event by its dedup key. */
const DEDUPLICATES = new Set(['amplitude', 'mixpanel', 'posthog']);

/** The reason a delivery is skipped when the profile has no id for the tool. */
const NO_ID: Record<string, string> = {
  amplitude: 'no amplitude_user_id or amplitude_device_id on the profile',
  mixpanel: 'no mixpanel_user_id on the profile',
  posthog: 'no posthog_distinct_user_id on the profile',
  firebase: 'no firebase_app_instance_id on the profile',
  appsflyer: 'no appsflyer_id on the profile',
  adjust: 'no adjust_device_id on the profile',
};

for (const kind of DATABASES) {
  describe(`revenue delivered to each tool across server processes (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    const fakes = new Map<string, ToolFake>();
    const destinationIds = new Map<string, string>();
    const servers: ServerProcess[] = [];
    let server: ServerProcess;

    async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
      const res = await fetch(server.url + path, {
        method,
        headers: { authorization: `Api-Key ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
      return text === '' ? undefined : JSON.parse(text);
    }
    const start = async () => {
      // The fakes are on loopback: WEBHOOK_ALLOW_PRIVATE_NETWORKS lets the server send there.
      server = await startServer({
        DATABASE_URL: databaseUrl(database),
        CROSSWALK_API_KEY: KEY,
        WEBHOOK_POLL_INTERVAL_MS: '20',
        WEBHOOK_TIMEOUT_MS: '1000',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      });
      servers.push(server);
    };
    const user = (id: string) => ({ 'adapty-customer-user-id': id });
    const deliveries = (query: string) => call('GET', `${DESTINATIONS}deliveries/?limit=100&${query}`).then((page) => page.data as Record<string, any>[]);
    const counted = (type: string) => fakes.get(type)!.counted();
    /** For failure messages: what each tool received and counted. */
    const state = () => TOOLS.map((tool) => `${tool.type}: ${fakes.get(tool.type)!.requests.map((r) => r.status).join(',')} counted ${counted(tool.type).length}`).join('; ');

    before(async () => {
      database = await createTestDatabase(kind);
      for (const tool of TOOLS) fakes.set(tool.type, await tool.start());
      await start();
      for (const tool of TOOLS) {
        const fake = fakes.get(tool.type)!;
        const body = { type: tool.type, config: fake.config, base_url: fake.baseUrl, event_names: fake.eventNames };
        const created = (await call('POST', DESTINATIONS, {}, body)).data;
        destinationIds.set(tool.type, created.id);
      }
    });
    after(async () => {
      for (const each of servers) if (each.child.exitCode === null && each.child.signalCode === null) await each.stop('SIGKILL');
      // Nothing in this suite may ever have pointed at anything but loopback.
      const stored = await queryRows(database, `select url from webhook_endpoints where kind = 'destination'`);
      assert.equal(stored.length, TOOLS.length);
      for (const row of stored) assert.equal(new URL(String(row.url)).hostname, '127.0.0.1', `${row.url} is on loopback`);
      for (const fake of fakes.values()) await fake.close();
      await database.drop();
    });

    test('a purchase reaches every tool under its id, with its revenue; an unchanged resend and an update without revenue send nothing', async () => {
      await call('POST', PROFILE_PATH, user('rev-1'), {});
      await call('POST', IDENTIFIERS_PATH, user('rev-1'), Object.fromEntries(TOOLS.map((tool) => [tool.key, tool.value])));
      await call('POST', TRANSACTION_PATH, user('rev-1'), purchase('rev-1-tx-1'));
      await waitFor(() => TOOLS.every((tool) => counted(tool.type).length === 1), () => `the purchase at every tool (${state()})`);
      for (const tool of TOOLS) {
        const [event] = counted(tool.type);
        assert.equal(event!.userId, tool.value, `${tool.type}: filed under the tool's id`);
        assert.equal(event!.revenue, 9.99, `${tool.type}: revenue`);
        assert.equal(event!.currency, 'USD', `${tool.type}: currency`);
        assert.ok(event!.eventName, `${tool.type}: named`);
      }
      // Sent again unchanged: no event. Sent with a change that is not a refund: a skipped delivery.
      await call('POST', TRANSACTION_PATH, user('rev-1'), purchase('rev-1-tx-1'));
      await call('POST', TRANSACTION_PATH, user('rev-1'), purchase('rev-1-tx-1', { renew_status: false }));
      await waitFor(async () => (await deliveries('status=skipped')).length === TOOLS.length, 'the update skipped at every destination');
      for (const delivery of await deliveries('status=skipped')) {
        assert.match(delivery.reason, /^an update of the transaction that carries no revenue \(changed: renew_status/);
      }
      for (const tool of TOOLS) assert.equal(counted(tool.type).length, 1, `${tool.type}: still one event`);
    });

    test('a renewal refused with 429 and Retry-After is tried again no sooner than the tool asked, and counted once', async () => {
      // The schedule's first wait is about 10 s; the tool asks for 12.
      for (const fake of fakes.values()) fake.failNext([429], 12);
      const renewal = purchase('rev-1-tx-2', { store_original_transaction_id: 'rev-1-tx-1', purchased_at: ago(24 * HOUR) });
      const sentAt = Date.now();
      await call('POST', TRANSACTION_PATH, user('rev-1'), renewal);
      await waitFor(() => TOOLS.every((tool) => fakes.get(tool.type)!.requests.length >= 2), 'the first attempt at every tool');
      await waitFor(() => TOOLS.every((tool) => counted(tool.type).length === 2), () => `the renewal at every tool (${state()})`, 40_000);
      assert.ok(Date.now() - sentAt >= 12_000, 'not before the Retry-After');
      for (const tool of TOOLS) {
        const statuses = fakes.get(tool.type)!.requests.slice(-2).map((request) => request.status);
        assert.equal(statuses[0], 429, `${tool.type}: refused first`);
        assert.ok(statuses[1]! >= 200 && statuses[1]! < 300, `${tool.type}: then taken`);
        assert.equal(counted(tool.type)[1]!.revenue, 9.99);
      }
      const renewals = async () => (await deliveries('status=succeeded')).filter((delivery) => delivery.attempts === 2).length;
      await waitFor(async () => (await renewals()) === TOOLS.length, 'each renewal delivery recorded as succeeded at its second attempt');
    });

    test('a refund the tool received while the process was killed: after a restart, sent again where the tool deduplicates, not where it cannot; counted once', async () => {
      for (const fake of fakes.values()) fake.hold();
      await call('POST', TRANSACTION_PATH, user('rev-1'), purchase('rev-1-tx-1', { refunded_at: ago(HOUR), cancellation_reason: 'refund', renew_status: false }));
      await waitFor(() => TOOLS.every((tool) => fakes.get(tool.type)!.waiting() === 1), 'the refund received by every tool, not yet answered');
      await server.stop('SIGKILL');
      // The tools take the requests the dead process sent: their answers go nowhere.
      const before = new Map(TOOLS.map((tool) => [tool.type, fakes.get(tool.type)!.requests.length]));
      for (const fake of fakes.values()) fake.release();
      await start();
      await waitFor(async () => (await deliveries('status=pending')).length === 0, 'the refunds recorded after the leases ran out', 30_000);
      const failed = await deliveries('status=failed');
      for (const tool of TOOLS) {
        const fake = fakes.get(tool.type)!;
        const refunds = counted(tool.type).slice(2);
        assert.equal(refunds.length, 1, `${tool.type}: the refund counted once`);
        assert.ok(refunds[0]!.revenue === null || refunds[0]!.revenue <= 0, `${tool.type}: a refund takes revenue back or carries none`);
        const failure = failed.find((delivery) => delivery.destination_id === destinationIds.get(tool.type));
        if (DEDUPLICATES.has(tool.type)) {
          // Sent again after the lease; the tool drops the copy by its dedup key.
          assert.equal(fake.requests.length, before.get(tool.type)! + 2, `${tool.type}: the request of the killed process, and the retry`);
          assert.equal(failure, undefined);
        } else {
          // No dedup key: an attempt that may have arrived is not repeated, and says so.
          assert.equal(fake.requests.length, before.get(tool.type)! + 1, `${tool.type}: only the request of the killed process`);
          assert.equal(failure?.reason, `not sent again: attempt 1, cut short by its process stopping, may have reached ${tool.type}, which has no dedup key; check the tool, then redeliver if it is missing`);
        }
      }
    });

    test('a profile without a tool\'s id: the delivery is skipped with the reason, and listed by profile', async () => {
      const profile = (await call('POST', PROFILE_PATH, user('rev-none'), {})).data;
      await call('POST', TRANSACTION_PATH, user('rev-none'), purchase('rev-none-tx-1'));
      await waitFor(async () => (await deliveries(`profile_id=${profile.profile_id}&status=skipped`)).length === TOOLS.length, 'skipped everywhere');
      const skipped = await deliveries(`profile_id=${profile.profile_id}`);
      for (const tool of TOOLS) {
        const delivery = skipped.find((d) => d.destination_id === destinationIds.get(tool.type));
        assert.ok(delivery, tool.type);
        assert.equal(delivery.status, 'skipped');
        assert.equal(delivery.reason, NO_ID[tool.type]);
        assert.equal(delivery.event_type, 'transaction.recorded');
      }
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      for (const tool of TOOLS) {
        assert.match(metrics, new RegExp(`crosswalk_destination_deliveries_total\\{type="${tool.type}",outcome="skipped"\\} [1-9]`));
      }
    });
  });
}
