import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AUDIT_ACTIONS,
  CrosswalkClient,
  CrosswalkError,
  CrosswalkForbiddenError,
  CrosswalkValidationError,
  DESTINATION_EVENT_TYPES,
  DESTINATION_TYPES,
  type Destination,
  type DestinationDelivery,
  type DestinationDeliveryStatus,
  type DestinationTestResult,
  type SubscriptionTransaction,
} from '../src/index.js';
import { AUDIT_ACTIONS as SERVER_AUDIT_ACTIONS } from '../../../src/domain/audit.js';
import { DESTINATION_EVENT_TYPES as SERVER_EVENT_TYPES, DESTINATION_TYPE_NAMES } from '../../../src/domain/destinations.js';
import { DESTINATION_DELIVERY_STATUSES } from '../../../src/domain/webhooks.js';
import { subscriptionBody } from '../../../test/helpers.js';
import { startAmplitudeFake } from '../../../test/destinations/fakes/amplitude.js';
import type { ToolFake } from '../../../test/destinations/fakes/fake.js';
import { type Crosswalk, failure, startCrosswalk, userId } from './support.js';

/** Until `check` answers something, polling every 50 ms for at most 10 s. */
async function eventually<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = await check();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail('not within 10 s');
}

/** A subscription bought an hour ago, active now. */
const purchase = (transactionId: string): SubscriptionTransaction => {
  const boughtAt = new Date(Date.now() - 3_600_000).toISOString();
  return subscriptionBody(transactionId, { purchased_at: boughtAt, originally_purchased_at: boughtAt });
};

const NO_AMPLITUDE_ID = 'no amplitude_user_id or amplitude_device_id on the profile';

/**
 * Never called: `tsc --noEmit -p clients/node/tsconfig.json` checks that the types refuse what
 * they should (each @ts-expect-error fails the type check if its line compiles).
 */
export function typeChecks(client: CrosswalkClient, delivery: DestinationDelivery): void {
  // @ts-expect-error the type is one of the six tools
  void client.createDestination({ type: 'segment', config: {} });
  // @ts-expect-error config values are strings
  void client.createDestination({ type: 'amplitude', config: { min_id_length: 3 } });
  // @ts-expect-error a destination takes revenue events only
  void client.createDestination({ type: 'amplitude', config: {}, events: ['profile.created'] });
  // @ts-expect-error event names are set by kind
  void client.createDestination({ type: 'adjust', config: {}, event_names: { subscription: 'abc123' } });
  void client.createDestination({ type: 'adjust', config: { app_token: 't' }, base_url: null, events: null, event_names: { purchase: 'abc123' }, include_sandbox: true });
  // @ts-expect-error the filter is destinationId, not endpointId
  void client.listDestinationDeliveries({ endpointId: 'e' });
  const skipped: DestinationDeliveryStatus = 'skipped';
  void [skipped, delivery.reason satisfies string | null];
  // @ts-expect-error a delivery to a destination has a reason, not a last_error
  void delivery.last_error;
}

describe('destinations against the real server, with a local Amplitude', () => {
  let crosswalk: Crosswalk;
  let client: CrosswalkClient;
  let writer: CrosswalkClient;
  let amplitude: ToolFake;
  let destination: Destination;

  before(async () => {
    amplitude = await startAmplitudeFake();
    // The fake is on loopback: WEBHOOK_ALLOW_PRIVATE_NETWORKS lets the server send there.
    crosswalk = await startCrosswalk({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_POLL_INTERVAL_MS: '50' });
    client = crosswalk.client();
    const made = JSON.parse(await crosswalk.cli('keys', 'create', '--name', 'backend', '--scopes', 'write', '--json')) as { apiKey: string };
    writer = crosswalk.client({ apiKey: made.apiKey });
  });
  after(async () => {
    await crosswalk?.stop();
    await amplitude?.close();
  });

  test('the client lists the types, events, statuses and audit actions the server has, in its order', () => {
    assert.deepEqual([...DESTINATION_TYPES], [...DESTINATION_TYPE_NAMES]);
    assert.deepEqual([...DESTINATION_EVENT_TYPES], [...SERVER_EVENT_TYPES]);
    const statuses: readonly DestinationDeliveryStatus[] = DESTINATION_DELIVERY_STATUSES;
    assert.ok(statuses.includes('skipped'));
    assert.deepEqual([...AUDIT_ACTIONS], [...SERVER_AUDIT_ACTIONS]);
  });

  test('createDestination answers the credentials once; listDestinations shows them as hints', async () => {
    destination = await client.createDestination({ type: 'amplitude', config: amplitude.config, base_url: `${amplitude.baseUrl}/` });
    assert.equal(destination.type, 'amplitude');
    assert.deepEqual(destination.config, amplitude.config);
    assert.equal(destination.base_url, amplitude.baseUrl, 'the trailing slash is dropped');
    assert.deepEqual(destination.events, ['transaction.recorded']);
    assert.equal(destination.include_sandbox, false);
    assert.equal(destination.event_names.purchase, 'purchase_completed', "the type's default name");
    assert.ok(!Number.isNaN(Date.parse(destination.created_at)));

    const listed = await client.listDestinations();
    assert.deepEqual(listed, [{ ...destination, config: { api_key: `${amplitude.config.api_key!.slice(0, 4)}…` } }]);

    const audit = await client.listAuditEntries({ limit: 1 });
    assert.deepEqual(audit.entries.map((entry) => [entry.action, entry.target_id]), [['destination.add', destination.id]]);
  });

  test('a refused destination is a CrosswalkValidationError with the envelope’s items', async () => {
    const missing = await failure(client.createDestination({ type: 'amplitude', config: {} }));
    assert.ok(missing instanceof CrosswalkValidationError);
    assert.equal(missing.status, 400);
    assert.equal(missing.errorCode, 'validation_error');
    assert.deepEqual(missing.errors, [{ source: 'config.api_key', errors: ['This field is required.'] }]);

    const unknownField = await failure(client.createDestination({ type: 'amplitude', config: { api_key: 'k-0123456789', apikey: 'x' } }));
    assert.ok(unknownField instanceof CrosswalkValidationError);
    assert.deepEqual(unknownField.messagesFor('config.apikey'), ['Unknown config field for amplitude; expected: api_key, min_id_length.']);

    // Past the types, as a caller without them could send it: the server's schema refuses it.
    const badType = await failure(client.createDestination({ type: 'segment', config: {} } as never));
    assert.ok(badType instanceof CrosswalkValidationError);
    assert.deepEqual(badType.messagesFor('type'), [`Must be one of: ${DESTINATION_TYPES.join(', ')}.`]);

    const badStatus = await failure(client.listDestinationDeliveries({ status: 'delivered' as never }));
    assert.ok(badStatus instanceof CrosswalkValidationError);
    assert.deepEqual(badStatus.messagesFor('status'), ['Must be one of: pending, succeeded, failed, skipped, cancelled.']);
    assert.deepEqual((await client.listDestinations()).map((each) => each.id), [destination.id], 'nothing added');
  });

  test('a key without the admin scope gets CrosswalkForbiddenError, even to list', async () => {
    const refused = await failure(writer.createDestination({ type: 'amplitude', config: amplitude.config, base_url: amplitude.baseUrl }));
    assert.ok(refused instanceof CrosswalkForbiddenError);
    assert.equal(refused.status, 403);
    assert.equal(refused.errorCode, 'forbidden');
    assert.deepEqual(refused.messagesFor('non_field_errors'), ['This API key has the write scope; this operation needs the admin scope.']);
    // One call at a time: a refused call started before it is awaited would reject unhandled.
    for (const call of [
      () => writer.listDestinations(),
      () => writer.listDestinationDeliveries(),
      () => writer.testDestination(destination.id),
      () => writer.redeliverToDestination(1),
      () => writer.deleteDestination(destination.id),
    ]) {
      assert.ok((await failure(call())) instanceof CrosswalkForbiddenError);
    }
    assert.equal((await client.listDestinations()).length, 1);
  });

  test('testDestination sends one sandbox purchase now and answers how the tool took it', async () => {
    const requestsBefore = amplitude.requests.length;
    const result: DestinationTestResult = await client.testDestination(destination.id);
    assert.equal(result.status, 'succeeded', JSON.stringify(result));
    assert.equal(result.status_code, 200);
    assert.equal(result.error, null);
    assert.match(result.answer ?? '', /"events_ingested":1/);
    assert.equal(amplitude.requests.length, requestsBefore + 1);
    const sent = amplitude.counted().at(-1)!;
    assert.deepEqual([sent.eventName, sent.revenue, sent.currency], ['purchase_completed', 0.01, 'USD']);

    // The tool refusing it is a result, not an error.
    amplitude.failNext([400]);
    const refused = await client.testDestination(destination.id);
    assert.equal(refused.status, 'failed');
    assert.equal(refused.status_code, 400);
    assert.ok(refused.error);

    for (const id of ['7d3f6c1e-2b0a-4c59-9a53-0f3a6c2e1b4d', 'not-a-uuid']) {
      const unknown = await failure(client.testDestination(id));
      assert.ok(unknown instanceof CrosswalkError);
      assert.deepEqual([unknown.status, unknown.errorCode], [404, 'not_found']);
    }
  });

  test('deliveries: listed by profile, status and destination, paged, each skip with its reason; redelivered', async () => {
    const tracked = await client.createProfile({ customerUserId: userId('tracked') });
    await client.setIntegrationIdentifiers({ profileId: tracked.profile_id }, { amplitude_user_id: 'amp-user-0001' });
    await client.setTransaction({ profileId: tracked.profile_id }, purchase(userId('tx')));
    const anonymous = await client.createProfile({ customerUserId: userId('anonymous') });
    await client.setTransaction({ profileId: anonymous.profile_id }, purchase(userId('tx')));

    const [delivered] = await eventually(async () => {
      const page = await client.listDestinationDeliveries({ profileId: tracked.profile_id, status: 'succeeded' });
      return page.deliveries.length === 1 ? page.deliveries : undefined;
    });
    assert.equal(delivered!.destination_id, destination.id);
    assert.equal(delivered!.event_type, 'transaction.recorded');
    assert.equal(delivered!.last_status_code, 200);
    assert.equal(delivered!.reason, null);
    assert.equal(delivered!.attempts, 1);
    assert.ok(amplitude.counted().some((event) => event.userId === 'amp-user-0001' && event.revenue === 9.99));

    const [skipped] = await eventually(async () => {
      const page = await client.listDestinationDeliveries({ profileId: anonymous.profile_id, status: 'skipped' });
      return page.deliveries.length === 1 ? page.deliveries : undefined;
    });
    assert.equal(skipped!.reason, NO_AMPLITUDE_ID);
    assert.equal(skipped!.status, 'skipped');
    assert.equal(skipped!.next_attempt_at, null);
    assert.ok(skipped!.completed_at);

    // The filters combine: this profile has no skipped delivery, the other no succeeded one.
    assert.deepEqual((await client.listDestinationDeliveries({ profileId: tracked.profile_id, status: 'skipped' })).deliveries, []);
    const all = await client.listDestinationDeliveries({ destinationId: destination.id, limit: 100 });
    assert.deepEqual(all.deliveries.map((d) => d.id), [skipped!.id, delivered!.id], 'newest first');
    assert.equal(all.next_cursor, null);
    const first = await client.listDestinationDeliveries({ destinationId: destination.id, limit: 1 });
    assert.deepEqual(first.deliveries.map((d) => d.id), [skipped!.id]);
    assert.ok(first.next_cursor);
    const second = await client.listDestinationDeliveries({ destinationId: destination.id, limit: 1, cursor: first.next_cursor });
    assert.deepEqual(second.deliveries.map((d) => d.id), [delivered!.id]);
    const other = await client.listDestinationDeliveries({ destinationId: '7d3f6c1e-2b0a-4c59-9a53-0f3a6c2e1b4d' });
    assert.deepEqual(other, { deliveries: [], next_cursor: null });

    // Sent again with the same dedup key: Amplitude receives it and drops the copy.
    const countedBefore = amplitude.counted().length;
    const again = await client.redeliverToDestination(delivered!.id);
    assert.ok(again.id > delivered!.id);
    assert.equal(again.event_id, delivered!.event_id);
    assert.equal(again.destination_id, destination.id);
    assert.equal(again.status, 'pending');
    const done = await eventually(async () => {
      const page = await client.listDestinationDeliveries({ profileId: tracked.profile_id, status: 'succeeded' });
      return page.deliveries.find((d) => d.id === again.id);
    });
    assert.equal(done.last_status_code, 200);
    assert.equal(amplitude.counted().length, countedBefore, 'counted once');

    // Destinations and webhooks share the outbox, not their operations.
    assert.deepEqual(await client.listWebhookDeliveries({ limit: 100 }), { deliveries: [], next_cursor: null });
    assert.deepEqual(await client.listWebhookEndpoints(), []);
    const notAWebhook = await failure(client.redeliverWebhook(delivered!.id));
    assert.ok(notAWebhook instanceof CrosswalkError && notAWebhook.status === 404);
    const notAnEndpoint = await failure(client.deleteWebhookEndpoint(destination.id));
    assert.ok(notAnEndpoint instanceof CrosswalkError && notAnEndpoint.status === 404);

    for (const id of [99_999_999, 'not-a-number']) {
      const unknown = await failure(client.redeliverToDestination(id));
      assert.ok(unknown instanceof CrosswalkError);
      assert.deepEqual([unknown.status, unknown.errorCode], [404, 'not_found']);
      assert.deepEqual(unknown.errors, [{ source: null, errors: ['Delivery not found'] }]);
    }
  });

  test('deleteDestination removes it; then it, and redelivering to it, are not found', async () => {
    const [delivery] = (await client.listDestinationDeliveries({ destinationId: destination.id, limit: 1 })).deliveries;
    await client.deleteDestination(destination.id);
    assert.deepEqual(await client.listDestinations(), []);
    const audit = await client.listAuditEntries({ limit: 1 });
    assert.deepEqual(audit.entries.map((entry) => [entry.action, entry.target_id]), [['destination.remove', destination.id]]);

    const gone = await failure(client.deleteDestination(destination.id));
    assert.ok(gone instanceof CrosswalkError);
    assert.deepEqual([gone.status, gone.errorCode], [404, 'not_found']);
    assert.deepEqual(gone.errors, [{ source: null, errors: ['Destination not found'] }]);
    const notTested = await failure(client.testDestination(destination.id));
    assert.ok(notTested instanceof CrosswalkError && notTested.status === 404);
    const notRedelivered = await failure(client.redeliverToDestination(delivery!.id));
    assert.ok(notRedelivered instanceof CrosswalkError && notRedelivered.status === 404);
    await assert.rejects(client.deleteDestination(''), TypeError);
  });
});
