import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { IDENTIFIER_KEYS } from '../../src/domain/identifiers.js';
import { DEFAULT_RULES } from '../../src/domain/rules.js';
import {
  addressing,
  createTestContext,
  DATABASES,
  onDatabase,
  envelope,
  IDENTIFIERS_PATH,
  profileOk,
  queryRows,
  send,
  type Tenant,
  type TestContext,
} from '../helpers.js';

const LOOKUP = '/crosswalk/v1/integration-identifiers/lookup/';
const HISTORY = '/crosswalk/v1/integration-identifiers/history/';
const BATCH = '/crosswalk/v1/integration-identifiers/batch/';

const lookupUrl = (key: string, value: string) => `${LOOKUP}?key=${encodeURIComponent(key)}&value=${encodeURIComponent(value)}`;

for (const kind of DATABASES) {
  describe(`lookup, history and batch (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let other: Tenant;
    const { byUser, byId } = addressing(() => tenant);
    before(async () => {
      ctx = await createTestContext(kind);
      tenant = await ctx.newTenant();
      other = await ctx.newTenant();
    });
    after(() => ctx.close());

    const setIds = async (headers: Record<string, string>, body: unknown) => {
      const res = await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, body);
      assert.equal(res.statusCode, 200, res.body);
      return res;
    };
    const newProfile = async (cuid = `u-${randomUUID()}`) => {
      const data = await profileOk(ctx.app, 'POST', byUser(cuid), {});
      return { cuid, profileId: data.profile_id as string, headers: byUser(cuid) };
    };
    const history = async (headers: Record<string, string>, query = '') => {
      const res = await send(ctx.app, 'GET', `${HISTORY}${query}`, headers);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { data: Record<string, unknown>[]; next_cursor: string | null };
    };
    const keyIdOf = async (t: Tenant) => (await ctx.store.listApiKeys(t.appId))[0]!.id;

    describe('reverse lookup', () => {
      test('finds every profile of the app that holds the value, and only the app\'s own', async () => {
        const value = `af-${randomUUID()}`;
        const a = await newProfile();
        const b = await newProfile();
        const c = await newProfile();
        await setIds(a.headers, { appsflyer_id: value });
        await setIds(b.headers, { appsflyer_id: ` ${value} ` });
        await setIds(c.headers, { adjust_device_id: value }); // same value, other key
        await profileOk(ctx.app, 'POST', { ...other.auth, 'adapty-customer-user-id': 'outsider' }, {});
        await setIds({ ...other.auth, 'adapty-customer-user-id': 'outsider' }, { appsflyer_id: value });

        const res = await send(ctx.app, 'GET', lookupUrl('appsflyer_id', value), tenant.auth);
        assert.equal(res.statusCode, 200, res.body);
        const byId = (x: { profileId: string }, y: { profileId: string }) => (x.profileId < y.profileId ? -1 : 1);
        const expected = [a, b].sort(byId).map((p) => ({ profile_id: p.profileId, customer_user_id: p.cuid, key: 'appsflyer_id' }));
        assert.deepEqual(res.json(), { data: expected });
        // The value is trimmed as writes trim it.
        assert.deepEqual((await send(ctx.app, 'GET', lookupUrl('appsflyer_id', `  ${value}`), tenant.auth)).json(), { data: expected });
        // The other app sees its own holder only.
        const theirs = (await send(ctx.app, 'GET', lookupUrl('appsflyer_id', value), other.auth)).json() as { data: { customer_user_id: string }[] };
        assert.deepEqual(theirs.data.map((h) => h.customer_user_id), ['outsider']);
        // Without a key, every key is searched: c holds the value under another key.
        const anyKey = await send(ctx.app, 'GET', `${LOOKUP}?value=${encodeURIComponent(value)}`, tenant.auth);
        assert.equal(anyKey.statusCode, 200, anyKey.body);
        const all = [
          ...[a, b].map((p) => ({ profile_id: p.profileId, customer_user_id: p.cuid, key: 'appsflyer_id' })),
          { profile_id: c.profileId, customer_user_id: c.cuid, key: 'adjust_device_id' },
        ].sort((x, y) => (x.key === y.key ? (x.profile_id < y.profile_id ? -1 : 1) : x.key < y.key ? -1 : 1));
        assert.deepEqual(anyKey.json(), { data: all });
      });

      test('without a key, a profile holding the value under two keys is listed once per key, by key then profile id', async () => {
        const value = `both-${randomUUID()}`;
        const p = await newProfile();
        await setIds(p.headers, { posthog_distinct_user_id: value, amplitude_user_id: value });
        const res = await send(ctx.app, 'GET', `${LOOKUP}?value=${encodeURIComponent(` ${value} `)}`, tenant.auth);
        assert.deepEqual(res.json(), {
          data: [
            { profile_id: p.profileId, customer_user_id: p.cuid, key: 'amplitude_user_id' },
            { profile_id: p.profileId, customer_user_id: p.cuid, key: 'posthog_distinct_user_id' },
          ],
        });
        assert.deepEqual((await send(ctx.app, 'GET', `${LOOKUP}?value=nobody-${value}`, tenant.auth)).json(), { data: [] });
      });

      test('a profile without a customer user id is listed with null; a value nobody holds answers an empty list', async () => {
        const profileId = randomUUID();
        await profileOk(ctx.app, 'POST', byId(profileId), {});
        await setIds(byId(profileId), { branch_id: `br-${profileId}` });
        assert.deepEqual((await send(ctx.app, 'GET', lookupUrl('branch_id', `br-${profileId}`), tenant.auth)).json(), {
          data: [{ profile_id: profileId, customer_user_id: null, key: 'branch_id' }],
        });
        assert.deepEqual((await send(ctx.app, 'GET', lookupUrl('branch_id', 'nobody-has-this'), tenant.auth)).json(), { data: [] });
      });

      test('a cleared value is no longer found', async () => {
        const p = await newProfile();
        await setIds(p.headers, { mixpanel_user_id: `mx-${p.cuid}` });
        await setIds(p.headers, { mixpanel_user_id: null });
        assert.deepEqual((await send(ctx.app, 'GET', lookupUrl('mixpanel_user_id', `mx-${p.cuid}`), tenant.auth)).json(), { data: [] });
      });

      // On PostgreSQL the choice is the planner's, from table statistics, and tiny test tables say
      // nothing about a large app; on SQLite (no statistics) the plan is fixed, so it is checked.
      test('reads the value index, so its cost does not grow with the number of profiles', { skip: kind === 'postgres' && 'plan depends on statistics' }, async () => {
        const sql =
          "select i.profile_id, p.customer_user_id from integration_identifiers as i inner join profiles as p on p.app_id = i.app_id and p.id = i.profile_id " +
          "where i.app_id = 'a' and i.key = 'appsflyer_id' and i.value = 'v' order by i.profile_id limit 1000";
        const plan = (await queryRows(ctx.database, `explain query plan ${sql}`)).map((row) => String(row.detail));
        assert.match(plan[0]!, /USING COVERING INDEX integration_identifiers_value_idx \(app_id=\? AND key=\? AND value=\?\)/);
        assert.match(plan[1]!, /USING PRIMARY KEY \(app_id=\? AND id=\?\)/);
        // Without a key: the index is probed once per key of the IN list, never scanned.
        const keys = IDENTIFIER_KEYS.map((key) => `'${key}'`).join(', ');
        const anyKey = sql.replace("i.key = 'appsflyer_id'", `i.key in (${keys})`).replace('order by i.profile_id', 'order by i.key, i.profile_id');
        const anyPlan = (await queryRows(ctx.database, `explain query plan ${anyKey}`)).map((row) => String(row.detail));
        assert.ok(anyPlan.some((line) => /USING COVERING INDEX integration_identifiers_value_idx \(app_id=\? AND key=\? AND value=\?\)/.test(line)), anyPlan.join('\n'));
        assert.ok(!anyPlan.some((line) => /^SCAN (i|integration_identifiers)\b/.test(line)), anyPlan.join('\n'));
      });

      test('bad queries get exact error bodies', async () => {
        const cases: [string, unknown][] = [
          [`${LOOKUP}?key=appsflyer_id`, envelope(400, 'validation_error', ['value', 'This query parameter is required.'])],
          [`${LOOKUP}?key=appsflyer_id&value=%20%20`, envelope(400, 'validation_error', ['value', 'This query parameter is required.'])],
          [`${LOOKUP}?key=nope&value=x`, envelope(400, 'validation_error', ['key', `Must be one of the integration identifier keys: ${IDENTIFIER_LIST}.`])],
          [`${LOOKUP}?key=appsflyer_id&value=${'x'.repeat(513)}`, envelope(400, 'validation_error', ['value', 'Ensure this value has no more than 512 characters.'])],
          [`${LOOKUP}?key=appsflyer_id&key=branch_id&value=x`, envelope(400, 'validation_error', ['key', 'Give this query parameter only once.'])],
          [`${LOOKUP}?key=appsflyer_id&value=a%00b`, envelope(400, 'validation_error', ['value', 'Must not contain the NUL character (U+0000).'])],
        ];
        for (const [url, body] of cases) {
          const res = await send(ctx.app, 'GET', url, tenant.auth);
          assert.equal(res.statusCode, 400, url);
          assert.deepEqual(res.json(), body, url);
        }
      });

      test('needs a valid API key', async () => {
        const res = await send(ctx.app, 'GET', lookupUrl('appsflyer_id', 'x'), {});
        assert.deepEqual(res.json(), envelope(401, 'not_authenticated', ['non_field_errors', 'Authentication credentials were not provided.']));
        const bad = await send(ctx.app, 'GET', lookupUrl('appsflyer_id', 'x'), { authorization: 'Api-Key not-a-real-key-123456' });
        assert.equal(bad.statusCode, 401);
      });
    });

    describe('history', () => {
      test('records set, change and clear with old and new value, key id and request id, newest first', async () => {
        const p = await newProfile();
        await setIds({ ...p.headers, 'x-request-id': 'req-one' }, { appsflyer_id: 'a1', branch_id: 'b1' });
        await setIds({ ...p.headers, 'x-request-id': 'req-two' }, { appsflyer_id: 'a2' });
        await setIds({ ...p.headers, 'x-request-id': 'req-three' }, { branch_id: null, appsflyer_id: 'a2' });
        const page = await history(p.headers);
        const keyId = await keyIdOf(tenant);
        const rows = page.data.map(({ key, kind, old_value, new_value, request_id, api_key_id, source, other_profile_id }) => ({
          key, kind, old_value, new_value, request_id, api_key_id, source, other_profile_id,
        }));
        const common = { api_key_id: keyId, source: 'api', other_profile_id: null };
        assert.deepEqual(rows, [
          { key: 'branch_id', kind: 'clear', old_value: 'b1', new_value: null, request_id: 'req-three', ...common },
          { key: 'appsflyer_id', kind: 'change', old_value: 'a1', new_value: 'a2', request_id: 'req-two', ...common },
          { key: 'branch_id', kind: 'set', old_value: null, new_value: 'b1', request_id: 'req-one', ...common },
          { key: 'appsflyer_id', kind: 'set', old_value: null, new_value: 'a1', request_id: 'req-one', ...common },
        ]);
        assert.equal(page.next_cursor, null);
        for (const entry of page.data) {
          assert.match(String(entry.id), /^\d+$/);
          assert.ok(Math.abs(Date.parse(String(entry.changed_at)) - Date.now()) < 60_000);
        }
        // Writing the stored value again, or clearing an unset key, records nothing.
        await setIds(p.headers, { appsflyer_id: 'a2', adjust_device_id: null });
        assert.equal((await history(p.headers)).data.length, 4);
      });

      test('filters by key and pages with limit and cursor until next_cursor is null', async () => {
        const p = await newProfile();
        for (let i = 0; i < 7; i++) await setIds(p.headers, { amplitude_user_id: `v${i}`, branch_id: `b${i}` });
        const all = (await history(p.headers, '?key=amplitude_user_id&limit=500')).data;
        assert.deepEqual(all.map((e) => e.new_value), ['v6', 'v5', 'v4', 'v3', 'v2', 'v1', 'v0']);
        const seen: unknown[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page: { data: Record<string, unknown>[]; next_cursor: string | null } = await history(
            p.headers,
            `?key=amplitude_user_id&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
          );
          seen.push(...page.data.map((e) => e.new_value));
          cursor = page.next_cursor;
          pages++;
        } while (cursor !== null);
        assert.equal(pages, 3);
        assert.deepEqual(seen, ['v6', 'v5', 'v4', 'v3', 'v2', 'v1', 'v0']);
        assert.equal((await history(p.headers, '?limit=500')).data.length, 14);
      });

      test('is complete and in commit order under concurrent writes to one key', async () => {
        const p = await newProfile();
        const writes = Array.from({ length: 40 }, (_, i) => `c${i}`);
        await Promise.all(writes.map((value) => setIds(p.headers, { facebook_anonymous_id: value })));
        const entries = (await history(p.headers, '?limit=500')).data.reverse();
        assert.equal(entries.length, writes.length);
        assert.deepEqual(new Set(entries.map((e) => e.new_value)), new Set(writes));
        // Each entry replaced exactly the value the previous one wrote: nothing lost, nothing reordered.
        assert.equal(entries[0]!.old_value, null);
        for (let i = 1; i < entries.length; i++) assert.equal(entries[i]!.old_value, entries[i - 1]!.new_value);
        const ids = entries.map((e) => Number(e.id));
        assert.deepEqual([...ids].sort((a, b) => a - b), ids);
        const stored = (await send(ctx.app, 'GET', IDENTIFIERS_PATH, p.headers)).json() as Record<string, string>;
        assert.equal(stored.facebook_anonymous_id, entries.at(-1)!.new_value);
      });

      test('deleting the profile deletes its history', async () => {
        const p = await newProfile();
        await setIds(p.headers, { pushwoosh_hwid: 'pw' });
        const before = await queryRows(ctx.database, `select count(*) as n from identifier_history where profile_id = '${p.profileId}'`);
        assert.equal(Number(before[0]!.n), 1);
        assert.equal((await send(ctx.app, 'DELETE', '/api/v2/server-side-api/profile/', p.headers)).statusCode, 204);
        const afterDelete = await queryRows(ctx.database, `select count(*) as n from identifier_history where profile_id = '${p.profileId}'`);
        assert.equal(Number(afterDelete[0]!.n), 0);
        const res = await send(ctx.app, 'GET', HISTORY, p.headers);
        assert.deepEqual(res.json(), envelope(404, 'profile_not_found', [null, 'Profile not found']));
      });

      test('errors: no address, unknown profile, another app\'s profile, bad parameters', async () => {
        const p = await newProfile();
        assert.deepEqual((await send(ctx.app, 'GET', HISTORY, tenant.auth)).json(), envelope(400, 'validation_error', [
          'non_field_errors', 'Provide the adapty-customer-user-id header, the adapty-profile-id header, or both.',
        ]));
        assert.equal((await send(ctx.app, 'GET', HISTORY, byUser('nobody-here'))).statusCode, 404);
        const foreign = await send(ctx.app, 'GET', HISTORY, { ...other.auth, 'adapty-profile-id': p.profileId });
        assert.deepEqual(foreign.json(), envelope(404, 'profile_not_found', [null, 'Profile not found']));
        const cases: [string, unknown][] = [
          ['?limit=0', envelope(400, 'validation_error', ['limit', 'Must be a whole number from 1 to 500.'])],
          ['?limit=501', envelope(400, 'validation_error', ['limit', 'Must be a whole number from 1 to 500.'])],
          ['?limit=ten', envelope(400, 'validation_error', ['limit', 'Must be a whole number from 1 to 500.'])],
          ['?cursor=abc', envelope(400, 'validation_error', ['cursor', 'Not a cursor this API gave out: pass next_cursor from the previous page unchanged.'])],
          ['?key=bogus', envelope(400, 'validation_error', ['key', `Must be one of the integration identifier keys: ${IDENTIFIER_LIST}.`])],
        ];
        for (const [query, body] of cases) assert.deepEqual((await send(ctx.app, 'GET', `${HISTORY}${query}`, p.headers)).json(), body, query);
        assert.equal((await send(ctx.app, 'GET', HISTORY, { 'adapty-customer-user-id': p.cuid })).statusCode, 401);
      });
    });

    describe('batch', () => {
      const batch = (body: unknown, t: Tenant = tenant) => send(ctx.app, 'POST', BATCH, t.auth, body);

      test('applies every item, creating missing profiles when asked, and answers one result per item', async () => {
        const existing = await newProfile();
        const fresh = `fresh-${randomUUID()}`;
        const res = await batch({
          create_missing: true,
          items: [
            { customer_user_id: existing.cuid, identifiers: { appsflyer_id: 'b-af', branch_id: 'b-br' } },
            { customer_user_id: fresh, identifiers: { amplitude_user_id: 'amp' } },
            { profile_id: existing.profileId, identifiers: { branch_id: null } },
          ],
        });
        assert.equal(res.statusCode, 200, res.body);
        const freshId = (await profileOk(ctx.app, 'GET', byUser(fresh))).profile_id;
        assert.deepEqual(res.json(), {
          data: [
            { index: 0, status: 200, profile_id: existing.profileId, customer_user_id: existing.cuid, created: false, changed: ['appsflyer_id', 'branch_id'], dropped: [] },
            { index: 1, status: 200, profile_id: freshId, customer_user_id: fresh, created: true, changed: ['amplitude_user_id'], dropped: [] },
            { index: 2, status: 200, profile_id: existing.profileId, customer_user_id: existing.cuid, created: false, changed: ['branch_id'], dropped: [] },
          ],
          succeeded: 3,
          failed: 0,
        });
        const ids = (await send(ctx.app, 'GET', IDENTIFIERS_PATH, existing.headers)).json() as Record<string, unknown>;
        assert.equal(ids.appsflyer_id, 'b-af');
        assert.equal(ids.branch_id, null);
        const entries = (await history(existing.headers)).data;
        assert.deepEqual(entries.map((e) => [e.key, e.kind, e.source]), [['branch_id', 'clear', 'batch'], ['branch_id', 'set', 'batch'], ['appsflyer_id', 'set', 'batch']]);
      });

      test('one bad item does not fail the others, and a failed item writes nothing', async () => {
        const ok = await newProfile();
        const missingId = randomUUID();
        const res = await batch({
          items: [
            { customer_user_id: ok.cuid, identifiers: { appsflyer_id: 'good' } },
            { customer_user_id: ok.cuid, identifiers: { appsflyer_id: true } },
            { profile_id: missingId, identifiers: { branch_id: 'x' } },
            { customer_user_id: `absent-${randomUUID()}`, identifiers: { branch_id: 'x' } },
            { identifiers: { branch_id: 'x' } },
            { customer_user_id: ok.cuid },
            'not an item',
            { profile_id: 'not-a-uuid', identifiers: { branch_id: 'x' } },
            { customer_user_id: ok.cuid, identifiers: { adjust_device_id: 'also-good' } },
          ],
        });
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json() as { data: { index: number; status: number; error?: unknown }[]; succeeded: number; failed: number };
        assert.deepEqual(body.data.map((r) => [r.index, r.status]), [[0, 200], [1, 400], [2, 404], [3, 404], [4, 400], [5, 400], [6, 400], [7, 400], [8, 200]]);
        assert.equal(body.succeeded, 2);
        assert.equal(body.failed, 7);
        assert.deepEqual(body.data[1]!.error, envelope(400, 'validation_error', ['appsflyer_id', 'Must be a string, a number or null.']));
        assert.deepEqual(body.data[2]!.error, envelope(404, 'profile_not_found', [null, 'Profile not found']));
        assert.deepEqual(body.data[4]!.error, envelope(400, 'validation_error', ['non_field_errors', 'Name the profile with profile_id, customer_user_id, or both.']));
        assert.deepEqual(body.data[5]!.error, envelope(400, 'validation_error', ['identifiers', 'This field is required.']));
        assert.deepEqual(body.data[6]!.error, envelope(400, 'validation_error', ['non_field_errors', 'Each item must be a JSON object.']));
        assert.deepEqual(body.data[7]!.error, envelope(400, 'validation_error', ['profile_id', 'Must be a valid UUID.']));
        const ids = (await send(ctx.app, 'GET', IDENTIFIERS_PATH, ok.headers)).json() as Record<string, unknown>;
        assert.equal(ids.appsflyer_id, 'good');
        assert.equal(ids.adjust_device_id, 'also-good');
        assert.equal((await profileOk(ctx.app, 'GET', byUser(ok.cuid))).profile_id, ok.profileId);
        const absent = await queryRows(ctx.database, `select count(*) as n from profiles where id = '${missingId}'`);
        assert.equal(Number(absent[0]!.n), 0);
      });

      test('1,000 items in one request (well over the 64 KiB limit of other routes)', async () => {
        const prefix = randomUUID().slice(0, 8);
        const items = Array.from({ length: 1000 }, (_, i) => ({
          customer_user_id: `bulk-${prefix}-${i}`,
          identifiers: { appsflyer_id: `af-${prefix}-${i}`, amplitude_user_id: `amp-${prefix}-${i}`, branch_id: `br-${prefix}-${i}` },
        }));
        assert.ok(JSON.stringify({ items }).length > 64 * 1024);
        const res = await batch({ create_missing: true, items });
        assert.equal(res.statusCode, 200, res.body.slice(0, 300));
        assert.equal(res.json().succeeded, 1000);
        const found = (await send(ctx.app, 'GET', lookupUrl('appsflyer_id', `af-${prefix}-999`), tenant.auth)).json();
        assert.deepEqual(found.data.map((h: { customer_user_id: string }) => h.customer_user_id), [`bulk-${prefix}-999`]);
      });

      test('a request that is not a batch is refused as a whole', async () => {
        const items = (n: number) => Array.from({ length: n }, () => ({ customer_user_id: 'x', identifiers: { branch_id: 'y' } }));
        const cases: [unknown, unknown][] = [
          [[1, 2], envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object with an "items" array.'])],
          [{}, envelope(400, 'validation_error', ['items', 'Must be an array of items.'])],
          [{ items: [] }, envelope(400, 'validation_error', ['items', 'Give at least one item.'])],
          [{ items: items(1001) }, envelope(400, 'validation_error', ['items', 'Give at most 1000 items; split larger writes.'])],
          [{ items: items(1), create_missing: 'yes' }, envelope(400, 'validation_error', ['create_missing', 'Must be true or false.'])],
        ];
        for (const [body, expected] of cases) {
          const res = await batch(body);
          assert.equal(res.statusCode, 400);
          assert.deepEqual(res.json(), expected);
        }
        const empty = await send(ctx.app, 'POST', BATCH, tenant.auth);
        assert.deepEqual(empty.json(), envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object with an "items" array.']));
        const huge = await send(ctx.app, 'POST', BATCH, tenant.auth, `{"items":[${'"x",'.repeat(1_100_000)}"x"]}`);
        assert.deepEqual(huge.json(), envelope(413, 'payload_too_large', ['non_field_errors', 'The request body must not be larger than 4194304 bytes.']));
      });

      test('the bulk path and the item-by-item path (apps with a conflict policy) give the same results, state and history', async () => {
        const bulk = await ctx.newTenant();
        const itemwise = await ctx.newTenant();
        // A policy on a key the batch does not use switches the app to the item-by-item path.
        await ctx.store.setRules(itemwise.appId, { ...DEFAULT_RULES, conflictPolicies: { pushwoosh_hwid: 'reject' } });
        const run = async (t: Tenant) => {
          const existing = await profileOk(ctx.app, 'POST', { ...t.auth, 'adapty-customer-user-id': 'old' }, {});
          await send(ctx.app, 'POST', IDENTIFIERS_PATH, { ...t.auth, 'adapty-customer-user-id': 'old' }, { appsflyer_id: 'o1', branch_id: 'o2' });
          const res = await send(ctx.app, 'POST', BATCH, t.auth, {
            create_missing: true,
            items: [
              { customer_user_id: 'old', identifiers: { appsflyer_id: 'n1', branch_id: null, adjust_device_id: 'unknown' } },
              { customer_user_id: 'new', identifiers: { appsflyer_id: 'x1' } },
              { customer_user_id: 'new', identifiers: { appsflyer_id: 'x2', mixpanel_user_id: 'm' } },
              { customer_user_id: 'new', identifiers: { appsflyer_id: 'x2' } },
              { profile_id: existing.profile_id, customer_user_id: 'someone-else', identifiers: { branch_id: 'z' } },
              { profile_id: randomUUID(), identifiers: { branch_id: 'z' } },
              { customer_user_id: 'old', identifiers: { branch_id: 'again', appsflyer_id: null } },
              { customer_user_id: 'bad', identifiers: { branch_id: '' } },
            ],
          });
          assert.equal(res.statusCode, 200, res.body);
          const ids = new Map<string, string>();
          const anon = (id: unknown) => {
            if (typeof id !== 'string') return id;
            if (!ids.has(id)) ids.set(id, `p${ids.size}`);
            return ids.get(id);
          };
          const results: Record<string, unknown>[] = (res.json().data as Record<string, unknown>[]).map((r) => ({ ...r, profile_id: anon(r.profile_id) }));
          const state = [];
          for (const cuid of ['old', 'new']) {
            const headers = { ...t.auth, 'adapty-customer-user-id': cuid };
            const entries = (await send(ctx.app, 'GET', `${HISTORY}?limit=500`, headers)).json().data as Record<string, unknown>[];
            state.push({
              ids: (await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers)).json(),
              history: entries.map(({ key, kind, old_value, new_value, source }) => ({ key, kind, old_value, new_value, source })),
            });
          }
          return { results, state };
        };
        const a = await run(bulk);
        const b = await run(itemwise);
        assert.deepEqual(a, b);
        assert.deepEqual(a.results.map((r) => r.status), [200, 200, 200, 200, 404, 404, 200, 400]);
        assert.deepEqual(a.results.map((r) => r.created), [false, true, false, false, undefined, undefined, false, undefined]);
        assert.deepEqual(a.state[0]!.history.map((e) => e.kind), ['set', 'clear', 'dropped', 'clear', 'change', 'set', 'set']);
      });

      test('concurrent batches over the same profiles, in different orders, all succeed and keep each history a chain', async () => {
        const t = await ctx.newTenant();
        const cuids = Array.from({ length: 30 }, (_, i) => `shared-${i}`);
        const batches = Array.from({ length: 6 }, (_, b) => {
          const order = b % 2 === 0 ? cuids : [...cuids].reverse();
          return { create_missing: true, items: order.map((cuid) => ({ customer_user_id: cuid, identifiers: { firebase_app_instance_id: `${cuid}-batch${b}` } })) };
        });
        const answers = await Promise.all(batches.map((body) => send(ctx.app, 'POST', BATCH, t.auth, body)));
        for (const res of answers) {
          assert.equal(res.statusCode, 200, res.body.slice(0, 300));
          assert.equal(res.json().succeeded, cuids.length);
        }
        // Exactly one batch created each profile.
        const created = answers.flatMap((res) => res.json().data.filter((r: { created: boolean }) => r.created));
        assert.equal(created.length, cuids.length);
        for (const cuid of cuids.slice(0, 5)) {
          const entries = (await send(ctx.app, 'GET', `${HISTORY}?limit=500`, { ...t.auth, 'adapty-customer-user-id': cuid })).json().data.reverse();
          assert.equal(entries.length, 6);
          assert.equal(entries[0].old_value, null);
          for (let i = 1; i < entries.length; i++) assert.equal(entries[i].old_value, entries[i - 1].new_value);
        }
      });

      test('items only reach the key\'s own app', async () => {
        const mine = await newProfile();
        const res = await batch({ items: [{ profile_id: mine.profileId, identifiers: { branch_id: 'intruder' } }, { customer_user_id: mine.cuid, identifiers: { branch_id: 'intruder' } }] }, other);
        assert.deepEqual(res.json().data.map((r: { status: number }) => r.status), [404, 404]);
        assert.equal(((await send(ctx.app, 'GET', IDENTIFIERS_PATH, mine.headers)).json() as Record<string, unknown>).branch_id, null);
        assert.equal((await send(ctx.app, 'POST', BATCH, {}, { items: [] })).statusCode, 401);
      });
    });

    describe('rules', () => {
      let ruled: Tenant;
      const as = (t: Tenant) => (cuid: string) => ({ ...t.auth, 'adapty-customer-user-id': cuid });
      const make = async (t: Tenant) => {
        const cuid = `r-${randomUUID()}`;
        const data = await profileOk(ctx.app, 'POST', as(t)(cuid), {});
        return { cuid, profileId: data.profile_id as string, headers: as(t)(cuid) };
      };
      const idsOf = async (headers: Record<string, string>) => (await send(ctx.app, 'GET', IDENTIFIERS_PATH, headers)).json() as Record<string, string | null>;
      before(async () => {
        ruled = await ctx.newTenant();
      });

      test('by default placeholders are dropped, the rest of the write is kept, and the drop is named and recorded', async () => {
        const p = await newProfile();
        await setIds(p.headers, { amplitude_device_id: 'kept-before' });
        const placeholders = ['null', 'NULL', ' None ', 'undefined', 'unknown', '[object Object]', '00000000-0000-0000-0000-000000000000', 0];
        for (const value of placeholders) {
          const real = `real-${String(value).trim()}`;
          const res = await setIds(p.headers, { amplitude_device_id: value, branch_id: real });
          assert.equal(res.headers['crosswalk-dropped-identifiers'], 'amplitude_device_id', String(value));
          assert.equal(res.body, '');
          const ids = await idsOf(p.headers);
          assert.equal(ids.amplitude_device_id, 'kept-before');
          assert.equal(ids.branch_id, real);
        }
        const dropped = (await history(p.headers, '?key=amplitude_device_id&limit=500')).data.filter((e) => e.kind === 'dropped');
        assert.equal(dropped.length, placeholders.length);
        assert.deepEqual(dropped.at(-1), { ...dropped.at(-1), old_value: 'kept-before', new_value: 'null' });
        // A real write names nothing.
        assert.equal((await setIds(p.headers, { amplitude_device_id: 'real' })).headers['crosswalk-dropped-identifiers'], undefined);
        const metrics = (await send(ctx.app, 'GET', '/metrics', {})).body;
        assert.match(metrics, /crosswalk_identifier_placeholders_dropped_total\{key="amplitude_device_id"\} (\d+)/);
        assert.ok(Number(/crosswalk_identifier_placeholders_dropped_total\{key="amplitude_device_id"\} (\d+)/.exec(metrics)![1]) >= placeholders.length);
      });

      test('reject mode refuses the whole write naming each placeholder key; accept mode stores them', async () => {
        await ctx.store.setRules(ruled.appId, { ...DEFAULT_RULES, placeholderMode: 'reject' });
        const p = await make(ruled);
        const res = await send(ctx.app, 'POST', IDENTIFIERS_PATH, p.headers, { appsflyer_id: 'none', branch_id: 'real', adjust_device_id: 'undefined' });
        const message = 'This value is a placeholder, not a real identifier; this app refuses placeholders.';
        assert.deepEqual(res.json(), envelope(400, 'validation_error', ['adjust_device_id', message], ['appsflyer_id', message]));
        assert.equal((await idsOf(p.headers)).branch_id, null);
        await ctx.store.setRules(ruled.appId, { ...DEFAULT_RULES, placeholderMode: 'accept' });
        await setIds(p.headers, { appsflyer_id: 'none', branch_id: 0 });
        const ids = await idsOf(p.headers);
        assert.equal(ids.appsflyer_id, 'none');
        assert.equal(ids.branch_id, '0');
      });

      test("an app's own placeholder values are dropped like the built-in ones", async () => {
        await ctx.store.setRules(ruled.appId, { ...DEFAULT_RULES, extraPlaceholders: ['not-set', 'idfa_unavailable'] });
        const p = await make(ruled);
        const res = await setIds(p.headers, { appsflyer_id: 'IDFA_UNAVAILABLE', branch_id: ' Not-Set ', adjust_device_id: 'fine' });
        assert.equal(res.headers['crosswalk-dropped-identifiers'], 'appsflyer_id,branch_id');
        const ids = await idsOf(p.headers);
        assert.deepEqual([ids.appsflyer_id, ids.branch_id, ids.adjust_device_id], [null, null, 'fine']);
      });

      test('conflict policy allow (the default) lets profiles share a value', async () => {
        await ctx.store.setRules(ruled.appId, DEFAULT_RULES);
        const [a, b] = [await make(ruled), await make(ruled)];
        await setIds(a.headers, { appsflyer_id: 'shared' });
        await setIds(b.headers, { appsflyer_id: 'shared' });
        const found = (await send(ctx.app, 'GET', lookupUrl('appsflyer_id', 'shared'), ruled.auth)).json();
        assert.equal(found.data.length, 2);
      });

      test('conflict policy reject: 409 identifier_conflict naming the key, and nothing of the write is stored', async () => {
        await ctx.store.setRules(ruled.appId, { ...DEFAULT_RULES, conflictPolicies: { adjust_device_id: 'reject' } });
        const [a, b] = [await make(ruled), await make(ruled)];
        const value = `adj-${randomUUID()}`;
        await setIds(a.headers, { adjust_device_id: value });
        const res = await send(ctx.app, 'POST', IDENTIFIERS_PATH, b.headers, { adjust_device_id: value, branch_id: 'would-be' });
        assert.equal(res.statusCode, 409);
        assert.deepEqual(res.json(), envelope(409, 'identifier_conflict', [
          'adjust_device_id', 'This value is already held by another profile of this app, and this key does not allow sharing.',
        ]));
        assert.deepEqual([(await idsOf(b.headers)).adjust_device_id, (await idsOf(b.headers)).branch_id], [null, null]);
        // The holder may write its own value again; other keys still allow sharing.
        await setIds(a.headers, { adjust_device_id: value, branch_id: 'shared-br' });
        await setIds(b.headers, { branch_id: 'shared-br' });
        // In a batch the conflict is the item's own result.
        const batchRes = await send(ctx.app, 'POST', BATCH, ruled.auth, { items: [{ customer_user_id: b.cuid, identifiers: { adjust_device_id: value } }, { customer_user_id: b.cuid, identifiers: { appsflyer_id: 'ok' } }] });
        assert.deepEqual(batchRes.json().data.map((r: { status: number }) => r.status), [409, 200]);
        assert.equal(batchRes.json().data[0].error.error_code, 'identifier_conflict');
      });

      test('concurrent writes of one value under reject leave exactly one holder', async () => {
        await ctx.store.setRules(ruled.appId, { ...DEFAULT_RULES, conflictPolicies: { tenjin_analytics_installation_id: 'reject' } });
        const profiles = await Promise.all(Array.from({ length: 8 }, () => make(ruled)));
        const value = `race-${randomUUID()}`;
        const results = await Promise.all(profiles.map((p) => send(ctx.app, 'POST', IDENTIFIERS_PATH, p.headers, { tenjin_analytics_installation_id: value })));
        assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 409, 409, 409, 409, 409, 409, 409]);
        const found = (await send(ctx.app, 'GET', lookupUrl('tenjin_analytics_installation_id', value), ruled.auth)).json();
        assert.equal(found.data.length, 1);
      });

      test('conflict policy move: the other profile loses the value, recorded in both histories', async () => {
        await ctx.store.setRules(ruled.appId, { ...DEFAULT_RULES, conflictPolicies: { one_signal_player_id: 'move' } });
        const [a, b] = [await make(ruled), await make(ruled)];
        const value = `os-${randomUUID()}`;
        await setIds(a.headers, { one_signal_player_id: value, branch_id: 'a-branch' });
        await setIds(b.headers, { one_signal_player_id: value });
        assert.equal((await idsOf(a.headers)).one_signal_player_id, null);
        assert.equal((await idsOf(a.headers)).branch_id, 'a-branch');
        assert.equal((await idsOf(b.headers)).one_signal_player_id, value);
        const found = (await send(ctx.app, 'GET', lookupUrl('one_signal_player_id', value), ruled.auth)).json();
        assert.deepEqual(found.data, [{ profile_id: b.profileId, customer_user_id: b.cuid, key: 'one_signal_player_id' }]);
        const [aLatest] = (await history(a.headers, '?key=one_signal_player_id')).data;
        assert.deepEqual([aLatest!.kind, aLatest!.old_value, aLatest!.new_value, aLatest!.other_profile_id], ['moved_away', value, null, b.profileId]);
        const [bLatest] = (await history(b.headers, '?key=one_signal_player_id')).data;
        assert.deepEqual([bLatest!.kind, bLatest!.old_value, bLatest!.new_value, bLatest!.other_profile_id], ['set', null, value, a.profileId]);
      });
    });
  });
}

const IDENTIFIER_LIST =
  'adjust_device_id, airbridge_device_id, amplitude_device_id, amplitude_user_id, appmetrica_device_id, appmetrica_profile_id, appsflyer_id, ' +
  'branch_id, facebook_anonymous_id, firebase_app_instance_id, mixpanel_user_id, one_signal_player_id, one_signal_subscription_id, ' +
  'posthog_distinct_user_id, pushwoosh_hwid, tenjin_analytics_installation_id';
