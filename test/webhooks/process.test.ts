/**
 * Delivery across real server processes: a process killed with SIGKILL before or during delivery,
 * and several processes sharing one database's queue.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, DATABASES, onDatabase, IDENTIFIERS_PATH, PROFILE_PATH, queryRows, type TestDatabase } from '../helpers.js';
import { type ServerProcess, startServer } from '../process-helpers.js';
import { databaseUrl, type Receipt, type Receiver, startReceiver, waitFor } from './support.js';

const KEY = 'webhooks-process-key-0123456789';
const ENDPOINTS = '/crosswalk/v1/webhooks/endpoints/';

async function call(server: ServerProcess, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Api-Key ${KEY}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

const user = (id: string) => ({ 'adapty-customer-user-id': id });

/** Runs the tasks with at most `width` of them in flight. */
async function pooled(tasks: (() => Promise<unknown>)[], width: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  }));
}

for (const kind of DATABASES) {
  describe(`webhook delivery across server processes (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    let receiver: Receiver;
    const servers: ServerProcess[] = [];
    const start = async (env: Record<string, string> = {}, args?: string[]) => {
      // The receiver is on loopback: WEBHOOK_ALLOW_PRIVATE_NETWORKS lets the server deliver there.
      const server = await startServer({ DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: KEY, WEBHOOK_POLL_INTERVAL_MS: '20', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', ...env }, args);
      servers.push(server);
      return server;
    };
    let endpointId = '';
    /** The deliveries to the current test's endpoint. */
    const deliveries = () =>
      queryRows(database, `select seq, status, attempts, lease_until, profile_id from webhook_deliveries where endpoint_id = '${endpointId}' order by seq`);

    before(async () => {
      database = await createTestDatabase(kind);
      receiver = await startReceiver();
    });
    after(async () => {
      for (const server of servers) if (server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
      await receiver.close();
      await database.drop();
    });

    /** A fresh endpoint for the receiver (the previous test's removed), and a fresh receipt list. */
    async function subscribe(server: ServerProcess) {
      for (const old of (await call(server, 'GET', ENDPOINTS)).data) await call(server, 'DELETE', `${ENDPOINTS}${old.id}/`);
      receiver.receipts.length = 0;
      receiver.respond = () => 200;
      endpointId = (await call(server, 'POST', ENDPOINTS, {}, { url: receiver.url })).data.id;
    }

    test('events committed by a process killed before it delivered them are delivered after a restart', async () => {
      // The first process records events but does not deliver (its worker is off), then dies hard.
      const first = await start({ WEBHOOKS_ENABLED: 'false' });
      await subscribe(first);
      const profile = (await call(first, 'POST', PROFILE_PATH, user('crash-1'), {})).data;
      await call(first, 'POST', IDENTIFIERS_PATH, user('crash-1'), { appsflyer_id: 'af-crash' });
      assert.equal(await first.stop('SIGKILL'), null);
      const before = await deliveries();
      assert.ok(before.every((d) => d.profile_id === profile.profile_id));
      assert.deepEqual(before.map((d) => [d.status, Number(d.attempts)]), [['pending', 0], ['pending', 0]]);
      assert.equal(receiver.receipts.length, 0);

      const second = await start();
      await waitFor(() => receiver.delivered().length === 2, 'both events delivered by the restarted process');
      assert.deepEqual(receiver.receipts.map((r) => [r.eventType, r.attempt]), [['profile.created', 1], ['integration_identifiers.updated', 1]]);
      assert.equal(JSON.parse(receiver.receipts[1]!.body).data.changes.appsflyer_id.new, 'af-crash');
      await waitFor(async () => (await deliveries()).every((d) => d.status === 'succeeded'), 'recorded as succeeded');
      assert.equal(await second.stop('SIGTERM'), 0);
    });

    test('a process killed in the middle of an attempt: another process retries it once the lease runs out', async () => {
      // Lease: the 1 s timeout plus 5 s to record the outcome.
      const first = await start({ WEBHOOK_TIMEOUT_MS: '1000' });
      await subscribe(first);
      receiver.respond = (receipt) => (receipt.attempt === 1 ? 'hang' : 200);
      await call(first, 'POST', PROFILE_PATH, user('mid-attempt'), {});
      await waitFor(() => receiver.receipts.length === 1, 'the first attempt reached the receiver');
      const killedAt = Date.now();
      await first.stop('SIGKILL');
      const [held] = (await deliveries()).filter((d) => d.status === 'pending');
      assert.equal(Number(held!.attempts), 1);
      assert.ok(Number(held!.lease_until) > killedAt, 'still leased by the dead process');

      const second = await start({ WEBHOOK_TIMEOUT_MS: '1000' });
      await waitFor(() => receiver.delivered().length === 1, 'the retry after the lease', 20_000);
      assert.ok(receiver.receipts[1]!.receivedAt >= Number(held!.lease_until), 'not before the lease ran out');
      assert.deepEqual(receiver.receipts.map((r) => [r.deliveryId, r.attempt]), [[String(held!.seq), 1], [String(held!.seq), 2]]);
      await waitFor(async () => (await deliveries()).every((d) => d.status !== 'pending'), 'recorded');
      assert.equal(await second.stop('SIGTERM'), 0);
    });

    test('two processes on one database send every attempt exactly once, each profile in order', async () => {
      const a = await start({ WEBHOOK_CONCURRENCY: '4' });
      const b = await start({ WEBHOOK_CONCURRENCY: '4' });
      await subscribe(a);
      // Slow, scrambled answers; the first event of every fourth profile fails its first attempt
      // (retried about 10 s later, holding that profile's later events back meanwhile).
      const failsFirst = (receipt: Receipt) =>
        receipt.eventType === 'profile.created' && Number(JSON.parse(receipt.body).data.customer_user_id.split('-')[1]) % 4 === 0;
      receiver.respond = (receipt) =>
        failsFirst(receipt) && receipt.attempt === 1
          ? 500
          : new Promise((resolve) => setTimeout(() => resolve(200), (Number(receipt.deliveryId) * 13) % 30));
      const users = Array.from({ length: 16 }, (_, i) => `pair-${i}`);
      await pooled(users.map((id, i) => async () => {
        const [first, second] = i % 2 ? [a, b] : [b, a];
        await call(first, 'POST', PROFILE_PATH, user(id), {});
        await call(second, 'POST', IDENTIFIERS_PATH, user(id), { branch_id: `${id}-1` });
        await call(first, 'PATCH', PROFILE_PATH, user(id), { first_name: id });
        await call(second, 'POST', IDENTIFIERS_PATH, user(id), { branch_id: `${id}-2` });
      }), 8);

      assert.equal((await deliveries()).length, 64);
      await waitFor(async () => (await deliveries()).every((d) => d.status === 'succeeded'), 'every delivery succeeded', 40_000);

      const counts = new Map<string, number>();
      for (const r of receiver.receipts) counts.set(`${r.deliveryId}#${r.attempt}`, (counts.get(`${r.deliveryId}#${r.attempt}`) ?? 0) + 1);
      const twice = [...counts].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], 'no attempt was sent twice');
      const retried = new Set(receiver.receipts.filter(failsFirst).map((r) => Number(r.deliveryId)));
      assert.equal(retried.size, 4);
      const stored = await deliveries();
      const expected = stored.flatMap((d) => (retried.has(Number(d.seq)) ? [`${d.seq}#1`, `${d.seq}#2`] : [`${d.seq}#1`]));
      assert.deepEqual([...counts.keys()].sort(), expected.sort(), 'every attempt the database counts was received, once');
      for (const d of stored) assert.equal(Number(d.attempts), retried.has(Number(d.seq)) ? 2 : 1);

      for (const id of users) {
        const mine = receiver.receipts.filter((r) => JSON.parse(r.body).data.customer_user_id === id);
        const delivered = mine.filter((r) => r.answered === 200).map((r) => r.eventType);
        assert.deepEqual(delivered, ['profile.created', 'integration_identifiers.updated', 'profile.updated', 'integration_identifiers.updated'], id);
        for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.receivedAt >= mine[i - 1]!.answeredAt!, `${id}: two events at once`);
      }
      assert.equal(await a.stop('SIGTERM'), 0);
      assert.equal(await b.stop('SIGTERM'), 0);
    });

    test('crosswalk serve --workers 2 delivers from its worker processes and stops cleanly', async () => {
      const cluster = await start({}, ['src/cli/main.ts', 'serve', '--workers', '2']);
      await subscribe(cluster);
      await call(cluster, 'POST', PROFILE_PATH, user('clustered'), {});
      await waitFor(() => receiver.delivered().length === 1, 'delivered by a worker process');
      assert.equal(receiver.receipts[0]!.eventType, 'profile.created');
      assert.equal(await cluster.stop('SIGTERM'), 0);
    });
  });
}
