import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RevenueService } from '../../src/services/revenue.js';
import { SIGNATURE_HEADER, verifySignature } from '../../src/webhooks/signing.js';
import { addressing, DATABASES, onDatabase, GRANT_PATH, IDENTIFIERS_PATH, PROFILE_PATH, REVOKE_PATH, send, TRANSACTION_PATH } from '../helpers.js';
import { startDeliveringApp, waitFor } from './support.js';

// Revenue events reach a real, signed endpoint carrying every integration identifier as it stood
// when the change committed; the access-level clock reports starts and expiries.

const DAY = 86_400_000;

interface Event {
  type: string;
  data: Record<string, unknown> & { integration_identifiers: Record<string, string | null> };
}

for (const kind of DATABASES) {
  describe(`webhooks: revenue events (${kind})`, onDatabase(kind), () => {
    test('transaction.recorded and access_level.updated carry the identifiers GET answers at that moment', async (t) => {
      const { ctx, tenant, receiver, endpoint } = await startDeliveringApp(t, kind, { event_types: ['transaction.recorded', 'access_level.updated'] });
      const secret = String(endpoint.secret);
      const headers = addressing(() => tenant).byUser('buyer-1');
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
      const identifiers = async () => (await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers)).json();
      const setIds = async (body: Record<string, string | null>) =>
        assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, body)).statusCode, 200);

      await setIds({ appsflyer_id: 'af-1', amplitude_user_id: 'amp-1' });
      const atPurchase = await identifiers();
      const purchased = Date.now() - DAY;
      const transaction = {
        purchase_type: 'subscription',
        store: 'app_store',
        store_product_id: 'monthly',
        store_transaction_id: 'ev-1',
        store_original_transaction_id: 'ev-1',
        price: { country: 'US', currency: 'USD', value: 9.99 },
        purchased_at: new Date(purchased).toISOString(),
        originally_purchased_at: new Date(purchased).toISOString(),
        expires_at: new Date(purchased + 30 * DAY).toISOString(),
        renew_status: true,
      };
      assert.equal((await send(ctx.app, 'POST', TRANSACTION_PATH, headers, transaction)).statusCode, 200);
      // The ids change afterwards: the events already recorded keep what they had.
      await setIds({ appsflyer_id: 'af-2', mixpanel_user_id: 'mp-1' });
      const atRenewalChange = await identifiers();
      assert.equal((await send(ctx.app, 'POST', TRANSACTION_PATH, headers, { ...transaction, renew_status: false })).statusCode, 200);
      // Sent again unchanged: no event.
      assert.equal((await send(ctx.app, 'POST', TRANSACTION_PATH, headers, { ...transaction, renew_status: false })).statusCode, 200);
      assert.equal((await send(ctx.app, 'POST', GRANT_PATH, headers, { access_level_id: 'bonus' })).statusCode, 200);
      assert.equal((await send(ctx.app, 'POST', REVOKE_PATH, headers, { access_level_id: 'bonus' })).statusCode, 200);

      await waitFor(() => receiver.delivered().length === 6, `6 deliveries (have ${receiver.receipts.length})`);
      for (const receipt of receiver.receipts) {
        assert.ok(verifySignature(secret, receipt.headers[SIGNATURE_HEADER] as string, receipt.body), 'every delivery is signed');
      }
      const events = receiver.receipts.map((receipt) => JSON.parse(receipt.body) as Event);
      assert.deepEqual(events.map((e) => [e.type, e.data.change ?? e.data.created]), [
        ['transaction.recorded', true],
        ['access_level.updated', 'granted'],
        ['transaction.recorded', false],
        // Renewal turned off: premium is still active, its renewal_cancelled_at changed.
        ['access_level.updated', 'updated'],
        ['access_level.updated', 'granted'],
        ['access_level.updated', 'revoked'],
      ]);
      const [recorded, premium, updated, renewalOff, bonus, revoked] = events as [Event, Event, Event, Event, Event, Event];
      assert.equal((renewalOff.data.access_level as { renewal_cancelled_at: string | null }).renewal_cancelled_at !== null, true);
      assert.deepEqual(recorded.data.integration_identifiers, atPurchase);
      assert.deepEqual(premium.data.integration_identifiers, atPurchase);
      assert.equal(Object.keys(recorded.data.integration_identifiers).length, 16);
      assert.equal(recorded.data.integration_identifiers.appsflyer_id, 'af-1');
      assert.equal(recorded.data.integration_identifiers.mixpanel_user_id, null);
      assert.deepEqual(updated.data.integration_identifiers, atRenewalChange);
      assert.deepEqual(updated.data.changed_fields, ['renew_status']);
      const wire = recorded.data.transaction as Record<string, unknown>;
      assert.equal(wire.store_transaction_id, 'ev-1');
      assert.equal(wire.price_usd, 9.99);
      assert.equal(premium.data.access_level_id, 'premium');
      assert.equal((premium.data.access_level as { is_active: boolean }).is_active, true);
      assert.equal(bonus.data.access_level_id, 'bonus');
      assert.equal((revoked.data.access_level as { is_active: boolean }).is_active, false);
      for (const event of events) assert.equal(event.data.customer_user_id, 'buyer-1');
    });

    test('the clock reports an access level starting and expiring, once, even when several processes run it', async (t) => {
      const { ctx, tenant, receiver } = await startDeliveringApp(t, kind, { event_types: ['access_level.updated'] });
      const headers = addressing(() => tenant).byUser('scheduled-1');
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, headers, {})).statusCode, 200);
      await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { adjust_device_id: 'adj-1' });
      const startsAt = Date.now() + 300;
      const expiresAt = startsAt + 300;
      const granted = await send(ctx.app, 'POST', GRANT_PATH, headers, {
        access_level_id: 'trial',
        starts_at: new Date(startsAt).toISOString(),
        expires_at: new Date(expiresAt).toISOString(),
      });
      assert.equal(granted.statusCode, 200, granted.body);

      // Nothing is due yet.
      const clocks = [new RevenueService(ctx.store), new RevenueService(ctx.store)];
      assert.equal(await clocks[0]!.runClock(), 0);
      await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 50));
      // Two "processes" run the clock at once, twice: each change is taken once.
      const taken = (await Promise.all(clocks.map((clock) => clock.runClock()))).reduce((a, b) => a + b, 0);
      const again = (await Promise.all(clocks.map((clock) => clock.runClock()))).reduce((a, b) => a + b, 0);
      assert.equal(taken + again, 2);
      assert.equal(await clocks[0]!.runClock(), 0);

      await waitFor(() => receiver.delivered().length === 3, `3 deliveries (have ${receiver.receipts.length})`);
      const events = receiver.receipts.map((receipt) => JSON.parse(receipt.body) as Event);
      assert.deepEqual(events.map((e) => [e.data.access_level_id, e.data.change, (e.data.access_level as { is_active: boolean }).is_active]), [
        ['trial', 'granted', false],
        ['trial', 'started', true],
        ['trial', 'expired', false],
      ]);
      for (const event of events) assert.equal(event.data.integration_identifiers.adjust_device_id, 'adj-1');
    });
  });
}
