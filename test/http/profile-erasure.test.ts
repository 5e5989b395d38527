import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ANSWER_ERASED, PROFILE_DELETED } from '../../src/storage/event-erasure.js';
import type { ClaimedDelivery } from '../../src/storage/webhook-store.js';
import { verifySignature } from '../../src/webhooks/signing.js';
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
  type TestDatabase,
  TRANSACTION_PATH,
} from '../helpers.js';
import { startDeliveringApp, waitFor } from '../webhooks/support.js';

// Deleting a profile is the erasure a user asks for under privacy law: after it, the profile's
// customer user id, identifier values and other personal data are in no table of the database,
// the webhook outbox included, while events about other profiles are left alone.

const DELIVERIES = '/crosswalk/v1/webhooks/deliveries/';

/** Every row of every table of the test database, as text. */
async function everyRow(database: TestDatabase): Promise<Map<string, string>> {
  const tables = await queryRows(
    database,
    database.config.kind === 'sqlite'
      ? "select name from sqlite_master where type = 'table'"
      : 'select table_name as name from information_schema.tables where table_schema = current_schema()',
  );
  const dump = new Map<string, string>();
  for (const { name } of tables) dump.set(String(name), JSON.stringify(await queryRows(database, `select * from "${String(name)}"`)));
  return dump;
}

/** The tables in which any of `secrets` appears. */
async function tablesHolding(database: TestDatabase, secrets: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const [table, rows] of await everyRow(database)) {
    for (const secret of secrets) if (rows.includes(secret)) found.push(`${table}: ${secret}`);
  }
  return found;
}

/** A profile with personal data everywhere a profile can hold it, and events about it at an endpoint. */
async function personalProfile(ctx: TestContext, tenant: Tenant, tag: string) {
  const secrets = {
    cuid: `cuid-${tag}-${randomUUID()}`,
    email: `${tag}-${randomUUID().slice(0, 8)}@example.com`,
    firstName: `First${randomUUID().slice(0, 8)}`,
    plan: `plan-${randomUUID()}`,
    appsflyer: `af-${randomUUID()}`,
    amplitude: `amp-${randomUUID()}`,
    transaction: `tx-${randomUUID()}`,
  };
  const headers = { ...tenant.auth, 'adapty-customer-user-id': secrets.cuid };
  const created = await send(ctx.app, 'POST', PROFILE_PATH, headers, {
    first_name: secrets.firstName,
    email: secrets.email,
    custom_attributes: [{ key: 'plan', value: secrets.plan }],
  });
  assert.equal(created.statusCode, 200, created.body);
  const ids = await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { appsflyer_id: secrets.appsflyer, amplitude_user_id: secrets.amplitude });
  assert.equal(ids.statusCode, 200, ids.body);
  const purchase = await send(ctx.app, 'POST', TRANSACTION_PATH, headers, subscriptionBody(secrets.transaction));
  assert.equal(purchase.statusCode, 200, purchase.body);
  const patched = await send(ctx.app, 'PATCH', PROFILE_PATH, headers, { last_name: 'Later' });
  assert.equal(patched.statusCode, 200, patched.body);
  return { profileId: created.json().data.profile_id as string, headers, secrets: Object.values(secrets) };
}

const erasedPayload = (row: Record<string, unknown>) => ({
  id: row.id,
  type: row.type,
  created_at: new Date(Number(row.created_at)).toISOString(),
  app_id: row.app_id,
  data: { profile_id: row.profile_id, customer_user_id: null, erased: true },
});

for (const kind of DATABASES) {
  describe(`profile deletion erases personal data (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    before(async () => {
      // Endpoints on loopback: nothing is sent in this suite, which drives the queue itself.
      ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      tenant = await ctx.newTenant();
      const added = await send(ctx.app, 'POST', '/crosswalk/v1/webhooks/endpoints/', tenant.auth, { url: 'http://127.0.0.1:9/hooks' });
      assert.equal(added.statusCode, 201, added.body);
    });
    after(() => ctx.close());

    /**
     * Claims every due delivery as a worker would (one per profile: the queue keeps each profile's
     * events in order), delivers those of other profiles than `profileId`, and answers its own.
     */
    async function claimOf(profileId: string, now: number): Promise<ClaimedDelivery> {
      let mine: ClaimedDelivery | undefined;
      for (const claim of await ctx.store.webhooks.claimDue(now, 100, 15_000)) {
        if (JSON.parse(claim.payload).data.profile_id === profileId) mine = claim;
        else assert.ok(await ctx.store.webhooks.recordAttempt(claim, { status: 'succeeded', statusCode: 200 }, now));
      }
      assert.ok(mine, `a due delivery of ${profileId}`);
      return mine;
    }

    test('events keep only ids, pending deliveries are cancelled, receivers\' answers are erased, and no table holds the data', async () => {
      const kept = await personalProfile(ctx, tenant, 'kept');
      const gone = await personalProfile(ctx, tenant, 'gone');
      const now = Date.now();
      // The deleted profile's deliveries in every state: succeeded; failed for good, with an answer
      // that quotes the body; failed once (an answer quoting the body) and under way again; never tried.
      const delivered = await claimOf(gone.profileId, now);
      assert.ok(await ctx.store.webhooks.recordAttempt(delivered, { status: 'succeeded', statusCode: 204 }, now));
      const echoed = (claim: ClaimedDelivery) => `HTTP 400: cannot handle ${claim.payload.slice(0, 300)}`;
      const failed = await claimOf(gone.profileId, now);
      assert.ok(await ctx.store.webhooks.recordAttempt(failed, { status: 'failed', statusCode: 400, error: echoed(failed), nextAttemptAt: null }, now));
      const retried = await claimOf(gone.profileId, now);
      assert.ok(await ctx.store.webhooks.recordAttempt(retried, { status: 'failed', statusCode: 400, error: echoed(retried), nextAttemptAt: now }, now));
      const underWay = await claimOf(gone.profileId, now);
      assert.equal(underWay.id, retried.id);
      assert.ok(underWay.payload.includes(gone.secrets[0]!), 'the queue held the personal data before the deletion');
      const stored = await queryRows(ctx.database, `select count(*) as n from webhook_deliveries where last_error like '%${gone.secrets[0]}%'`);
      assert.equal(Number(stored[0]!.n), 2, 'the answers quoting the body are stored');

      assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, gone.headers)).statusCode, 204);

      assert.deepEqual(await tablesHolding(ctx.database, gone.secrets), []);
      // The kept profile's data is all still there.
      const keptFound = await tablesHolding(ctx.database, kept.secrets);
      for (const secret of kept.secrets) assert.ok(keptFound.some((hit) => hit.endsWith(secret)), secret);

      const events = await queryRows(ctx.database, `select * from webhook_events where profile_id = '${gone.profileId}' order by created_at`);
      const types = events.map((row) => row.type);
      for (const type of ['profile.created', 'integration_identifiers.updated', 'transaction.recorded', 'profile.updated', 'profile.deleted']) {
        assert.ok(types.includes(type), `${type} is still stored`);
      }
      for (const row of events) {
        const payload = JSON.parse(String(row.payload));
        if (row.type === 'profile.deleted') {
          assert.deepEqual(payload.data, { profile_id: gone.profileId, customer_user_id: null });
        } else {
          assert.deepEqual(payload, erasedPayload(row));
        }
      }

      const deliveries = await queryRows(ctx.database, `select d.*, e.type from webhook_deliveries d join webhook_events e on e.app_id = d.app_id and e.id = d.event_id where d.profile_id = '${gone.profileId}' order by d.seq`);
      const state = (id: number) => deliveries.find((row) => Number(row.seq) === id)!;
      assert.deepEqual([state(delivered.id).status, state(delivered.id).last_error], ['succeeded', null]);
      assert.deepEqual([state(failed.id).status, state(failed.id).last_error, Number(state(failed.id).last_status_code)], ['failed', ANSWER_ERASED, 400]);
      assert.deepEqual([state(underWay.id).status, state(underWay.id).last_error], ['cancelled', PROFILE_DELETED]);
      // Delivered, failed, under way, then the ones never tried (cancelled), then profile.deleted.
      const never = deliveries.length - 4;
      assert.ok(never >= 1);
      assert.deepEqual(deliveries.map((row) => row.status), ['succeeded', 'failed', 'cancelled', ...Array(never).fill('cancelled'), 'pending']);
      const pending = deliveries.filter((row) => row.status === 'pending');
      assert.deepEqual(pending.map((row) => row.type), ['profile.deleted']);
      assert.ok(deliveries.filter((row) => row.status === 'cancelled').every((row) => row.last_error === PROFILE_DELETED));

      // The attempt under way may still arrive: profile.deleted waits until its lease has run out.
      assert.equal(Number(pending[0]!.next_attempt_at), underWay.leaseUntil);
      const early = await ctx.store.webhooks.claimDue(underWay.leaseUntil - 1, 100, 15_000);
      assert.ok(early.every((claim) => JSON.parse(claim.payload).data.profile_id !== gone.profileId));
      // That attempt ends before its lease: its outcome is not recorded, and profile.deleted is due at once.
      const ended = now + 1_000;
      assert.equal(await ctx.store.webhooks.recordAttempt(underWay, { status: 'succeeded', statusCode: 200 }, ended), false);
      const released = await queryRows(ctx.database, `select status, next_attempt_at from webhook_deliveries where seq = ${Number(pending[0]!.seq)}`);
      assert.deepEqual([released[0]!.status, Number(released[0]!.next_attempt_at)], ['pending', ended]);
      const deleted = await claimOf(gone.profileId, ended);
      assert.equal(deleted.eventType, 'profile.deleted');
      assert.deepEqual(JSON.parse(deleted.payload).data, { profile_id: gone.profileId, customer_user_id: null });

      // Through the deliveries API: the profile's deliveries are listed, without its data.
      const listed = await send(ctx.app, 'GET', `${DELIVERIES}?profile_id=${gone.profileId}&limit=100`, tenant.auth);
      assert.equal(listed.statusCode, 200, listed.body);
      assert.deepEqual(
        listed.json().data.map((d: { event_type: string; status: string }) => [d.event_type, d.status]).sort(),
        deliveries.map((row) => [row.type, row.seq === deleted.id ? 'pending' : row.status]).sort(),
      );
      const everything = await send(ctx.app, 'GET', `${DELIVERIES}?limit=100`, tenant.auth);
      for (const secret of gone.secrets) assert.ok(!everything.body.includes(secret), secret);
    });

    test('the identifier history and revenue rows of the profile are gone; a profile without events is deleted as before', async () => {
      const quiet = await ctx.newTenant();
      const cuid = `quiet-${randomUUID()}`;
      const headers = { ...quiet.auth, 'adapty-customer-user-id': cuid };
      const created = await send(ctx.app, 'POST', PROFILE_PATH, headers, {});
      const profileId = created.json().data.profile_id;
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { branch_id: `br-${cuid}` })).statusCode, 200);
      assert.equal((await send(ctx.app, 'POST', TRANSACTION_PATH, headers, subscriptionBody(`tx-${cuid}`))).statusCode, 200);
      assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, headers)).statusCode, 204);
      for (const table of ['identifier_history', 'integration_identifiers', 'transactions', 'webhook_events', 'webhook_deliveries']) {
        const rows = await queryRows(ctx.database, `select count(*) as n from ${table} where profile_id = '${profileId}'`);
        assert.equal(Number(rows[0]!.n), 0, table);
      }
      assert.deepEqual(await tablesHolding(ctx.database, [cuid]), []);
    });
  });

  describe(`profile deletion and a live endpoint (${kind})`, onDatabase(kind), () => {
    test('profile.deleted is sent at once with ids only, a failing earlier event is not retried, and a redelivery sends the erased body', async (t) => {
      const s = await startDeliveringApp(t, kind);
      const cuid = `live-${randomUUID()}`;
      const value = `af-${randomUUID()}`;
      const headers = { ...s.tenant.auth, 'adapty-customer-user-id': cuid };
      const profileId = (await send(s.ctx.app, 'POST', PROFILE_PATH, headers, {})).json().data.profile_id as string;
      assert.equal((await send(s.ctx.app, 'POST', IDENTIFIERS_PATH, headers, { appsflyer_id: value })).statusCode, 200);
      await waitFor(() => s.receiver.delivered().length === 2, 'the first two events');
      // The next event fails and waits for a retry, holding back the profile's later events.
      s.receiver.respond = () => 503;
      assert.equal((await send(s.ctx.app, 'PATCH', PROFILE_PATH, headers, { first_name: 'Failing' })).statusCode, 200);
      await waitFor(() => s.receiver.receipts.length === 3, 'the failed attempt');
      s.receiver.respond = () => 200;
      // Recorded, and waiting for its retry: no attempt is under way when the profile is deleted
      // (profile.deleted would otherwise wait for that attempt's lease).
      await waitFor(async () => {
        const page = await send(s.ctx.app, 'GET', `${DELIVERIES}?profile_id=${profileId}&limit=1`, s.tenant.auth);
        const [latest] = page.json().data;
        return latest.event_type === 'profile.updated' && latest.last_status_code === 503 && latest.status === 'pending';
      }, 'the failed attempt to be recorded');

      assert.equal((await send(s.ctx.app, 'DELETE', PROFILE_PATH, headers)).statusCode, 204);
      await waitFor(() => s.receiver.delivered().some((r) => r.eventType === 'profile.deleted'), 'profile.deleted');
      const receipt = s.receiver.delivered().find((r) => r.eventType === 'profile.deleted')!;
      const body = JSON.parse(receipt.body);
      assert.deepEqual(body.data, { profile_id: profileId, customer_user_id: null });
      assert.ok(!receipt.body.includes(cuid));
      // The receiver has answered; the worker records the outcome right after.
      const listed = () => send(s.ctx.app, 'GET', `${DELIVERIES}?profile_id=${profileId}`, s.tenant.auth);
      await waitFor(async () => (await listed()).json().data[0].status === 'succeeded', 'profile.deleted to be recorded as delivered');
      const list = await listed();
      const statuses = list.json().data.map((d: { event_type: string; status: string; last_error: string | null }) => [d.event_type, d.status, d.last_error]);
      assert.deepEqual(statuses, [
        ['profile.deleted', 'succeeded', null],
        ['profile.updated', 'cancelled', PROFILE_DELETED],
        ['integration_identifiers.updated', 'succeeded', null],
        ['profile.created', 'succeeded', null],
      ]);

      // A redelivery of an earlier event sends what is left of it.
      const identifiersDelivery = list.json().data[2];
      const redelivered = await send(s.ctx.app, 'POST', `${DELIVERIES}${identifiersDelivery.id}/redeliver/`, s.tenant.auth);
      assert.equal(redelivered.statusCode, 202, redelivered.body);
      await waitFor(() => s.receiver.delivered().length === 4, 'the redelivery');
      const again = s.receiver.delivered().at(-1)!;
      assert.equal(again.eventId, identifiersDelivery.event_id);
      assert.ok(verifySignature(String(s.endpoint.secret), String(again.headers['crosswalk-signature']), again.body));
      const erased = JSON.parse(again.body);
      assert.deepEqual(erased.data, { profile_id: profileId, customer_user_id: null, erased: true });
      assert.equal(erased.type, 'integration_identifiers.updated');
      assert.ok(!again.body.includes(value) && !again.body.includes(cuid));
    });
  });
}
