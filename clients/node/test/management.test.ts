import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  CrosswalkClient,
  CrosswalkError,
  CrosswalkForbiddenError,
  CrosswalkValidationError,
  IDENTIFIER_KEYS,
  verifyWebhookSignature,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_SIGNATURE_HEADER,
  type WebhookDelivery,
} from '../src/index.js';
import { EVENT_TYPES } from '../../../src/domain/events.js';
import { API_KEY, type Crosswalk, failure, startCrosswalk, userId } from './support.js';

/** A request the local receiver got. */
interface Received {
  signature: string | undefined;
  deliveryId: string;
  body: string;
}

const READ_KEY = 'client-suite-read-key-0123456789';

/** Until `check` answers something, polling every 50 ms for at most 10 s. */
async function eventually<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = await check();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail('not within 10 s');
}

describe('webhooks, revenue configuration, app counts and the key, against the real server', () => {
  let crosswalk: Crosswalk;
  let client: CrosswalkClient;
  let reader: CrosswalkClient;
  let receiver: http.Server;
  let receiverUrl: string;
  const received: Received[] = [];

  before(async () => {
    receiver = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({
          signature: request.headers[WEBHOOK_SIGNATURE_HEADER] as string | undefined,
          deliveryId: String(request.headers['crosswalk-delivery-id']),
          body: Buffer.concat(chunks).toString('utf8'),
        });
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    crosswalk = await startCrosswalk({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_POLL_INTERVAL_MS: '50' });
    client = crosswalk.client();
    await crosswalk.cli('keys', 'create', '--scopes', 'read', '--key', READ_KEY, '--name', 'reader');
    reader = crosswalk.client({ apiKey: READ_KEY });
  });
  after(async () => {
    await crosswalk?.stop();
    receiver?.closeAllConnections();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  test('endpoints: added with a secret shown once, listed with a hint, removed; deliveries listed by profile and redelivered, signed', async () => {
    const created = await client.createWebhookEndpoint({ url: receiverUrl, event_types: ['profile.created', 'integration_identifiers.updated'], description: 'client suite' });
    assert.match(created.secret, /^whsec_/);
    assert.deepEqual(created.event_types, ['profile.created', 'integration_identifiers.updated']);
    const { secret, ...shown } = created;
    assert.deepEqual(await client.listWebhookEndpoints(), [shown]);

    const customerUserId = userId('hooked');
    const profile = await client.createProfile({ customerUserId });
    await client.setIntegrationIdentifiers({ customerUserId }, { appsflyer_id: 'af-hooked' });
    await client.createProfile({ customerUserId: userId('other') });

    const delivered = await eventually(async () => {
      const page = await client.listWebhookDeliveries({ profileId: profile.profile_id, status: 'succeeded' });
      return page.deliveries.length === 2 ? page : undefined;
    });
    assert.deepEqual(delivered.deliveries.map((d) => d.event_type), ['integration_identifiers.updated', 'profile.created']);
    assert.ok(delivered.deliveries.every((d) => d.profile_id === profile.profile_id && d.endpoint_id === created.id && d.last_status_code === 200));
    assert.equal(delivered.next_cursor, null);
    const all = await client.listWebhookDeliveries({ endpointId: created.id, limit: 100 });
    assert.equal(all.deliveries.length, 3);
    const firstPage = await client.listWebhookDeliveries({ endpointId: created.id, limit: 2 });
    assert.equal(firstPage.deliveries.length, 2);
    const secondPage = await client.listWebhookDeliveries({ endpointId: created.id, limit: 2, cursor: firstPage.next_cursor });
    assert.deepEqual([...firstPage.deliveries, ...secondPage.deliveries].map((d) => d.id), all.deliveries.map((d) => d.id));

    // What the receiver got verifies with the secret the endpoint was given, and only with it.
    await eventually(async () => (received.length >= 3 ? true : undefined));
    for (const request of received) assert.ok(verifyWebhookSignature(secret, request.signature, request.body), request.body);
    const one = received[0]!;
    assert.equal(verifyWebhookSignature('whsec_not-the-secret', one.signature, one.body), false);
    assert.equal(verifyWebhookSignature(secret, one.signature, `${one.body} `), false);
    assert.equal(verifyWebhookSignature(secret, one.signature, Buffer.from(one.body, 'utf8')), true);

    const again: WebhookDelivery = await client.redeliverWebhook(delivered.deliveries[0]!.id);
    assert.ok(again.id > delivered.deliveries[0]!.id);
    assert.equal(again.event_id, delivered.deliveries[0]!.event_id);
    assert.equal(again.status, 'pending');
    await eventually(async () => (received.some((request) => request.deliveryId === String(again.id)) ? true : undefined));

    const notFound = await failure(client.redeliverWebhook(99_999_999));
    assert.ok(notFound instanceof CrosswalkError);
    assert.equal(notFound.status, 404);
    assert.equal(notFound.errorCode, 'not_found');

    const badProfile = await failure(client.listWebhookDeliveries({ profileId: 'user-42' }));
    assert.ok(badProfile instanceof CrosswalkValidationError);
    assert.deepEqual(badProfile.messagesFor('profile_id'), ['Must be a profile id (a UUID).']);

    const forbidden = await failure(reader.createWebhookEndpoint({ url: receiverUrl }));
    assert.ok(forbidden instanceof CrosswalkForbiddenError);
    assert.equal(forbidden.status, 403);
    assert.deepEqual(forbidden.messagesFor('non_field_errors'), ['This API key has the read scope; this operation needs the admin scope.']);
    // A read key lists them: the two deliveries and the redelivery.
    const listed = await reader.listWebhookDeliveries({ profileId: profile.profile_id });
    assert.deepEqual(listed.deliveries.map((d) => d.id), [again.id, ...delivered.deliveries.map((d) => d.id)]);

    await client.deleteWebhookEndpoint(created.id);
    assert.deepEqual(await client.listWebhookEndpoints(), []);
    const gone = await failure(client.deleteWebhookEndpoint(created.id));
    assert.ok(gone instanceof CrosswalkError && gone.status === 404);
    // Left out, event_types is every type, which the client lists in the server's order.
    assert.deepEqual((await client.createWebhookEndpoint({ url: receiverUrl })).event_types, [...WEBHOOK_EVENT_TYPES]);
    assert.deepEqual([...WEBHOOK_EVENT_TYPES], [...EVENT_TYPES]);
  });

  test('revenue configuration: access levels, products, currency rates and settings, set, listed and removed', async () => {
    assert.deepEqual(await client.listProducts(), []);
    const gold = await client.setAccessLevel('gold');
    assert.equal(gold.access_level_id, 'gold');
    assert.ok((await client.listAccessLevels()).some((level) => level.access_level_id === 'gold'));

    assert.deepEqual(await client.setProduct('gold monthly/€', { access_level_id: 'gold' }), { store_product_id: 'gold monthly/€', access_level_id: 'gold', is_consumable: false });
    assert.deepEqual(await client.setProduct('coins', { access_level_id: null, is_consumable: true }), { store_product_id: 'coins', access_level_id: null, is_consumable: true });
    assert.deepEqual((await client.listProducts()).map((product) => product.store_product_id).sort(), ['coins', 'gold monthly/€']);

    const euro = await client.setCurrencyRate('eur', 1.08);
    assert.deepEqual({ currency: euro.currency, usd_per_unit: euro.usd_per_unit }, { currency: 'EUR', usd_per_unit: 1.08 });
    assert.deepEqual((await client.listCurrencyRates()).map((rate) => rate.currency), ['EUR']);

    assert.deepEqual(await client.getRevenueSettings(), { unknown_access_levels: 'create' });
    assert.deepEqual(await client.setRevenueSettings({ unknown_access_levels: 'reject' }), { unknown_access_levels: 'reject' });
    assert.deepEqual(await client.getRevenueSettings(), { unknown_access_levels: 'reject' });
    await client.setRevenueSettings({ unknown_access_levels: 'create' });

    const refused = await failure(reader.setCurrencyRate('GBP', 1.27));
    assert.ok(refused instanceof CrosswalkForbiddenError);
    assert.deepEqual((await reader.listCurrencyRates()).map((rate) => rate.currency), ['EUR']);
    const badRate = await failure(client.setCurrencyRate('GBP', -1));
    assert.ok(badRate instanceof CrosswalkValidationError);
    assert.equal(badRate.errors[0]!.source, 'usd_per_unit');

    await client.deleteProduct('gold monthly/€');
    await client.deleteProduct('coins');
    await client.deleteAccessLevel('gold');
    await client.deleteCurrencyRate('EUR');
    assert.deepEqual(await client.listProducts(), []);
    assert.deepEqual(await client.listCurrencyRates(), []);
    assert.ok(!(await client.listAccessLevels()).some((level) => level.access_level_id === 'gold'));
    const missing = await failure(client.deleteProduct('coins'));
    assert.ok(missing instanceof CrosswalkError && missing.status === 404 && missing.errorCode === 'not_found');
    await assert.rejects(client.deleteProduct(''), TypeError);
  });

  test('the app’s counts for an admin key, and what each key is', async () => {
    const info = await client.getApiKeyInfo();
    assert.equal(info.app_id, crosswalk.appId);
    assert.equal(info.scope, 'admin');
    const readInfo = await reader.getApiKeyInfo();
    assert.deepEqual({ app_id: readInfo.app_id, scope: readInfo.scope }, { app_id: crosswalk.appId, scope: 'read' });
    assert.notEqual(readInfo.key_id, info.key_id);

    const customerUserId = userId('counted');
    await client.createProfile({ customerUserId });
    await client.setIntegrationIdentifiers({ customerUserId }, { branch_id: 'counted-branch' });
    const stats = await client.getAppStats();
    assert.equal(stats.app.id, crosswalk.appId);
    assert.deepEqual(Object.keys(stats.identifiers), [...IDENTIFIER_KEYS]);
    assert.equal(stats.identifiers.branch_id, 1);
    assert.ok(stats.profiles >= 1);
    assert.deepEqual(stats.api_keys, { active: 2, revoked: 0 });
    assert.equal(stats.database.dialect, 'sqlite');
    assert.ok(stats.database.bytes > 0);

    const refused = await failure(reader.getAppStats());
    assert.ok(refused instanceof CrosswalkForbiddenError);
    assert.equal(refused.errorCode, 'forbidden');
    const wrong = await failure(crosswalk.client({ apiKey: `${API_KEY}-wrong` }).getApiKeyInfo());
    assert.ok(wrong instanceof CrosswalkError && wrong.status === 401);
  });
});
