import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type BatchItemResult,
  type BatchResult,
  CrosswalkClient,
  CrosswalkConflictError,
  CrosswalkError,
  CrosswalkNotFoundError,
  CrosswalkValidationError,
  type IdentifierHistoryEntry,
  type IntegrationIdentifiersUpdate,
  type ProfileAddress,
} from '../src/index.js';
import { type Crosswalk, failure, startCrosswalk, userId } from './support.js';

/** An AppsFlyer-like id no other test uses. */
const appsflyerId = () => `1712345678901-${randomUUID()}`;

/**
 * Never called: `tsc --noEmit -p clients/node/tsconfig.json` checks that the types refuse what
 * they should (each @ts-expect-error fails the type check if its line compiles).
 */
export function typeChecks(client: CrosswalkClient, result: BatchResult): void {
  // @ts-expect-error the key must be one of the 16 identifier keys
  void client.lookupIntegrationIdentifier('appsflyer', 'x');
  // @ts-expect-error the history names a profile
  void client.getIdentifierHistory({}, { limit: 10 });
  // @ts-expect-error the history's key filter is an identifier key
  void client.getIdentifierHistory({ customerUserId: 'u' }, { key: 'nope' });
  // @ts-expect-error a batch item names its profile
  void client.batchSetIntegrationIdentifiers([{ identifiers: { branch_id: 'b' } }]);
  // @ts-expect-error batch identifiers follow the set operation's types
  void client.batchSetIntegrationIdentifiers([{ customerUserId: 'u', identifiers: { branch_id: true } }]);
  void client.batchSetIntegrationIdentifiers([{ profileId: 'p', identifiers: { branch_id: 1, appsflyer_id: null } }], { createMissing: true });
  const item: BatchItemResult = result.results[0]!;
  if (item.ok) {
    const created: boolean = item.created;
    void created;
    // @ts-expect-error an item that succeeded has no error
    void item.error;
  } else {
    const error: CrosswalkError = item.error;
    void error;
    // @ts-expect-error an item that failed has no profile id
    void item.profile_id;
  }
}

describe('Crosswalk identifier operations on the wire', () => {
  /** A client whose fetch records each request and answers with `answer`. */
  function recordingClient(answer: unknown) {
    const sent: { url: string; method: string; headers: Headers; body: string | undefined }[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      sent.push({ url: String(input), method: init!.method!, headers: new Headers(init!.headers), body: init!.body as string | undefined });
      return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    return { client: new CrosswalkClient({ baseUrl: 'https://api.example.test/', apiKey: 'wire-key-0123456789', fetch }), sent };
  }

  test('lookup URL-encodes its parameters and sends no profile headers', async () => {
    const { client, sent } = recordingClient({ data: [] });
    assert.deepEqual(await client.lookupIntegrationIdentifier('branch_id', 'a b&c=d+e/é?#'), []);
    assert.equal(
      sent[0]!.url,
      'https://api.example.test/crosswalk/v1/integration-identifiers/lookup/?key=branch_id&value=a%20b%26c%3Dd%2Be%2F%C3%A9%3F%23',
    );
    assert.equal(sent[0]!.method, 'GET');
    assert.equal(sent[0]!.headers.get('authorization'), 'Api-Key wire-key-0123456789');
    assert.equal(sent[0]!.headers.get('adapty-customer-user-id'), null);
    assert.equal(sent[0]!.headers.get('adapty-profile-id'), null);
  });

  test('history sends the address headers and only the options given', async () => {
    const { client, sent } = recordingClient({ data: [], next_cursor: null });
    const history = 'https://api.example.test/crosswalk/v1/integration-identifiers/history/';
    assert.deepEqual(await client.getIdentifierHistory({ customerUserId: 'u-1' }), { entries: [], next_cursor: null });
    await client.getIdentifierHistory({ profileId: 'p' }, { key: 'appsflyer_id', limit: 2, cursor: '97' });
    await client.getIdentifierHistory({ profileId: 'p' }, { cursor: null });
    assert.deepEqual(sent.map((request) => request.url), [history, `${history}?key=appsflyer_id&limit=2&cursor=97`, history]);
    assert.equal(sent[0]!.headers.get('adapty-customer-user-id'), 'u-1');
    assert.equal(sent[1]!.headers.get('adapty-profile-id'), 'p');
  });

  test('history refuses an address with neither id before sending, as the profile operations do', async () => {
    const { client, sent } = recordingClient({ data: [], next_cursor: null });
    await assert.rejects(client.getIdentifierHistory({} as ProfileAddress), TypeError);
    await assert.rejects(client.getIdentifierHistory({ customerUserId: ' padded ' }), TypeError);
    assert.equal(sent.length, 0);
  });

  test('batch sends the items with wire field names and create_missing only when given', async () => {
    const { client, sent } = recordingClient({ data: [], succeeded: 0, failed: 0 });
    await client.batchSetIntegrationIdentifiers([{ customerUserId: 'u-1', identifiers: { branch_id: 1 } }]);
    await client.batchSetIntegrationIdentifiers(
      [{ profileId: 'p', customerUserId: 'u-2', identifiers: { appsflyer_id: null } }],
      { createMissing: true },
    );
    assert.equal(sent[0]!.url, 'https://api.example.test/crosswalk/v1/integration-identifiers/batch/');
    assert.equal(sent[0]!.method, 'POST');
    assert.equal(sent[0]!.headers.get('adapty-customer-user-id'), null);
    assert.deepEqual(JSON.parse(sent[0]!.body!), { items: [{ customer_user_id: 'u-1', identifiers: { branch_id: 1 } }] });
    assert.deepEqual(JSON.parse(sent[1]!.body!), {
      create_missing: true,
      items: [{ profile_id: 'p', customer_user_id: 'u-2', identifiers: { appsflyer_id: null } }],
    });
  });
});

describe('Crosswalk identifier operations against the real server', () => {
  let server: Crosswalk;
  before(async () => {
    server = await startCrosswalk();
  });
  after(() => server?.stop());

  test('lookupIntegrationIdentifier lists every holder by profile id, with null for no customer user id', async () => {
    const client = server.client();
    const value = appsflyerId();
    const customerUserId = userId('holder');
    const first = await client.createProfile({ customerUserId });
    const second = await client.createProfile({ profileId: randomUUID() });
    await client.setIntegrationIdentifiers({ customerUserId }, { appsflyer_id: value });
    await client.setIntegrationIdentifiers({ profileId: second.profile_id }, { appsflyer_id: `  ${value}  ` });

    const holders = await client.lookupIntegrationIdentifier('appsflyer_id', value);
    const expected = [
      { profile_id: first.profile_id, customer_user_id: customerUserId, key: 'appsflyer_id' as const },
      { profile_id: second.profile_id, customer_user_id: null, key: 'appsflyer_id' as const },
    ].sort((a, b) => a.profile_id.localeCompare(b.profile_id));
    assert.deepEqual(holders, expected);
    // The value is trimmed as writes trim it; another key, or another value, holds nothing.
    assert.deepEqual(await client.lookupIntegrationIdentifier('appsflyer_id', ` ${value}\t`), expected);
    assert.deepEqual(await client.lookupIntegrationIdentifier('branch_id', value), []);
    assert.deepEqual(await client.lookupIntegrationIdentifier('appsflyer_id', appsflyerId()), []);
    // Any key: the same holders, and a profile holding the value under a second key once more.
    await client.setIntegrationIdentifiers({ customerUserId }, { branch_id: value });
    const anyKey = await client.lookupIntegrationIdentifier(null, value);
    const withBranch = [...expected, { profile_id: first.profile_id, customer_user_id: customerUserId, key: 'branch_id' as const }];
    assert.deepEqual(anyKey, withBranch.sort((a, b) => a.key.localeCompare(b.key) || a.profile_id.localeCompare(b.profile_id)));
  });

  test('lookupIntegrationIdentifier round-trips values that need URL encoding', async () => {
    const client = server.client();
    const customerUserId = userId('encoded');
    const { profile_id: profileId } = await client.createProfile({ customerUserId });
    const value = `a b&c=d+e/é?#%-${randomUUID()}`;
    await client.setIntegrationIdentifiers({ customerUserId }, { mixpanel_user_id: value, branch_id: 42 });
    assert.deepEqual(await client.lookupIntegrationIdentifier('mixpanel_user_id', value), [{ profile_id: profileId, customer_user_id: customerUserId, key: 'mixpanel_user_id' }]);
    const byNumber = await client.lookupIntegrationIdentifier('branch_id', '42');
    assert.ok(byNumber.some((holder) => holder.profile_id === profileId));
  });

  test('lookupIntegrationIdentifier with a blank value is a CrosswalkValidationError naming the parameter', async () => {
    const error = await failure(server.client().lookupIntegrationIdentifier('appsflyer_id', '   '));
    assert.ok(error instanceof CrosswalkValidationError);
    assert.equal(error.status, 400);
    assert.deepEqual(error.messagesFor('value'), ['This query parameter is required.']);
  });

  test('getIdentifierHistory pages newest first with the cursor until next_cursor is null', async () => {
    const client = server.client();
    const customerUserId = userId('history');
    const { profile_id: profileId } = await client.createProfile({ customerUserId });
    const first = appsflyerId();
    const second = appsflyerId();
    await client.setIntegrationIdentifiers({ customerUserId }, { appsflyer_id: first, branch_id: 'b-1' });
    await client.setIntegrationIdentifiers({ customerUserId }, { appsflyer_id: second });
    await client.setIntegrationIdentifiers({ customerUserId }, { appsflyer_id: second }); // the same value: nothing recorded
    await client.setIntegrationIdentifiers({ profileId }, { branch_id: null, mixpanel_user_id: 'mx' });

    const entries: IdentifierHistoryEntry[] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const page = await client.getIdentifierHistory({ customerUserId }, { limit: 2, cursor });
      assert.ok(page.entries.length <= 2);
      entries.push(...page.entries);
      cursor = page.next_cursor;
      cursors.push(cursor);
    } while (cursor !== null);

    assert.equal(cursors.length, 3);
    assert.deepEqual(cursors.slice(0, 2), [entries[1]!.id, entries[3]!.id]);
    const ids = entries.map((entry) => Number(entry.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
    assert.equal(new Set(ids).size, ids.length, 'no entry on two pages');
    const summary = entries.map(({ key, kind, old_value, new_value }) => ({ key, kind, old_value, new_value }));
    // Keys written by one request share its entries; their order within it is the server's.
    assert.deepEqual(new Set(summary.slice(0, 2)), new Set([
      { key: 'branch_id', kind: 'clear', old_value: 'b-1', new_value: null },
      { key: 'mixpanel_user_id', kind: 'set', old_value: null, new_value: 'mx' },
    ]));
    assert.deepEqual(summary[2], { key: 'appsflyer_id', kind: 'change', old_value: first, new_value: second });
    assert.deepEqual(new Set(summary.slice(3)), new Set([
      { key: 'appsflyer_id', kind: 'set', old_value: null, new_value: first },
      { key: 'branch_id', kind: 'set', old_value: null, new_value: 'b-1' },
    ]));
    for (const entry of entries) {
      assert.equal(entry.source, 'api');
      assert.equal(entry.other_profile_id, null);
      assert.equal(typeof entry.api_key_id, 'string');
      assert.equal(typeof entry.request_id, 'string');
      assert.ok(!Number.isNaN(Date.parse(entry.changed_at)));
    }

    const onlyAppsflyer = await client.getIdentifierHistory({ profileId }, { key: 'appsflyer_id' });
    assert.deepEqual(onlyAppsflyer.entries.map((entry) => entry.kind), ['change', 'set']);
    assert.equal(onlyAppsflyer.next_cursor, null);
  });

  test('getIdentifierHistory: an unknown profile is a CrosswalkNotFoundError, a bad cursor a CrosswalkValidationError', async () => {
    const client = server.client();
    const missing = await failure(client.getIdentifierHistory({ profileId: randomUUID() }));
    assert.ok(missing instanceof CrosswalkNotFoundError);
    assert.equal(missing.errorCode, 'profile_not_found');

    const customerUserId = userId('cursor');
    await client.createProfile({ customerUserId });
    const badCursor = await failure(client.getIdentifierHistory({ customerUserId }, { cursor: 'not-a-cursor' }));
    assert.ok(badCursor instanceof CrosswalkValidationError);
    assert.equal(badCursor.errors[0]?.source, 'cursor');
  });

  test('batchSetIntegrationIdentifiers with createMissing: created, updated and failed items, typed', async () => {
    const client = server.client();
    const existing = await client.createProfile({ customerUserId: userId('batch-existing') });
    await client.setIntegrationIdentifiers({ profileId: existing.profile_id }, { branch_id: 'old-branch' });
    const newUser = userId('batch-new');
    const value = appsflyerId();
    const unknownProfile = randomUUID();
    const badUser = userId('batch-bad');

    const result = await client.batchSetIntegrationIdentifiers(
      [
        { customerUserId: newUser, identifiers: { appsflyer_id: value, mixpanel_user_id: 'unknown' } },
        { profileId: existing.profile_id, identifiers: { branch_id: null, amplitude_user_id: 7 } },
        { customerUserId: badUser, identifiers: { appsflyer_id: true } as unknown as IntegrationIdentifiersUpdate },
        { profileId: unknownProfile, identifiers: { branch_id: 'never-written' } },
      ],
      { createMissing: true },
    );

    assert.equal(result.succeeded, 2);
    assert.equal(result.failed, 2);
    assert.deepEqual(result.results.map((item) => [item.index, item.ok, item.status]), [
      [0, true, 200],
      [1, true, 200],
      [2, false, 400],
      [3, false, 404],
    ]);
    const [created, updated, bad, missing] = result.results;

    assert.ok(created?.ok);
    assert.equal(created.customer_user_id, newUser);
    assert.match(created.profile_id, /^[0-9a-f-]{36}$/);
    assert.equal(created.created, true);
    assert.deepEqual(created.changed, ['appsflyer_id']);
    assert.deepEqual(created.dropped, ['mixpanel_user_id'], 'a placeholder is dropped by default');

    assert.ok(updated?.ok);
    assert.deepEqual({ ...updated, changed: [...updated.changed].sort() }, {
      ok: true,
      index: 1,
      status: 200,
      profile_id: existing.profile_id,
      customer_user_id: existing.customer_user_id,
      created: false,
      changed: ['amplitude_user_id', 'branch_id'],
      dropped: [],
    });

    assert.ok(bad && !bad.ok);
    assert.ok(bad.error instanceof CrosswalkValidationError);
    assert.equal(bad.error.status, 400);
    assert.equal(bad.error.errorCode, 'validation_error');
    assert.deepEqual(bad.error.messagesFor('appsflyer_id'), ['Must be a string, a number or null.']);
    assert.deepEqual(bad.error.body, { errors: bad.error.errors, error_code: 'validation_error', status_code: 400 });

    assert.ok(missing && !missing.ok);
    assert.ok(missing.error instanceof CrosswalkNotFoundError);
    assert.equal(missing.error.errorCode, 'profile_not_found');
    assert.deepEqual(missing.error.messagesFor(null), ['Profile not found']);

    // What the results say is what is stored; the failed items wrote nothing.
    const stored = await client.getIntegrationIdentifiers({ customerUserId: newUser });
    assert.equal(stored.appsflyer_id, value);
    assert.equal(stored.mixpanel_user_id, null);
    const storedExisting = await client.getIntegrationIdentifiers({ profileId: existing.profile_id });
    assert.equal(storedExisting.branch_id, null);
    assert.equal(storedExisting.amplitude_user_id, '7');
    await assert.rejects(client.getProfile({ customerUserId: badUser }), CrosswalkNotFoundError);
    await assert.rejects(client.getProfile({ profileId: unknownProfile }), CrosswalkNotFoundError);
    const history = await client.getIdentifierHistory({ customerUserId: newUser });
    assert.ok(history.entries.every((entry) => entry.source === 'batch'));
  });

  test('batchSetIntegrationIdentifiers without createMissing: an unknown customer user id is a 404 item', async () => {
    const result = await server.client().batchSetIntegrationIdentifiers([{ customerUserId: userId('nobody'), identifiers: { branch_id: 'b' } }]);
    assert.deepEqual([result.succeeded, result.failed], [0, 1]);
    const [item] = result.results;
    assert.ok(item && !item.ok);
    assert.ok(item.error instanceof CrosswalkNotFoundError);
  });

  test('a batch that is not one at all is refused as a whole with a CrosswalkValidationError', async () => {
    const error = await failure(server.client().batchSetIntegrationIdentifiers([]));
    assert.ok(error instanceof CrosswalkValidationError);
    assert.deepEqual(error.messagesFor('items'), ['Give at least one item.']);
  });

  test("under the app's conflict policy reject, a shared value is a CrosswalkConflictError (409)", async () => {
    const client = server.client();
    const holder = userId('conflict-holder');
    const other = userId('conflict-other');
    await client.createProfile({ customerUserId: holder });
    await client.createProfile({ customerUserId: other });
    const value = appsflyerId();
    await client.setIntegrationIdentifiers({ customerUserId: holder }, { appsflyer_id: value });

    await server.cli('rules', 'conflict', 'appsflyer_id', 'reject', '--app', server.appId);
    try {
      const error = await failure(client.setIntegrationIdentifiers({ customerUserId: other }, { appsflyer_id: value, branch_id: 'b-conflict' }));
      assert.ok(error instanceof CrosswalkConflictError);
      assert.ok(error instanceof CrosswalkError);
      assert.equal(error.status, 409);
      assert.equal(error.errorCode, 'identifier_conflict');
      assert.equal(error.errors[0]?.source, 'appsflyer_id');
      assert.equal(error.messagesFor('appsflyer_id').length, 1);
      // Nothing of the request was written.
      assert.equal((await client.getIntegrationIdentifiers({ customerUserId: other })).branch_id, null);
      // The holder may write its own value again.
      await client.setIntegrationIdentifiers({ customerUserId: holder }, { appsflyer_id: value });

      // In a batch, the conflicting item fails with the same typed error; the others are applied.
      const result = await client.batchSetIntegrationIdentifiers([
        { customerUserId: other, identifiers: { appsflyer_id: value } },
        { customerUserId: other, identifiers: { branch_id: 'b-batch' } },
      ]);
      const [conflicting, fine] = result.results;
      assert.ok(conflicting && !conflicting.ok);
      assert.equal(conflicting.status, 409);
      assert.ok(conflicting.error instanceof CrosswalkConflictError);
      assert.equal(conflicting.error.errors[0]?.source, 'appsflyer_id');
      assert.ok(fine?.ok);
      assert.deepEqual(await client.lookupIntegrationIdentifier('appsflyer_id', value), [
        { profile_id: (await client.getProfile({ customerUserId: holder })).profile_id, customer_user_id: holder, key: 'appsflyer_id' },
      ]);
    } finally {
      await server.cli('rules', 'conflict', 'appsflyer_id', 'allow', '--app', server.appId);
    }
    // Back to the default: both may hold it.
    await client.setIntegrationIdentifiers({ customerUserId: other }, { appsflyer_id: value });
    assert.equal((await client.lookupIntegrationIdentifier('appsflyer_id', value)).length, 2);
  });
});
