import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildDelivery, DESTINATION_TYPES, REVENUE_KINDS } from '../../src/destinations/index.js';
import { dedupUuid, readRevenueEvent } from '../../src/destinations/revenue-event.js';
import { DESTINATION_EVENT_TYPES, DESTINATION_TYPE_NAMES } from '../../src/domain/destinations.js';
import type { EventPayload } from '../../src/domain/events.js';
import { IDENTIFIER_KEYS } from '../../src/domain/identifiers.js';
import { storedAccessLevel, storedTransaction } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const identifiers = Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, key === 'amplitude_user_id' ? 'amp-user-0001' : null]));

/** A stored transaction.recorded event, as the outbox keeps it. */
function transactionEvent(changes: Record<string, unknown> = {}, data: Record<string, unknown> = {}): EventPayload {
  const transaction = { store_transaction_id: 'tx-1', store_original_transaction_id: 'tx-1', price: { country: 'US', currency: 'EUR', value: 4.99 }, price_usd: 5.4, ...changes };
  return { ...storedTransaction(identifiers, transaction, data), id: '6f3c2a4e-1b7d-4e0a-9c5f-8d2b1a0e7c61' };
}

describe('revenue events as the tools are told them', () => {
  test('every destination type is registered under its name, with fields, kinds, keys and events that exist', () => {
    assert.deepEqual([...DESTINATION_TYPES.keys()], [...DESTINATION_TYPE_NAMES]);
    for (const type of DESTINATION_TYPES.values()) {
      const names = type.config.map((field) => field.name);
      assert.equal(new Set(names).size, names.length, `${type.type}: config names are unique`);
      assert.ok(type.config.some((field) => field.required), `${type.type}: something is required`);
      for (const kind of Object.keys(type.defaultEventNames)) assert.ok(REVENUE_KINDS.includes(kind as never), `${type.type}: ${kind}`);
      for (const key of type.identifierKeys) assert.ok((IDENTIFIER_KEYS as readonly string[]).includes(key), `${type.type}: ${key}`);
      for (const event of type.eventTypes) assert.ok((DESTINATION_EVENT_TYPES as readonly string[]).includes(event), `${type.type}: ${event}`);
      assert.match(type.defaultBaseUrl, /^https:\/\/[a-z0-9.-]+$/, `${type.type}: an https host without a path`);
      assert.equal(typeof type.deduplicates, 'boolean');
    }
  });

  test('a first purchase, a renewal and a trial, with the price as revenue in its own currency', () => {
    const purchase = readRevenueEvent(transactionEvent());
    assert.ok(!('skip' in purchase));
    assert.equal(purchase.kind, 'purchase');
    assert.equal(purchase.revenue, 4.99);
    assert.equal(purchase.currency, 'EUR');
    assert.equal(purchase.occurredAt, Date.parse('2026-12-02T09:14:58.000Z'));
    assert.equal(purchase.identifiers.amplitude_user_id, 'amp-user-0001');
    assert.equal(purchase.transaction!.priceUsd, 5.4);
    const renewal = readRevenueEvent(transactionEvent({ store_transaction_id: 'tx-2' }));
    assert.equal(!('skip' in renewal) && renewal.kind, 'renewal');
    const trial = readRevenueEvent(transactionEvent({ price: { country: 'US', currency: 'USD', value: 0 }, offer: { category: 'introductory', type: 'free_trial', id: null } }));
    assert.ok(!('skip' in trial));
    assert.deepEqual([trial.kind, trial.revenue], ['trial', 0]);
  });

  test('the dedup key is a UUID made from the purchase and the kind: the same for every copy, another for each kind', () => {
    const first = readRevenueEvent(transactionEvent());
    const again = readRevenueEvent({ ...transactionEvent(), id: 'another-event-id' });
    assert.ok(!('skip' in first) && !('skip' in again));
    assert.match(first.dedupKey, UUID);
    assert.equal(first.dedupKey, again.dedupKey);
    assert.equal(first.dedupKey, dedupUuid('4b8e0b6c-6a1f-4f7e-bb0e-0f3c2d9a5e77:purchase'));
    const refund = readRevenueEvent(transactionEvent({ refunded_at: '2026-12-03T00:00:00.000Z' }, { created: false, changed_fields: ['refunded_at', 'cancellation_reason'] }));
    assert.ok(!('skip' in refund));
    assert.notEqual(refund.dedupKey, first.dedupKey);
  });

  test('a refund takes the price back, dated when it was refunded', () => {
    const refund = readRevenueEvent(transactionEvent({ refunded_at: '2026-12-03T00:00:00.000Z' }, { created: false, changed_fields: ['refunded_at', 'cancellation_reason'] }));
    assert.ok(!('skip' in refund));
    assert.deepEqual([refund.kind, refund.revenue, refund.occurredAt], ['refund', -4.99, Date.parse('2026-12-03T00:00:00.000Z')]);
  });

  test('what has no revenue for the tools is skipped, with the reason', () => {
    assert.deepEqual(readRevenueEvent(transactionEvent({}, { created: false, changed_fields: ['renew_status', 'renew_status_changed_at'] })), {
      skip: 'an update of the transaction that carries no revenue (changed: renew_status, renew_status_changed_at)',
    });
    assert.deepEqual(readRevenueEvent(transactionEvent({ refunded_at: '2026-12-03T00:00:00.000Z' })), {
      skip: 'the transaction was first recorded already refunded: no purchase reached the tool to refund',
    });
    assert.deepEqual(readRevenueEvent({ ...transactionEvent(), data: { profile_id: 'p', customer_user_id: null, erased: true } }), { skip: 'the profile was deleted' });
    assert.deepEqual(readRevenueEvent({ ...transactionEvent(), type: 'profile.updated' }), { skip: 'profile.updated events are not sent to tools' });
  });

  test('an access level change is its own kind, without revenue, keyed by the event', () => {
    const payload: EventPayload = { ...storedAccessLevel(identifiers), id: transactionEvent().id };
    const event = readRevenueEvent(payload);
    assert.ok(!('skip' in event));
    assert.deepEqual([event.kind, event.revenue, event.dedupKey, event.accessLevel], ['access_level', null, payload.id, {
      id: 'premium', change: 'granted', isActive: true, expiresAt: Date.parse('2027-01-02T09:14:58.000Z'),
    }]);
  });

  test('a destination skips sandbox transactions unless it takes them, and an unknown type', () => {
    const definition = { id: 'd', type: 'amplitude', baseUrl: 'http://127.0.0.1:9', config: { api_key: 'key-0123456789' }, eventNames: {}, includeSandbox: false };
    const sandbox = transactionEvent({ environment: 'Sandbox' });
    assert.deepEqual(buildDelivery(definition, sandbox), { skip: 'a sandbox transaction: the destination does not take them (include_sandbox is false)' });
    const taken = buildDelivery({ ...definition, includeSandbox: true }, sandbox);
    assert.ok('request' in taken && taken.request.url === 'http://127.0.0.1:9/2/httpapi');
    assert.deepEqual(buildDelivery({ ...definition, type: 'segment' }, transactionEvent()), { skip: 'unknown destination type segment' });
  });
});
