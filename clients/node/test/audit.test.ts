import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AUDIT_ACTIONS, CrosswalkClient, CrosswalkForbiddenError, CrosswalkValidationError } from '../src/index.js';
import { type Crosswalk, failure, startCrosswalk } from './support.js';

describe('the audit trail, against the real server', () => {
  let crosswalk: Crosswalk;
  let writer: CrosswalkClient;
  before(async () => {
    crosswalk = await startCrosswalk();
    const made = JSON.parse(await crosswalk.cli('keys', 'create', '--name', 'backend', '--scopes', 'write', '--json')) as { apiKey: string };
    writer = crosswalk.client({ apiKey: made.apiKey });
  });
  after(() => crosswalk?.stop());

  test('listAuditEntries pages newest first with the cursor; each entry names the key that made the change', async () => {
    const admin = crosswalk.client();
    const info = await admin.getApiKeyInfo();
    for (const currency of ['AAA', 'BBB', 'CCC']) await admin.setCurrencyRate(currency, 2);
    const first = await admin.listAuditEntries({ limit: 2 });
    assert.deepEqual(first.entries.map((entry) => [entry.action, entry.target_id, entry.actor]), [
      ['currency_rate.set', 'CCC', info.key_id],
      ['currency_rate.set', 'BBB', info.key_id],
    ]);
    assert.deepEqual(first.entries[0]!.detail, { usd_per_unit: 2 });
    assert.ok(first.next_cursor);
    const rest = await admin.listAuditEntries({ cursor: first.next_cursor });
    assert.deepEqual(rest.entries.map((entry) => entry.target_id), ['AAA', ...rest.entries.slice(1).map((entry) => entry.target_id)]);
    // The server's start: the first app and CROSSWALK_API_KEY, by `startup`; then the CLI's key.
    assert.deepEqual(rest.entries.slice(1).map((entry) => [entry.action, entry.actor]).reverse(), [
      ['app.create', 'startup'],
      ['key.create', 'startup'],
      ['key.create', 'cli'],
    ]);
    assert.equal(rest.next_cursor, null);
    for (const entry of [...first.entries, ...rest.entries]) assert.ok(AUDIT_ACTIONS.includes(entry.action), entry.action);
  });

  test('a key without the admin scope gets CrosswalkForbiddenError, and a bad page a CrosswalkValidationError', async () => {
    const refused = await failure(writer.listAuditEntries());
    assert.ok(refused instanceof CrosswalkForbiddenError);
    assert.equal(refused.status, 403);
    assert.equal(refused.errorCode, 'forbidden');
    const bad = await failure(crosswalk.client().listAuditEntries({ limit: 0 }));
    assert.ok(bad instanceof CrosswalkValidationError);
    assert.deepEqual(bad.messagesFor('limit'), ['Must be a whole number from 1 to 500.']);
  });
});
