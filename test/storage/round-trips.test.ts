import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { DEFAULT_RULES } from '../../src/domain/rules.js';
import {
  createTestContext,
  IDENTIFIERS_PATH,
  onDatabase,
  PROFILE_PATH,
  queryRows,
  send,
  subscriptionBody,
  type Tenant,
  type TestContext,
  TRANSACTION_PATH,
} from '../helpers.js';

/**
 * Round trips to PostgreSQL per request, counted at the driver (every statement a pooled
 * connection sends, BEGIN and COMMIT included), written as the table of docs/scaling.md between
 * its two markers: the test fails when the table there differs; UPDATE_DOCS=1 rewrites it.
 */

const DOC = path.resolve(import.meta.dirname, '..', '..', 'docs', 'scaling.md');
const START = '<!-- round-trips:start -->';
const END = '<!-- round-trips:end -->';
const LOOKUP = '/crosswalk/v1/integration-identifiers/lookup/';
const HISTORY = '/crosswalk/v1/integration-identifiers/history/';
const BATCH = '/crosswalk/v1/integration-identifiers/batch/';

/** Counts the statements sent on every pg client while `counting`. */
const counter = { counting: false, queries: 0 };
const clientQuery = pg.Client.prototype.query;
function countQueries() {
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    if (counter.counting) counter.queries++;
    return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pg.Client.prototype.query;
}

/** The table as the markdown between the markers. */
function table(rows: [string, string][]): string {
  return ['| request | round trips |', '|---|---|', ...rows.map(([request, trips]) => `| ${request} | ${trips} |`)].join('\n');
}

describe('round trips per request (postgres)', onDatabase('postgres'), () => {
  let ctx: TestContext;
  let tenant: Tenant;
  const user = (customerUserId: string) => ({ ...tenant.auth, 'adapty-customer-user-id': customerUserId });

  before(async () => {
    countQueries();
    // The key's owner stays cached for the whole test: its lookup is never counted.
    ctx = await createTestContext('postgres', { API_KEY_CACHE_TTL_MS: '3600000' });
    tenant = await ctx.newTenant();
  });
  after(async () => {
    pg.Client.prototype.query = clientQuery;
    await ctx.close();
  });

  /**
   * The statements one request sends, including what runs after its answer (a key's last use);
   * the request must answer `status`.
   */
  async function trips(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, body?: unknown, status = 200) {
    counter.queries = 0;
    counter.counting = true;
    try {
      const res = await send(ctx.app, method, url, headers, body);
      assert.equal(res.statusCode, status, res.body);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return counter.queries;
    } finally {
      counter.counting = false;
    }
  }

  test('the table in docs/scaling.md is the one measured', async () => {
    // Warm up: the key's owner is cached, its last use written, the app's rules cached.
    await send(ctx.app, 'POST', PROFILE_PATH, user('warm'), {});
    await send(ctx.app, 'POST', IDENTIFIERS_PATH, user('warm'), { adjust_device_id: 'warm' });
    await new Promise((resolve) => setTimeout(resolve, 100));

    const rows: [string, string][] = [];
    await send(ctx.app, 'POST', PROFILE_PATH, user('a'), {});
    const getIdentifiers = await trips('GET', IDENTIFIERS_PATH, user('a'));
    rows.push(['GET integration identifiers', `${getIdentifiers}`]);

    const setOnly = await trips('POST', IDENTIFIERS_PATH, user('a'), { appsflyer_id: 'af-1', branch_id: 'br-1' });
    const setAndClear = await trips('POST', IDENTIFIERS_PATH, user('a'), { appsflyer_id: 'af-2', branch_id: null });
    const unchanged = await trips('POST', IDENTIFIERS_PATH, user('a'), { appsflyer_id: 'af-2' });
    rows.push(['POST integration identifiers (set only / set and clear / value unchanged)', `${setOnly} / ${setAndClear} / ${unchanged}`]);

    // A `move` policy that takes the value from another profile, with an endpoint subscribed: two events.
    await ctx.store.setRules(tenant.appId, { ...DEFAULT_RULES, conflictPolicies: { amplitude_user_id: 'move' } });
    await queryRows(ctx.database, `insert into webhook_subscriptions (app_id, event_type, endpoint_id) values ('${tenant.appId}', 'integration_identifiers.updated', 'endpoint-1')`);
    await send(ctx.app, 'POST', IDENTIFIERS_PATH, user('warm'), { adjust_device_id: 'warm-2' });
    await send(ctx.app, 'POST', PROFILE_PATH, user('b'), {});
    await send(ctx.app, 'POST', IDENTIFIERS_PATH, user('b'), { amplitude_user_id: 'amp-1' });
    const move = await trips('POST', IDENTIFIERS_PATH, user('a'), { amplitude_user_id: 'amp-1' });
    rows.push(['POST integration identifiers, a `move` policy taking the value from another profile, an endpoint subscribed', `${move}`]);
    const [a] = await queryRows(ctx.database, `select id from profiles where app_id = '${tenant.appId}' and customer_user_id = 'a'`);
    const [b] = await queryRows(ctx.database, `select id from profiles where app_id = '${tenant.appId}' and customer_user_id = 'b'`);
    // The events of both profiles in the order they were recorded (their deliveries' order).
    const stored = await queryRows(
      ctx.database,
      `select e.payload from webhook_events e where e.app_id = '${tenant.appId}' and e.profile_id in ('${a!.id}', '${b!.id}')
        order by (select min(d.seq) from webhook_deliveries d where d.app_id = e.app_id and d.event_id = e.id)`,
    );
    const payloads = stored.map((row) => String(row.payload));
    // Stored as JSON.stringify writes it: the same keys in the same order, no spaces.
    assert.deepEqual(payloads.map((text) => JSON.stringify(JSON.parse(text))), payloads);
    assert.deepEqual(payloads.map((text) => JSON.parse(text).data), [
      { profile_id: b!.id, customer_user_id: 'b', changes: { amplitude_user_id: { old: null, new: 'amp-1' } } },
      { profile_id: b!.id, customer_user_id: 'b', changes: { amplitude_user_id: { old: 'amp-1', new: null } }, moved_to_profile_id: a!.id },
      { profile_id: a!.id, customer_user_id: 'a', changes: { amplitude_user_id: { old: null, new: 'amp-1' } } },
    ]);
    const deliveries = await queryRows(
      ctx.database,
      `select count(*)::int as n from webhook_deliveries where app_id = '${tenant.appId}' and profile_id in ('${a!.id}', '${b!.id}') and status = 'pending'`,
    );
    assert.equal(deliveries[0]!.n, 3);
    const moved = await queryRows(ctx.database, `select kind, old_value, new_value, other_profile_id from identifier_history where app_id = '${tenant.appId}' and key = 'amplitude_user_id' order by seq`);
    assert.deepEqual(moved, [
      { kind: 'set', old_value: null, new_value: 'amp-1', other_profile_id: null },
      { kind: 'moved_away', old_value: 'amp-1', new_value: null, other_profile_id: a!.id },
      { kind: 'set', old_value: null, new_value: 'amp-1', other_profile_id: b!.id },
    ]);

    const getProfile = await trips('GET', PROFILE_PATH, user('a'));
    await send(ctx.app, 'POST', PROFILE_PATH, user('paying'), {});
    const transaction = await trips('POST', TRANSACTION_PATH, user('paying'), subscriptionBody(`t-${randomUUID()}`));
    const getPaying = await trips('GET', PROFILE_PATH, user('paying'));
    rows.push(['GET profile (no revenue / with revenue)', `${getProfile} / ${getPaying}`]);

    const created = await trips('POST', PROFILE_PATH, user('c'), {});
    const existing = await trips('POST', PROFILE_PATH, user('c'), {});
    rows.push(['POST profile (new / existing, no attributes)', `${created} / ${existing}`]);
    const full = await trips('POST', PROFILE_PATH, user('d'), {
      first_name: 'Ada',
      custom_attributes: [{ key: 'level', value: 3 }, { key: 'plan', value: 'gold' }],
      installation_meta: { device_id: randomUUID(), os: '17.1', app_version: '2.0' },
    });
    rows.push(['POST profile with custom attributes and installation_meta', `${full}`]);

    const patchFields = await trips('PATCH', PROFILE_PATH, user('d'), { last_name: 'Lovelace' });
    const patchCustom = await trips('PATCH', PROFILE_PATH, user('d'), { custom_attributes: [{ key: 'level', value: 4 }] });
    rows.push(['PATCH profile (fields / custom attributes)', `${patchFields} / ${patchCustom}`]);
    const deleted = await trips('DELETE', PROFILE_PATH, user('c'), undefined, 204);
    rows.push(['DELETE profile with no stored webhook events', `${deleted}`]);

    const lookup = await trips('GET', `${LOOKUP}?key=appsflyer_id&value=af-2`, tenant.auth);
    rows.push(['lookup (`/crosswalk/v1/…/lookup/`)', `${lookup}`]);
    const history = await trips('GET', HISTORY, user('a'));
    rows.push(['history, one page', `${history}`]);
    const items = Array.from({ length: 100 }, (_, i) => ({ customer_user_id: `batch-${i}`, identifiers: { appsflyer_id: `batch-${i}` } }));
    // Not under the `move` policy's app: a policy switches the batch to its item-by-item path.
    await ctx.store.setRules(tenant.appId, DEFAULT_RULES);
    const batch = await trips('POST', BATCH, tenant.auth, { create_missing: true, items });
    rows.push(['batch of 100 items (new profiles, one key each)', `${batch} (one transaction)`]);
    rows.push(['POST transaction (a new subscription)', `${transaction}`]);

    const measured = table(rows);
    const doc = fs.readFileSync(DOC, 'utf8');
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    assert.ok(start >= 0 && end > start, `docs/scaling.md has the markers ${START} and ${END}`);
    const written = doc.slice(start + START.length, end).trim();
    if (process.env.UPDATE_DOCS === '1') {
      fs.writeFileSync(DOC, `${doc.slice(0, start + START.length)}\n${measured}\n${doc.slice(end)}`);
      return;
    }
    assert.equal(written, measured, 'the round trips in docs/scaling.md differ from those measured (UPDATE_DOCS=1 rewrites them)');
  });
});
