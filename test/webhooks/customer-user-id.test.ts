import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressing, DATABASES, onDatabase, envelope, PROFILE_PATH, send } from '../helpers.js';
import { startDeliveringApp, waitFor } from './support.js';

// A profile that gets a customer user id it did not have (create with both headers, on an existing
// profile id) makes a profile.updated event naming customer_user_id, delivered to a real endpoint.

const P1 = '7c0a1e52-3b7f-4d2a-9c61-0f5e8b2d4a11';
const P2 = '7c0a1e52-3b7f-4d2a-9c61-0f5e8b2d4a22';

for (const kind of DATABASES) {
  describe(`webhooks: a change of customer user id (${kind})`, onDatabase(kind), () => {
    test('profile.updated names customer_user_id (and the body fields) exactly when the id changes', async (t) => {
      const { ctx, tenant, receiver } = await startDeliveringApp(t, kind);
      const { byId, byUser, byBoth } = addressing(() => tenant);
      const write = async (method: 'POST' | 'PATCH', headers: Record<string, string>, body: unknown) => {
        const res = await send(ctx.app, method, PROFILE_PATH, headers, body);
        assert.equal(res.statusCode, 200, `${method} ${JSON.stringify(headers)}: ${res.body}`);
      };
      await write('POST', byId(P1), {}); // created without a customer user id
      await write('POST', byBoth(P1, 'cuid-1'), {}); // gets one: an event with no body field
      await write('POST', byBoth(P1, 'cuid-1'), { first_name: 'Ann' }); // already has it: only the body's field
      await write('POST', byBoth(P1, 'cuid-1'), {}); // nothing changes: no event
      await write('PATCH', byUser('cuid-1'), {}); // nothing changes: no event
      await write('POST', byBoth(P1, 'cuid-2'), { email: 'ann@example.com', custom_attributes: [{ key: 'k', value: 1 }] }); // replaced, with fields
      await write('POST', byBoth(P2, 'cuid-3'), {}); // created with both: profile.created, as before
      // Taken by another profile: refused, nothing written, no event.
      const taken = await send(ctx.app, 'POST', PROFILE_PATH, byBoth(P2, 'cuid-2'), {});
      assert.deepEqual(taken.json(), envelope(400, 'validation_error', ['adapty-customer-user-id', 'This customer user id already belongs to another profile.']));

      await waitFor(() => receiver.delivered().length === 5, `5 deliveries (have ${receiver.receipts.length})`);
      const events = receiver.receipts.map((receipt) => {
        const { type, data } = JSON.parse(receipt.body) as { type: string; data: Record<string, unknown> };
        return { type, data };
      });
      assert.deepEqual(events.filter((event) => event.data.profile_id === P1), [
        { type: 'profile.created', data: { profile_id: P1, customer_user_id: null, fields: [] } },
        { type: 'profile.updated', data: { profile_id: P1, customer_user_id: 'cuid-1', fields: ['customer_user_id'] } },
        { type: 'profile.updated', data: { profile_id: P1, customer_user_id: 'cuid-1', fields: ['first_name'] } },
        { type: 'profile.updated', data: { profile_id: P1, customer_user_id: 'cuid-2', fields: ['customer_user_id', 'email', 'custom_attributes'] } },
      ]);
      assert.deepEqual(events.filter((event) => event.data.profile_id === P2), [
        { type: 'profile.created', data: { profile_id: P2, customer_user_id: 'cuid-3', fields: [] } },
      ]);
      // Nothing else was queued (no event for the writes that changed nothing, nor for the refused one).
      const deliveries = await send(ctx.app, 'GET', '/crosswalk/v1/webhooks/deliveries/?limit=100', tenant.auth);
      assert.equal(deliveries.json().data.length, 5);
    });
  });
}
