import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, DATABASES, onDatabase, envelope, IDENTIFIERS_PATH, PROFILE_PATH, queryRows, send, type Tenant, type TestContext } from '../helpers.js';
import { ALL_EVENT_TYPES as ALL_TYPES } from './support.js';

const BASE = '/crosswalk/v1/webhooks/';
const ENDPOINTS = `${BASE}endpoints/`;
const DELIVERIES = `${BASE}deliveries/`;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BAD_URL = 'Enter an absolute http:// or https:// URL.';

for (const kind of DATABASES) {
  describe(`webhook management API (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let a: Tenant;
    let b: Tenant;
    before(async () => {
      // Endpoints on loopback and at names nobody resolves here: the network policy has its own suite.
      ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      a = await ctx.newTenant();
      b = await ctx.newTenant();
    });
    after(() => ctx.close());

    const addEndpoint = async (tenant: Tenant, body: unknown) => {
      const res = await send(ctx.app, 'POST', ENDPOINTS, tenant.auth, body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json().data;
    };
    const listDeliveries = async (tenant: Tenant, query = '') => {
      const res = await send(ctx.app, 'GET', `${DELIVERIES}${query}`, tenant.auth);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { data: Record<string, unknown>[]; next_cursor: string | null };
    };
    const createProfile = async (tenant: Tenant, customerUserId: string) => {
      const res = await send(ctx.app, 'POST', PROFILE_PATH, { ...tenant.auth, 'adapty-customer-user-id': customerUserId }, {});
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data.profile_id as string;
    };

    test('every operation needs a key: no key is 401, a wrong key is 401', async () => {
      for (const [method, url] of [['GET', ENDPOINTS], ['POST', ENDPOINTS], ['DELETE', `${ENDPOINTS}x/`], ['GET', DELIVERIES], ['POST', `${DELIVERIES}1/redeliver/`]] as const) {
        const none = await send(ctx.app, method, url, {}, method === 'POST' ? { url: 'http://127.0.0.1/' } : undefined);
        assert.equal(none.statusCode, 401, `${method} ${url}`);
        assert.deepEqual(none.json(), envelope(401, 'not_authenticated', ['non_field_errors', 'Authentication credentials were not provided.']));
      }
      const wrong = await send(ctx.app, 'GET', ENDPOINTS, { authorization: 'Api-Key secret_live_nope.nope' });
      assert.deepEqual(wrong.json(), envelope(401, 'unauthorized', ['non_field_errors', 'Invalid API key']));
    });

    test('adding an endpoint answers 201 with a generated secret, once; listing shows only a hint', async () => {
      const created = await addEndpoint(a, { url: 'http://127.0.0.1:9/hooks' });
      assert.deepEqual(Object.keys(created).sort(), ['created_at', 'description', 'event_types', 'id', 'secret', 'secret_hint', 'url']);
      assert.match(created.id, UUID);
      assert.equal(created.url, 'http://127.0.0.1:9/hooks');
      assert.equal(created.description, null);
      assert.deepEqual(created.event_types, ALL_TYPES);
      assert.match(created.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.secret_hint, `${created.secret.slice(0, 10)}…`);
      assert.match(created.created_at, ISO);

      const chosen = await addEndpoint(a, {
        url: 'https://hooks.example.com/crosswalk?team=growth',
        event_types: ['integration_identifiers.updated', 'profile.deleted', 'profile.deleted'],
        secret: 'my-own-signing-secret-123',
        description: 'growth team',
      });
      assert.equal(chosen.secret, 'my-own-signing-secret-123');
      assert.equal(chosen.secret_hint, 'my-o…');
      // Deduplicated, in catalogue order.
      assert.deepEqual(chosen.event_types, ['profile.deleted', 'integration_identifiers.updated']);

      const list = await send(ctx.app, 'GET', ENDPOINTS, a.auth);
      assert.equal(list.statusCode, 200);
      const { secret: _secret, ...shown } = created;
      const { secret: _chosenSecret, ...chosenShown } = chosen;
      assert.deepEqual(list.json(), { data: [shown, chosenShown] });
      assert.ok(!list.body.includes(created.secret) && !list.body.includes('my-own-signing-secret-123'));

      const subscriptions = await queryRows(ctx.database, `select event_type from webhook_subscriptions where endpoint_id = '${chosen.id}' order by event_type`);
      assert.deepEqual(subscriptions.map((row) => row.event_type), ['integration_identifiers.updated', 'profile.deleted']);
      for (const id of [created.id, chosen.id]) assert.equal((await send(ctx.app, 'DELETE', `${ENDPOINTS}${id}/`, a.auth)).statusCode, 204);
    });

    test('bad endpoint bodies get every problem in the envelope', async () => {
      const cases: [unknown, ReturnType<typeof envelope>][] = [
        [[], envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object with at least "url".'])],
        ['"http://127.0.0.1/"', envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object with at least "url".'])],
        [{}, envelope(400, 'validation_error', ['url', 'This field is required.'])],
        [{ url: 42 }, envelope(400, 'validation_error', ['url', 'Must be a string.'])],
        [{ url: 'ftp://example.com/x' }, envelope(400, 'validation_error', ['url', BAD_URL])],
        [{ url: 'example.com/hooks' }, envelope(400, 'validation_error', ['url', BAD_URL])],
        [{ url: '/relative/path' }, envelope(400, 'validation_error', ['url', BAD_URL])],
        [{ url: 'http://user:pw@example.com/' }, envelope(400, 'validation_error', ['url', 'The URL must not contain a user name or password.'])],
        [{ url: `https://example.com/${'a'.repeat(2048)}` }, envelope(400, 'validation_error', ['url', 'Ensure this field has no more than 2048 characters.'])],
        [{ url: 'http://example.com/\u0000' }, envelope(400, 'validation_error', ['url', 'Must not contain the NUL character (U+0000).'])],
        [
          { url: 'http://example.com/', event_types: [] },
          envelope(400, 'validation_error', ['event_types', `Must be a non-empty list of event types: ${ALL_TYPES.join(', ')}.`]),
        ],
        [
          { url: 'http://example.com/', event_types: 'profile.created' },
          envelope(400, 'validation_error', ['event_types', `Must be a non-empty list of event types: ${ALL_TYPES.join(', ')}.`]),
        ],
        [
          { url: 'http://example.com/', event_types: ['profile.created', 'profile.exploded', 7] },
          envelope(
            400,
            'validation_error',
            ['event_types', `Unknown event type "profile.exploded"; expected one of: ${ALL_TYPES.join(', ')}.`, `Unknown event type 7; expected one of: ${ALL_TYPES.join(', ')}.`],
          ),
        ],
        [
          { url: 'http://example.com/', event_types: Array(5_000).fill('x') },
          envelope(400, 'validation_error', ['event_types', 'Must list at most 20 event types.']),
        ],
        [{ url: 'http://example.com/', secret: 'short' }, envelope(400, 'validation_error', ['secret', 'A secret must be 16 to 256 characters long.'])],
        [{ url: 'http://example.com/', secret: 'x'.repeat(257) }, envelope(400, 'validation_error', ['secret', 'A secret must be 16 to 256 characters long.'])],
        [{ url: 'http://example.com/', secret: 'has spaces in the secret' }, envelope(400, 'validation_error', ['secret', 'A secret may hold only printable ASCII characters, without spaces.'])],
        [{ url: 'http://example.com/', secret: 1234567890123456 }, envelope(400, 'validation_error', ['secret', 'Must be a string or null.'])],
        [{ url: 'http://example.com/', description: 'd'.repeat(257) }, envelope(400, 'validation_error', ['description', 'Ensure this field has no more than 256 characters.'])],
        [
          { url: 'mailto:a@b.c', event_types: ['x'], secret: 's', description: false },
          envelope(
            400,
            'validation_error',
            ['url', BAD_URL],
            ['event_types', `Unknown event type "x"; expected one of: ${ALL_TYPES.join(', ')}.`],
            ['secret', 'A secret must be 16 to 256 characters long.'],
            ['description', 'Must be a string or null.'],
          ),
        ],
      ];
      for (const [body, expected] of cases) {
        const res = await send(ctx.app, 'POST', ENDPOINTS, a.auth, body);
        assert.equal(res.statusCode, 400, JSON.stringify(body).slice(0, 80));
        assert.deepEqual(res.json(), expected, JSON.stringify(body).slice(0, 80));
      }
      const noBody = await send(ctx.app, 'POST', ENDPOINTS, a.auth);
      assert.deepEqual(noBody.json(), envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object with at least "url".']));
      const notJson = await send(ctx.app, 'POST', ENDPOINTS, { ...a.auth, 'content-type': 'application/json' }, '{"url":');
      assert.equal(notJson.statusCode, 400);
      assert.equal(notJson.json().error_code, 'parse_error');
      assert.deepEqual((await send(ctx.app, 'GET', ENDPOINTS, a.auth)).json(), { data: [] }, 'nothing was added');
    });

    test('removing: 204, then gone from the list, its subscriptions deleted, its pending deliveries cancelled; unknown ids are 404', async () => {
      const endpoint = await addEndpoint(a, { url: 'http://127.0.0.1:9/removed' });
      await createProfile(a, 'remove-me');
      const [pending] = (await listDeliveries(a, `?endpoint_id=${endpoint.id}`)).data;
      assert.equal(pending!.status, 'pending');

      const removed = await send(ctx.app, 'DELETE', `${ENDPOINTS}${endpoint.id}/`, a.auth);
      assert.equal(removed.statusCode, 204);
      assert.equal(removed.body, '');
      assert.deepEqual((await send(ctx.app, 'GET', ENDPOINTS, a.auth)).json(), { data: [] });
      assert.deepEqual(await queryRows(ctx.database, `select * from webhook_subscriptions where endpoint_id = '${endpoint.id}'`), []);
      const [cancelled] = (await listDeliveries(a, `?endpoint_id=${endpoint.id}`)).data;
      assert.equal(cancelled!.id, pending!.id);
      assert.equal(cancelled!.status, 'cancelled');
      assert.equal(cancelled!.last_error, 'endpoint removed');
      assert.equal(cancelled!.next_attempt_at, null);
      assert.match(String(cancelled!.completed_at), ISO);
      // No new deliveries for it.
      await createProfile(a, 'after-removal');
      assert.equal((await listDeliveries(a, `?endpoint_id=${endpoint.id}`)).data.length, 1);

      const notFound = envelope(404, 'not_found', [null, 'Webhook endpoint not found']);
      for (const id of [endpoint.id, '00000000-0000-0000-0000-000000000000', 'not-an-id', '%00']) {
        const res = await send(ctx.app, 'DELETE', `${ENDPOINTS}${id}/`, a.auth);
        assert.equal(res.statusCode, 404, id);
        assert.deepEqual(res.json(), notFound);
      }
      // The redelivery of a removed endpoint's delivery is refused.
      const redeliver = await send(ctx.app, 'POST', `${DELIVERIES}${pending!.id}/redeliver/`, a.auth);
      assert.deepEqual(redeliver.json(), envelope(404, 'not_found', [null, 'Delivery not found']));
    });

    test('deliveries: one per change and subscribed endpoint, newest first, filtered, paged by cursor', async () => {
      const all = await addEndpoint(a, { url: 'http://127.0.0.1:9/all' });
      const deletes = await addEndpoint(a, { url: 'http://127.0.0.1:9/deletes', event_types: ['profile.deleted'] });
      const headers = { ...a.auth, 'adapty-customer-user-id': 'paged' };
      const profileId = await createProfile(a, 'paged');
      assert.equal((await send(ctx.app, 'PATCH', PROFILE_PATH, headers, { first_name: 'Ada' })).statusCode, 200);
      assert.equal((await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { appsflyer_id: 'af-1' })).statusCode, 200);
      // Another profile is deleted: its own earlier delivery is cancelled (see test/http/profile-erasure.test.ts).
      await createProfile(a, 'paged-gone');
      assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, { ...a.auth, 'adapty-customer-user-id': 'paged-gone' })).statusCode, 204);

      const mine = `?endpoint_id=${all.id}`;
      const everything = (await listDeliveries(a, `${mine}&limit=100`)).data;
      assert.deepEqual(everything.map((d) => [d.event_type, d.status]), [
        ['profile.deleted', 'pending'], ['profile.created', 'cancelled'],
        ['integration_identifiers.updated', 'pending'], ['profile.updated', 'pending'], ['profile.created', 'pending'],
      ]);
      const ids = everything.map((d) => d.id as number);
      assert.deepEqual([...ids].sort((x, y) => y - x), ids, 'newest first');
      const first = everything.at(-1)!;
      assert.deepEqual(Object.keys(first).sort(), [
        'attempts', 'completed_at', 'created_at', 'endpoint_id', 'event_id', 'event_type', 'id', 'last_attempt_at',
        'last_error', 'last_status_code', 'next_attempt_at', 'profile_id', 'status',
      ]);
      assert.equal(first.endpoint_id, all.id);
      assert.equal(first.profile_id, profileId);
      assert.equal(first.status, 'pending');
      assert.equal(first.attempts, 0);
      assert.match(String(first.next_attempt_at), ISO);
      assert.equal(first.last_attempt_at, null);
      assert.equal(first.completed_at, null);

      const onlyDeletes = (await listDeliveries(a, `?endpoint_id=${deletes.id}`)).data;
      assert.deepEqual(onlyDeletes.map((d) => d.event_type), ['profile.deleted']);

      // Pages of 3 over everything pending of the app, following next_cursor to the end.
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await listDeliveries(a, `?status=pending&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.data.map((d) => d.id as number));
        assert.ok(page.data.every((d) => d.status === 'pending'));
        cursor = page.next_cursor;
        if (cursor !== null) assert.equal(page.data.length, 3);
        pages++;
      } while (cursor !== null && pages < 10);
      const pending = (await listDeliveries(a, '?status=pending&limit=100')).data.map((d) => d.id as number);
      assert.deepEqual(seen, pending);
      assert.equal(pending.length, 5);
      assert.equal(pages, 2);
      assert.deepEqual((await listDeliveries(a, '?status=succeeded')).data, []);
      assert.deepEqual(await listDeliveries(a, `?endpoint_id=00000000-0000-0000-0000-000000000000`), { data: [], next_cursor: null });
    });

    test('bad delivery queries are 400 with the parameter named', async () => {
      const cases: [string, string, string][] = [
        ['?limit=0', 'limit', 'Must be a whole number from 1 to 100.'],
        ['?limit=101', 'limit', 'Must be a whole number from 1 to 100.'],
        ['?limit=ten', 'limit', 'Must be a whole number from 1 to 100.'],
        ['?limit=', 'limit', 'Must be a whole number from 1 to 100.'],
        ['?status=lost', 'status', 'Must be one of: pending, succeeded, failed, cancelled.'],
        ['?status=pending&status=failed', 'status', 'Give this parameter once.'],
        ['?cursor=abc', 'cursor', 'Must be the next_cursor of a previous page.'],
        ['?cursor=99999999999999999999', 'cursor', 'Must be the next_cursor of a previous page.'],
        ['?endpoint_id=', 'endpoint_id', 'Must be the id of a webhook endpoint.'],
        ['?endpoint_id=not-an-id', 'endpoint_id', 'Must be the id of a webhook endpoint.'],
        ['?endpoint_id=%00', 'endpoint_id', 'Must be the id of a webhook endpoint.'],
      ];
      for (const [query, source, message] of cases) {
        const res = await send(ctx.app, 'GET', `${DELIVERIES}${query}`, a.auth);
        assert.equal(res.statusCode, 400, query);
        assert.deepEqual(res.json(), envelope(400, 'validation_error', [source, message]), query);
      }
      const both = await send(ctx.app, 'GET', `${DELIVERIES}?limit=0&cursor=x`, a.auth);
      assert.deepEqual(
        both.json(),
        envelope(400, 'validation_error', ['limit', 'Must be a whole number from 1 to 100.'], ['cursor', 'Must be the next_cursor of a previous page.']),
      );
    });

    test('redeliver answers 202 with a new pending delivery of the same event; unknown ids are 404', async () => {
      const endpoint = await addEndpoint(a, { url: 'http://127.0.0.1:9/again', event_types: ['profile.created'] });
      await createProfile(a, 'redeliver-me');
      const [original] = (await listDeliveries(a, `?endpoint_id=${endpoint.id}`)).data;
      const res = await send(ctx.app, 'POST', `${DELIVERIES}${original!.id}/redeliver/`, a.auth);
      assert.equal(res.statusCode, 202, res.body);
      const again = res.json().data;
      assert.ok(again.id > (original!.id as number));
      assert.deepEqual(
        { ...again, id: 0, created_at: '', next_attempt_at: '' },
        { ...original, id: 0, created_at: '', next_attempt_at: '', attempts: 0, status: 'pending' },
      );
      const listed = (await listDeliveries(a, `?endpoint_id=${endpoint.id}`)).data;
      assert.deepEqual(listed.map((d) => d.id), [again.id, original!.id]);

      const notFound = envelope(404, 'not_found', [null, 'Delivery not found']);
      for (const id of ['99999999', '0', 'abc', '1e3', '-1']) {
        const missing = await send(ctx.app, 'POST', `${DELIVERIES}${id}/redeliver/`, a.auth);
        assert.equal(missing.statusCode, 404, id);
        assert.deepEqual(missing.json(), notFound, id);
      }
    });

    test("tenancy: another app's endpoints and deliveries are simply not found", async () => {
      const endpoint = await addEndpoint(a, { url: 'http://127.0.0.1:9/tenant-a', event_types: ['profile.created'] });
      await createProfile(a, 'tenant-a-user');
      const [delivery] = (await listDeliveries(a, `?endpoint_id=${endpoint.id}`)).data;
      assert.ok(delivery);

      assert.deepEqual((await send(ctx.app, 'GET', ENDPOINTS, b.auth)).json(), { data: [] });
      assert.deepEqual(await listDeliveries(b), { data: [], next_cursor: null });
      assert.deepEqual(await listDeliveries(b, `?endpoint_id=${endpoint.id}`), { data: [], next_cursor: null });
      const remove = await send(ctx.app, 'DELETE', `${ENDPOINTS}${endpoint.id}/`, b.auth);
      assert.deepEqual(remove.json(), envelope(404, 'not_found', [null, 'Webhook endpoint not found']));
      const redeliver = await send(ctx.app, 'POST', `${DELIVERIES}${delivery.id}/redeliver/`, b.auth);
      assert.deepEqual(redeliver.json(), envelope(404, 'not_found', [null, 'Delivery not found']));
      // B's own changes do not reach A's endpoint.
      await createProfile(b, 'tenant-b-user');
      assert.equal((await listDeliveries(a, `?endpoint_id=${endpoint.id}`)).data.length, 1);
      // And A's endpoint is untouched.
      const listed = (await send(ctx.app, 'GET', ENDPOINTS, a.auth)).json().data as { id: string }[];
      assert.ok(listed.some((e) => e.id === endpoint.id));
      assert.equal((await send(ctx.app, 'DELETE', `${ENDPOINTS}${endpoint.id}/`, a.auth)).statusCode, 204);
    });

    test('an app has at most 20 endpoints', async () => {
      const c = await ctx.newTenant();
      for (let i = 0; i < 20; i++) await addEndpoint(c, { url: `http://127.0.0.1:9/${i}` });
      const res = await send(ctx.app, 'POST', ENDPOINTS, c.auth, { url: 'http://127.0.0.1:9/one-too-many' });
      assert.deepEqual(res.json(), envelope(400, 'validation_error', ['non_field_errors', 'An app can have at most 20 webhook endpoints; remove one first.']));
      const [first] = (await send(ctx.app, 'GET', ENDPOINTS, c.auth)).json().data;
      assert.equal((await send(ctx.app, 'DELETE', `${ENDPOINTS}${first.id}/`, c.auth)).statusCode, 204);
      await addEndpoint(c, { url: 'http://127.0.0.1:9/fits-again' });
    });
  });
}
