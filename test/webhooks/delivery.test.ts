import assert from 'node:assert/strict';
import { describe, test, type TestContext as NodeTestContext } from 'node:test';
import { DEFAULT_RULES } from '../../src/domain/rules.js';
import { CROSSWALK_VERSION } from '../../src/version.js';
import { verifySignature } from '../../src/webhooks/signing.js';
import { NetworkPolicy } from '../../src/webhooks/network-policy.js';
import { DeliveryWorker, type WorkerOptions } from '../../src/webhooks/worker.js';
import { createTestContext, DATABASES, onDatabase, IDENTIFIERS_PATH, PROFILE_PATH, queryRows, send, type Tenant, type TestContext } from '../helpers.js';
import { ManualClock, type Receiver, startReceiver, waitFor } from './support.js';

const ENDPOINTS = '/crosswalk/v1/webhooks/endpoints/';
const DELIVERIES = '/crosswalk/v1/webhooks/deliveries/';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECOND = 1000;
const HOUR = 3_600_000;

for (const kind of DATABASES) {
  describe(`webhook delivery (${kind})`, onDatabase(kind), () => {
    // Each test has a database of its own: a worker takes the due deliveries of every app.
    interface Setup {
      ctx: TestContext;
      tenant: Tenant;
      receiver: Receiver;
      endpoint: { id: string; secret: string };
      worker: DeliveryWorker;
      clock: ManualClock;
      /** Headers addressing a profile of the tenant by customer user id. */
      user(customerUserId: string): Record<string, string>;
      deliveries(query?: string): Promise<Record<string, any>[]>;
    }

    async function setup(t: NodeTestContext, options: Partial<WorkerOptions> = {}, endpointBody: Record<string, unknown> = {}): Promise<Setup> {
      // The receiver is on loopback: allowed only because these tests say so.
      const ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      const receiver = await startReceiver();
      const clock = new ManualClock();
      const worker = new DeliveryWorker(ctx.store.webhooks, {
        network: new NetworkPolicy(ctx.config.webhooks),
        timeoutMs: 2_000,
        pollIntervalMs: 60_000,
        concurrency: 8,
        retentionMs: 0,
        clock,
        // The middle of the jitter range: waits are exactly the schedule's.
        random: () => 0.5,
        ...options,
      });
      t.after(async () => {
        await worker.stop(0);
        await receiver.close();
        await ctx.close();
      });
      const tenant = await ctx.newTenant();
      const res = await send(ctx.app, 'POST', ENDPOINTS, tenant.auth, { url: receiver.url, ...endpointBody });
      assert.equal(res.statusCode, 201, res.body);
      return {
        ctx,
        tenant,
        receiver,
        endpoint: res.json().data,
        worker,
        clock,
        user: (customerUserId) => ({ ...tenant.auth, 'adapty-customer-user-id': customerUserId }),
        deliveries: async (query = '') => (await send(ctx.app, 'GET', `${DELIVERIES}?limit=100${query}`, tenant.auth)).json().data,
      };
    }

    async function call(s: Setup, method: 'POST' | 'PATCH' | 'DELETE', path: string, headers: Record<string, string>, body?: unknown) {
      const res = await send(s.ctx.app, method, path, headers, body);
      assert.ok(res.statusCode < 300, `${method} ${path}: ${res.statusCode} ${res.body}`);
      return res.body === '' ? undefined : res.json();
    }

    test('every event type arrives signed, with the documented payload, woken by the commit', async (t) => {
      // Real time and a poll far away: only the store's signal after each commit can start the deliveries.
      const s = await setup(t, { clock: { now: () => Date.now() } });
      s.ctx.store.onDeliveriesQueued(() => s.worker.wake());
      s.worker.start();
      await s.ctx.store.setRules(s.tenant.appId, { ...DEFAULT_RULES, conflictPolicies: { appsflyer_id: 'move' } });

      const ada = (await call(s, 'POST', PROFILE_PATH, s.user('ada'), { first_name: 'Ada', custom_attributes: [{ key: 'plan', value: 'pro' }] })).data;
      await call(s, 'PATCH', PROFILE_PATH, s.user('ada'), { last_name: 'Lovelace', email: 'ada@example.com' });
      await call(s, 'POST', IDENTIFIERS_PATH, s.user('ada'), { appsflyer_id: 'af-1', amplitude_user_id: 'amp-1' });
      await call(s, 'POST', IDENTIFIERS_PATH, s.user('ada'), { amplitude_user_id: null });
      const bob = (await call(s, 'POST', PROFILE_PATH, s.user('bob'), {})).data;
      // Under "move", bob takes af-1 away from ada: one event for each profile.
      await call(s, 'POST', IDENTIFIERS_PATH, s.user('bob'), { appsflyer_id: 'af-1' });
      // A deletion cancels the profile's deliveries still pending: let the earlier ones arrive first.
      // Arrived is not enough: an attempt whose outcome is not yet recorded is still pending, and
      // the deletion would cancel it.
      await waitFor(() => s.receiver.delivered().length === 7, `7 deliveries (have ${s.receiver.receipts.length})`);
      await waitFor(async () => (await s.deliveries('&status=succeeded')).length === 7, '7 deliveries recorded as succeeded');
      await call(s, 'DELETE', PROFILE_PATH, s.user('ada'));

      await waitFor(() => s.receiver.delivered().length === 8, `8 deliveries (have ${s.receiver.receipts.length})`);
      const payloads = s.receiver.receipts.map((r) => JSON.parse(r.body));
      // Each profile's events in order; the two profiles' events may interleave.
      const of = (profileId: string) => payloads.filter((p) => p.data.profile_id === profileId).map(({ id: _id, created_at: _at, ...rest }) => rest);
      const appId = s.tenant.appId;
      assert.deepEqual(of(ada.profile_id), [
        { type: 'profile.created', app_id: appId, data: { profile_id: ada.profile_id, customer_user_id: 'ada', fields: ['first_name', 'custom_attributes'] } },
        { type: 'profile.updated', app_id: appId, data: { profile_id: ada.profile_id, customer_user_id: 'ada', fields: ['last_name', 'email'] } },
        {
          type: 'integration_identifiers.updated',
          app_id: appId,
          data: { profile_id: ada.profile_id, customer_user_id: 'ada', changes: { amplitude_user_id: { old: null, new: 'amp-1' }, appsflyer_id: { old: null, new: 'af-1' } } },
        },
        { type: 'integration_identifiers.updated', app_id: appId, data: { profile_id: ada.profile_id, customer_user_id: 'ada', changes: { amplitude_user_id: { old: 'amp-1', new: null } } } },
        {
          type: 'integration_identifiers.updated',
          app_id: appId,
          data: { profile_id: ada.profile_id, customer_user_id: 'ada', changes: { appsflyer_id: { old: 'af-1', new: null } }, moved_to_profile_id: bob.profile_id },
        },
        // Ids only: the deleted profile's customer user id is not kept (see docs/reliability.md).
        { type: 'profile.deleted', app_id: appId, data: { profile_id: ada.profile_id, customer_user_id: null } },
      ]);
      assert.deepEqual(of(bob.profile_id), [
        { type: 'profile.created', app_id: appId, data: { profile_id: bob.profile_id, customer_user_id: 'bob', fields: [] } },
        { type: 'integration_identifiers.updated', app_id: appId, data: { profile_id: bob.profile_id, customer_user_id: 'bob', changes: { appsflyer_id: { old: null, new: 'af-1' } } } },
      ]);

      const stored = await s.deliveries();
      for (const receipt of s.receiver.receipts) {
        const payload = JSON.parse(receipt.body);
        assert.match(payload.id, UUID);
        assert.match(payload.created_at, ISO);
        assert.equal(receipt.headers['content-type'], 'application/json');
        assert.equal(receipt.headers['user-agent'], `Crosswalk-Webhooks/${CROSSWALK_VERSION}`);
        assert.equal(receipt.eventId, payload.id);
        assert.equal(receipt.eventType, payload.type);
        assert.equal(receipt.attempt, 1);
        const delivery = stored.find((d) => String(d.id) === receipt.deliveryId);
        assert.ok(delivery, `delivery ${receipt.deliveryId} is listed`);
        assert.equal(delivery.event_id, payload.id);
        const signature = String(receipt.headers['crosswalk-signature']);
        assert.match(signature, /^t=\d{10},v1=[0-9a-f]{64}$/);
        assert.ok(verifySignature(s.endpoint.secret, signature, receipt.body), 'the signature verifies');
        assert.ok(!verifySignature(s.endpoint.secret, signature, receipt.body.replace('"data"', '"data" ')), 'a changed body does not');
        assert.ok(!verifySignature(`${s.endpoint.secret}x`, signature, receipt.body), 'another secret does not');
        assert.ok(!verifySignature(s.endpoint.secret, signature, receipt.body, { now: Date.now() + 301 * SECOND }), 'an old signature does not');
      }
      await waitFor(async () => (await s.deliveries()).every((d) => d.status === 'succeeded'), 'every delivery recorded as succeeded');
      for (const delivery of await s.deliveries()) {
        assert.equal(delivery.attempts, 1);
        assert.equal(delivery.last_status_code, 200);
        assert.equal(delivery.last_error, null);
        assert.equal(delivery.next_attempt_at, null);
        assert.match(delivery.completed_at, ISO);
      }
    });

    test('an endpoint answering 500 is retried on the schedule, then marked failed after the retry period and kept', async (t) => {
      const s = await setup(t, { schedule: { retryPeriodMs: HOUR } });
      s.receiver.respond = () => 500;
      await call(s, 'POST', PROFILE_PATH, s.user('retry'), {});
      const [made] = await s.deliveries();
      const createdAt = Date.parse(made!.created_at);
      s.clock.time = createdAt;

      // 10 s doubling: attempts at 0, 10, 30, 70, 150, 310, 630, 1270 and 2550 s; the next wait
      // (2560 s) would end after the hour, so the ninth failure is the last.
      const attemptsAt = [0, 10, 30, 70, 150, 310, 630, 1270, 2550].map((seconds) => createdAt + seconds * SECOND);
      for (const [i, at] of attemptsAt.entries()) {
        s.clock.time = at - 1;
        assert.deepEqual(await s.worker.runOnce(), [], `nothing is due 1 ms before attempt ${i + 1}`);
        s.clock.time = at;
        const [report, ...rest] = await s.worker.runOnce();
        assert.equal(rest.length, 0);
        assert.equal(report!.claim.attempt, i + 1);
        assert.equal(report!.recorded, true);
        assert.deepEqual(report!.outcome, {
          status: 'failed',
          statusCode: 500,
          error: 'HTTP 500: nope 500',
          nextAttemptAt: i + 1 < attemptsAt.length ? attemptsAt[i + 1]! : null,
        });
      }
      assert.deepEqual(s.receiver.receipts.map((r) => r.attempt), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(new Set(s.receiver.receipts.map((r) => r.deliveryId)).size, 1);
      s.clock.advance(48 * HOUR);
      assert.deepEqual(await s.worker.runOnce(), [], 'a failed delivery is not tried again');
      const [failed] = await s.deliveries();
      assert.deepEqual(
        { ...failed, created_at: '', completed_at: '' },
        {
          ...made,
          created_at: '',
          completed_at: '',
          status: 'failed',
          attempts: 9,
          next_attempt_at: null,
          last_attempt_at: new Date(attemptsAt.at(-1)!).toISOString(),
          last_status_code: 500,
          last_error: 'HTTP 500: nope 500',
        },
      );
      assert.equal(failed!.completed_at, new Date(attemptsAt.at(-1)!).toISOString());
    });

    test('a timeout and a dropped connection are failed attempts, retried on the schedule; then success', async (t) => {
      const s = await setup(t, { timeoutMs: 300 });
      s.receiver.respond = (receipt) => (receipt.attempt === 1 ? 'hang' : receipt.attempt === 2 ? 'drop' : 204);
      await call(s, 'POST', PROFILE_PATH, s.user('slow'), {});
      const [made] = await s.deliveries();
      const start = Date.parse(made!.created_at);
      s.clock.time = start;

      const [timedOut] = await s.worker.runOnce();
      assert.deepEqual(timedOut!.outcome, { status: 'failed', statusCode: null, error: 'timed out after 300 ms', nextAttemptAt: start + 10 * SECOND });
      const [afterTimeout] = await s.deliveries();
      assert.equal(afterTimeout!.status, 'pending');
      assert.equal(afterTimeout!.last_error, 'timed out after 300 ms');
      assert.equal(afterTimeout!.last_status_code, null);
      assert.equal(afterTimeout!.next_attempt_at, new Date(start + 10 * SECOND).toISOString());

      s.clock.time = start + 10 * SECOND - 1;
      assert.deepEqual(await s.worker.runOnce(), []);
      s.clock.time = start + 10 * SECOND;
      const [dropped] = await s.worker.runOnce();
      assert.equal(dropped!.outcome.status, 'failed');
      assert.match((dropped!.outcome as { error: string }).error, /^fetch failed: /);
      assert.equal((dropped!.outcome as { nextAttemptAt: number }).nextAttemptAt, start + 30 * SECOND);

      s.clock.time = start + 30 * SECOND;
      const [delivered] = await s.worker.runOnce();
      assert.deepEqual(delivered!.outcome, { status: 'succeeded', statusCode: 204 });
      assert.deepEqual(s.receiver.receipts.map((r) => [r.deliveryId, r.attempt]), [1, 2, 3].map((n) => [String(made!.id), n]));
      const [done] = await s.deliveries();
      assert.equal(done!.status, 'succeeded');
      assert.equal(done!.attempts, 3);
      assert.equal(done!.last_error, null);
    });

    test('a redirect is a failed attempt and is not followed', async (t) => {
      const s = await setup(t);
      s.receiver.respond = () => 307;
      await call(s, 'POST', PROFILE_PATH, s.user('redirected'), {});
      const [made] = await s.deliveries();
      s.clock.time = Date.parse(made!.created_at);
      const [report] = await s.worker.runOnce();
      assert.deepEqual(report!.outcome, { status: 'failed', statusCode: 307, error: 'HTTP 307: nope 307', nextAttemptAt: s.clock.time + 10 * SECOND });
      assert.equal(s.receiver.receipts.length, 1);
    });

    test('a refused connection is a failed attempt with the reason kept', async (t) => {
      const closed = await startReceiver();
      await closed.close();
      const s = await setup(t, {}, { url: closed.url });
      await call(s, 'POST', PROFILE_PATH, s.user('refused'), {});
      const [made] = await s.deliveries();
      s.clock.time = Date.parse(made!.created_at);
      const [refused] = await s.worker.runOnce();
      assert.equal(refused!.outcome.status, 'failed');
      assert.match((refused!.outcome as { error: string }).error, /^fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
      assert.match((await s.deliveries())[0]!.last_error, /ECONNREFUSED/);
    });

    test('events of one profile reach an endpoint in order, even when an earlier one needs retries', async (t) => {
      const s = await setup(t);
      let failuresLeft = 2;
      s.receiver.respond = (receipt) => (JSON.parse(receipt.body).type === 'profile.created' && JSON.parse(receipt.body).data.customer_user_id === 'p' && failuresLeft-- > 0 ? 503 : 200);
      await call(s, 'POST', PROFILE_PATH, s.user('p'), {});
      await call(s, 'POST', IDENTIFIERS_PATH, s.user('p'), { branch_id: 'b-1' });
      await call(s, 'PATCH', PROFILE_PATH, s.user('p'), { first_name: 'P' });
      await call(s, 'POST', IDENTIFIERS_PATH, s.user('p'), { branch_id: 'b-2' });
      await call(s, 'POST', PROFILE_PATH, s.user('q'), {});
      await call(s, 'POST', IDENTIFIERS_PATH, s.user('q'), { branch_id: 'q-1' });
      const made = (await s.deliveries()).reverse();
      s.clock.time = Date.parse(made.at(-1)!.created_at);

      // Only the first event of each profile may go: p's first fails, q's first succeeds.
      let reports = await s.worker.runOnce();
      assert.deepEqual(reports.map((r) => [r.claim.id, r.outcome.status]), [[made[0]!.id, 'failed'], [made[4]!.id, 'succeeded']]);
      // q's next one is free now; p's are held behind the retry.
      reports = await s.worker.runOnce();
      assert.deepEqual(reports.map((r) => r.claim.id), [made[5]!.id]);
      assert.deepEqual(await s.worker.runOnce(), []);
      s.clock.advance(10 * SECOND);
      reports = await s.worker.runOnce();
      assert.deepEqual(reports.map((r) => [r.claim.id, r.claim.attempt, r.outcome.status]), [[made[0]!.id, 2, 'failed']]);
      s.clock.advance(20 * SECOND);
      for (const expected of [made[0], made[1], made[2], made[3]]) {
        reports = await s.worker.runOnce();
        assert.deepEqual(reports.map((r) => [r.claim.id, r.outcome.status]), [[expected!.id, 'succeeded']]);
      }
      assert.deepEqual(await s.worker.runOnce(), []);

      const pReceipts = s.receiver.receipts.filter((r) => JSON.parse(r.body).data.customer_user_id === 'p');
      assert.deepEqual(
        pReceipts.map((r) => [Number(r.deliveryId), r.attempt, r.answered]),
        [[made[0]!.id, 1, 503], [made[0]!.id, 2, 503], [made[0]!.id, 3, 200], [made[1]!.id, 1, 200], [made[2]!.id, 1, 200], [made[3]!.id, 1, 200]],
      );
    });

    test('the started worker keeps one profile in order at full concurrency and never exceeds it', async (t) => {
      const s = await setup(t, { clock: { now: () => Date.now() }, concurrency: 3, pollIntervalMs: 20 });
      // Answers come late and in a scrambled order, so that a worker that sent two events of a
      // profile at once would be caught.
      s.receiver.respond = (receipt) => new Promise((resolve) => setTimeout(() => resolve(200), (Number(receipt.deliveryId) * 7) % 40));
      for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) {
        await call(s, 'POST', PROFILE_PATH, s.user(user), {});
        for (let i = 0; i < 3; i++) await call(s, 'POST', IDENTIFIERS_PATH, s.user(user), { branch_id: `${user}-${i}` });
      }
      s.worker.start();
      await waitFor(() => s.receiver.delivered().length === 20, `20 deliveries (have ${s.receiver.delivered().length})`);
      assert.ok(s.receiver.maxInFlight <= 3, `at most 3 at once, saw ${s.receiver.maxInFlight}`);
      assert.ok(s.receiver.maxInFlight >= 2, `profiles were delivered side by side, saw ${s.receiver.maxInFlight}`);
      for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) {
        const mine = s.receiver.receipts.filter((r) => JSON.parse(r.body).data.customer_user_id === user);
        const ids = mine.map((r) => Number(r.deliveryId));
        assert.equal(ids.length, 4);
        assert.deepEqual(ids, [...ids].sort((x, y) => x - y), `${user} in order`);
        // Never two of one profile's events at the endpoint at once: each is sent after the previous was answered.
        for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.receivedAt >= mine[i - 1]!.answeredAt!, `${user}: event ${i + 1} overlapped event ${i}`);
      }
    });

    test('a removed endpoint receives nothing more, not even a retry; an attempt in flight is not recorded over the removal', async (t) => {
      const s = await setup(t);
      let release: (status: number) => void = () => {};
      const user = (receipt: { body: string }) => JSON.parse(receipt.body).data.customer_user_id;
      s.receiver.respond = (receipt) => (receipt.eventType === 'profile.created' ? 500 : new Promise<number>((resolve) => (release = resolve)));
      await call(s, 'POST', PROFILE_PATH, s.user('gone'), {});
      await call(s, 'POST', PROFILE_PATH, s.user('held'), {});
      await call(s, 'POST', IDENTIFIERS_PATH, s.user('held'), { branch_id: 'x' });
      const made = (await s.deliveries()).reverse();
      s.clock.time = Date.parse(made.at(-1)!.created_at);
      // Both creates fail and wait for a retry; the retry of "gone" fails again, that of "held" succeeds.
      assert.deepEqual((await s.worker.runOnce()).map((r) => r.outcome.status), ['failed', 'failed']);
      s.clock.advance(10 * SECOND);
      s.receiver.respond = (receipt) =>
        user(receipt) === 'gone' ? 500 : receipt.eventType === 'profile.created' ? 200 : new Promise<number>((resolve) => (release = resolve));
      assert.deepEqual((await s.worker.runOnce()).map((r) => r.outcome.status), ['failed', 'succeeded']);
      // The identifier event is now in flight, its answer held back, while the endpoint is removed.
      const inFlight = s.worker.runOnce();
      await waitFor(() => s.receiver.receipts.length === 5, 'the identifier event reached the receiver');
      assert.equal((await send(s.ctx.app, 'DELETE', `${ENDPOINTS}${s.endpoint.id}/`, s.tenant.auth)).statusCode, 204);
      release(200);
      const [late] = await inFlight;
      assert.equal(late!.outcome.status, 'succeeded');
      assert.equal(late!.recorded, false, 'the outcome of an attempt made before the removal is not recorded');

      // Neither the retry of "gone" nor new changes go anywhere, however long we wait.
      await call(s, 'POST', IDENTIFIERS_PATH, s.user('held'), { branch_id: 'y' });
      await call(s, 'POST', IDENTIFIERS_PATH, s.user('gone'), { branch_id: 'z' });
      for (const hours of [1, 24, 48]) {
        s.clock.time = Date.parse(made.at(-1)!.created_at) + hours * HOUR;
        assert.deepEqual(await s.worker.runOnce(), []);
      }
      assert.equal(s.receiver.receipts.length, 5);
      const statuses = (await s.deliveries()).reverse().map((d) => [d.id, d.status]);
      assert.deepEqual(statuses, [[made[0]!.id, 'cancelled'], [made[1]!.id, 'succeeded'], [made[2]!.id, 'cancelled']]);
    });

    test('a claim is held for its lease: a second worker waits, then retries it, and the first cannot record over it', async (t) => {
      const s = await setup(t);
      await call(s, 'POST', PROFILE_PATH, s.user('lease'), {});
      const [made] = await s.deliveries();
      const now = Date.parse(made!.created_at);
      const queue = s.ctx.store.webhooks;
      const [first] = await queue.claimDue(now, 10, 5_000);
      assert.equal(first!.attempt, 1);
      assert.equal(first!.payload, (await queryRows(s.ctx.database, `select payload from webhook_events where id = '${made!.event_id}'`))[0]!.payload);
      assert.deepEqual(await queue.claimDue(now + 4_999, 10, 5_000), [], 'held by the first lease');
      // The first worker is gone (crashed): after the lease, the next attempt starts.
      const [second] = await queue.claimDue(now + 5_000, 10, 5_000);
      assert.equal(second!.id, first!.id);
      assert.equal(second!.attempt, 2);
      assert.equal(await queue.recordAttempt(first!, { status: 'succeeded', statusCode: 200 }, now + 5_001), false, 'stale attempt');
      assert.equal(await queue.recordAttempt(second!, { status: 'succeeded', statusCode: 204 }, now + 5_002), true);
      assert.equal(await queue.recordAttempt(second!, { status: 'failed', statusCode: 500, error: 'x', nextAttemptAt: now + 9_000 }, now + 5_003), false, 'recorded once');
      const [done] = await s.deliveries();
      assert.equal(done!.status, 'succeeded');
      assert.equal(done!.attempts, 2);
      assert.equal(done!.last_status_code, 204);
    });

    test('stopping waits for attempts in flight, then aborts them and records a failed attempt to retry', async (t) => {
      const s = await setup(t, { clock: { now: () => Date.now() }, timeoutMs: 30_000 });
      s.receiver.respond = () => 'hang';
      await call(s, 'POST', PROFILE_PATH, s.user('stop'), {});
      s.worker.start();
      await waitFor(() => s.receiver.receipts.length === 1, 'the attempt reached the receiver');
      const started = Date.now();
      await s.worker.stop(200);
      assert.ok(Date.now() - started < 5_000, 'stop is bounded');
      const [delivery] = await s.deliveries();
      assert.equal(delivery!.status, 'pending');
      assert.equal(delivery!.attempts, 1);
      assert.equal(delivery!.last_error, 'stopped: the server shut down during the attempt');
      assert.ok(Date.parse(delivery!.next_attempt_at) > Date.now() + 5 * SECOND);
    });

    test('pruning deletes completed deliveries older than the retention and their events, and keeps the rest', async (t) => {
      const s = await setup(t, { retentionMs: 7 * 24 * HOUR });
      s.receiver.respond = (receipt) => (receipt.eventType === 'profile.updated' ? 500 : 200);
      await call(s, 'POST', PROFILE_PATH, s.user('old'), {});
      await call(s, 'PATCH', PROFILE_PATH, s.user('old'), { first_name: 'Still pending' });
      const made = (await s.deliveries()).reverse();
      s.clock.time = Date.parse(made.at(-1)!.created_at);
      assert.deepEqual((await s.worker.runOnce()).map((r) => r.outcome.status), ['succeeded']);
      assert.deepEqual((await s.worker.runOnce()).map((r) => r.outcome.status), ['failed']);

      s.clock.advance(7 * 24 * HOUR - 1);
      assert.deepEqual(await s.worker.prune(), { deliveries: 0, events: 0 }, 'not old enough yet');
      s.clock.advance(2);
      assert.deepEqual(await s.worker.prune(), { deliveries: 1, events: 1 });
      const left = await s.deliveries();
      assert.deepEqual(left.map((d) => [d.id, d.status]), [[made[1]!.id, 'pending']]);
      const events = await queryRows(s.ctx.database, 'select id from webhook_events');
      assert.deepEqual(events.map((e) => e.id), [made[1]!.event_id]);
    });
  });
}
