import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toImportItem } from '../src/cli/import.js';
import type { AppRules } from '../src/domain/rules.js';
import { CustomAttributeLimitError, IdentifierConflictError } from '../src/errors.js';
import { ImportExportService, type ImportItem, type ImportOutcome } from '../src/services/import-export.js';
import { createTestContext, DATABASES, onDatabase, queryRows, send, type Tenant, type TestContext } from './helpers.js';
import { cliOn, ndjson, readLines, summaryOf } from './cli-helpers.js';

/** The set-based import: batches that mix new and existing profiles, repeats, refusals and lines applied alone. */

const P1 = '0b0c0d0e-0000-4000-8000-000000000001';
const D1 = 'dddddddd-1111-4111-8111-111111111111';
const PLACEHOLDER = '00000000-0000-0000-0000-000000000000';

const itemOf = (line: unknown): ImportItem => {
  const checked = toImportItem(line);
  assert.ok('item' in checked, JSON.stringify(checked));
  return checked.item;
};

/** What an outcome says, without the random profile ids: ok, or the refusal's class and keys. */
const shown = (outcome: ImportOutcome) =>
  outcome.ok ? 'ok' : outcome.error instanceof IdentifierConflictError ? `conflict ${outcome.error.keys.join(',')}` : outcome.error.name;

for (const kind of DATABASES) {
  describe(`crosswalk import, set-based (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let importer: ImportExportService;
    let dir: string;

    before(async () => {
      // An endpoint on loopback receives every event: allowed only because this suite says so.
      ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      importer = new ImportExportService(ctx.store);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-import-bulk-'));
    });
    after(async () => {
      await ctx.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const subscribe = async (tenant: Tenant) => {
      const res = await send(ctx.app, 'POST', '/crosswalk/v1/webhooks/endpoints/', tenant.auth, { url: 'http://127.0.0.1:9/hooks' });
      assert.equal(res.statusCode, 201, res.body);
    };
    /** The app's events in the order they were recorded (one endpoint: one delivery each). */
    const events = async (appId: string) => {
      const rows = await queryRows(
        ctx.database,
        `select e.type, e.payload from webhook_events e join webhook_deliveries d on d.app_id = e.app_id and d.event_id = e.id where e.app_id = '${appId}' order by d.seq`,
      );
      return rows.map((row) => ({ type: row.type, data: (JSON.parse(String(row.payload)) as { data: unknown }).data }));
    };
    const history = async (appId: string, customerUserId: string) =>
      (await ctx.store.identifierHistory(appId, { customerUserId }, { limit: 50 }))!
        .reverse()
        .map(({ key, kind, oldValue, newValue, source }) => ({ key, kind, oldValue, newValue, source }));
    const profile = async (appId: string, customerUserId: string) => {
      const record = await ctx.store.findProfile(appId, { customerUserId });
      if (!record) return null;
      const identifiers = await ctx.store.getIdentifiers(appId, { customerUserId });
      const set = Object.fromEntries(Object.entries(identifiers!).filter(([, value]) => value !== null));
      const attributes = Object.fromEntries(Object.entries(record.attributes).filter(([, value]) => value !== null));
      return { profileId: record.profileId, attributes, custom: record.customAttributes, identifiers: set };
    };

    test('a batch of new and existing profiles, one named twice and one attached alone: each line sees the ones before it', async () => {
      const tenant = await ctx.newTenant();
      await subscribe(tenant);
      const [old] = await importer.importBatch(tenant.appId, [
        itemOf({ customer_user_id: 'old-1', first_name: 'Old', integration_identifiers: { adjust_device_id: 'adj-old' }, custom_attributes: [{ key: 'a', value: 1 }] }),
      ]);
      assert.ok(old!.ok);
      const before = (await events(tenant.appId)).length;
      const lines = [
        { customer_user_id: 'new-1', first_name: 'Ann', integration_identifiers: { adjust_device_id: 'adj-1' }, custom_attributes: [{ key: 'plan', value: 'pro' }] },
        { customer_user_id: 'old-1', email: 'old@example.com', integration_identifiers: { adjust_device_id: 'adj-old-2', appsflyer_id: 'af-old' } },
        { customer_user_id: 'new-1', last_name: 'Lee', integration_identifiers: { adjust_device_id: 'adj-2' }, custom_attributes: [{ key: 'level', value: 2 }], installations: [{ device_id: D1, platform: 'iOS' }] },
        { profile_id: P1 },
        // Attaches a customer user id to the profile the line before created: applied alone.
        { profile_id: P1, customer_user_id: 'new-2' },
        { customer_user_id: 'new-2', first_name: 'Bo' },
        { customer_user_id: 'new-1', integration_identifiers: { adjust_device_id: 'adj-2' } },
      ];
      const outcomes = await importer.importBatch(tenant.appId, lines.map(itemOf));
      assert.deepEqual(outcomes.map(shown), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
      const ids = outcomes.map((outcome) => (outcome.ok ? outcome.profileId : null));
      const newId = ids[0]!;
      assert.deepEqual(ids, [newId, old!.ok ? old!.profileId : null, newId, P1, P1, P1, newId]);

      assert.deepEqual(await profile(tenant.appId, 'new-1'), {
        profileId: newId,
        attributes: { first_name: 'Ann', last_name: 'Lee' },
        custom: [{ key: 'level', value: 2 }, { key: 'plan', value: 'pro' }],
        identifiers: { adjust_device_id: 'adj-2' },
      });
      assert.deepEqual(await profile(tenant.appId, 'old-1'), {
        profileId: ids[1],
        attributes: { first_name: 'Old', email: 'old@example.com' },
        custom: [{ key: 'a', value: 1 }],
        identifiers: { adjust_device_id: 'adj-old-2', appsflyer_id: 'af-old' },
      });
      assert.deepEqual(await profile(tenant.appId, 'new-2'), { profileId: P1, attributes: { first_name: 'Bo' }, custom: [], identifiers: {} });
      const devices = await queryRows(ctx.database, `select profile_id, device_id, meta from installations where app_id = '${tenant.appId}'`);
      assert.deepEqual(devices, [{ profile_id: newId, device_id: D1, meta: '{"platform":"iOS"}' }]);

      assert.deepEqual(await history(tenant.appId, 'new-1'), [
        { key: 'adjust_device_id', kind: 'set', oldValue: null, newValue: 'adj-1', source: 'import' },
        { key: 'adjust_device_id', kind: 'change', oldValue: 'adj-1', newValue: 'adj-2', source: 'import' },
      ]);
      assert.deepEqual(await history(tenant.appId, 'old-1'), [
        { key: 'adjust_device_id', kind: 'set', oldValue: null, newValue: 'adj-old', source: 'import' },
        { key: 'adjust_device_id', kind: 'change', oldValue: 'adj-old', newValue: 'adj-old-2', source: 'import' },
        { key: 'appsflyer_id', kind: 'set', oldValue: null, newValue: 'af-old', source: 'import' },
      ]);
      assert.deepEqual((await events(tenant.appId)).slice(before), [
        { type: 'profile.created', data: { profile_id: newId, customer_user_id: 'new-1', fields: ['first_name', 'custom_attributes'] } },
        { type: 'integration_identifiers.updated', data: { profile_id: newId, customer_user_id: 'new-1', changes: { adjust_device_id: { old: null, new: 'adj-1' } } } },
        { type: 'profile.updated', data: { profile_id: ids[1], customer_user_id: 'old-1', fields: ['email'] } },
        {
          type: 'integration_identifiers.updated',
          data: { profile_id: ids[1], customer_user_id: 'old-1', changes: { adjust_device_id: { old: 'adj-old', new: 'adj-old-2' }, appsflyer_id: { old: null, new: 'af-old' } } },
        },
        { type: 'profile.updated', data: { profile_id: newId, customer_user_id: 'new-1', fields: ['last_name', 'custom_attributes', 'installation_meta'] } },
        { type: 'integration_identifiers.updated', data: { profile_id: newId, customer_user_id: 'new-1', changes: { adjust_device_id: { old: 'adj-1', new: 'adj-2' } } } },
        { type: 'profile.created', data: { profile_id: P1, customer_user_id: null, fields: [] } },
        { type: 'profile.updated', data: { profile_id: P1, customer_user_id: 'new-2', fields: ['first_name'] } },
      ]);

      // The same batch again: the same outcomes and state. Its lines apply in order again, so
      // new-1's key goes back to adj-1 and then to adj-2, as the history shows.
      const exportBefore = await importer.exportPage(tenant.appId, null, 100);
      const again = await importer.importBatch(tenant.appId, lines.map(itemOf));
      assert.deepEqual(again, outcomes);
      assert.deepEqual(await importer.exportPage(tenant.appId, null, 100), exportBefore);
      assert.deepEqual((await history(tenant.appId, 'new-1')).slice(2).map((entry) => [entry.oldValue, entry.newValue]), [['adj-2', 'adj-1'], ['adj-1', 'adj-2']]);
      assert.equal((await history(tenant.appId, 'old-1')).length, 3);
    });

    test('conflicts under reject are refused line by line, in order, with what earlier lines of the batch set; a move is applied alone', async () => {
      const tenant = await ctx.newTenant();
      const rules: AppRules = { placeholderMode: 'drop', extraPlaceholders: [], conflictPolicies: { appsflyer_id: 'reject', adjust_device_id: 'move' } };
      await ctx.store.setRules(tenant.appId, rules);
      await importer.importBatch(tenant.appId, [itemOf({ customer_user_id: 'holder', integration_identifiers: { appsflyer_id: 'af-x', adjust_device_id: 'adj-h' } })]);
      const lines = [
        { customer_user_id: 'r-1', integration_identifiers: { appsflyer_id: 'af-1' } },
        { customer_user_id: 'r-2', first_name: 'Refused', integration_identifiers: { appsflyer_id: 'af-x' } },
        { customer_user_id: 'r-3', integration_identifiers: { appsflyer_id: 'af-1' } },
        { customer_user_id: 'holder', integration_identifiers: { appsflyer_id: null } },
        { customer_user_id: 'r-5', integration_identifiers: { appsflyer_id: 'af-x' } },
        { customer_user_id: 'r-1', integration_identifiers: { appsflyer_id: 'af-1' } },
        { customer_user_id: 'r-7', integration_identifiers: { adjust_device_id: 'adj-h' } },
        { customer_user_id: 'holder', integration_identifiers: { adjust_device_id: 'adj-h2' } },
        { customer_user_id: 'r-9', integration_identifiers: { adjust_device_id: PLACEHOLDER } },
      ];
      const file = path.join(dir, `conflicts-${kind}.ndjson`);
      fs.writeFileSync(file, ndjson(lines));
      const result = await cliOn(ctx.database, 'import', file, '--app', tenant.appId);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(summaryOf(result.stdout), { read: 9, imported: 7, rejected: 2 });
      const reason = 'integration_identifiers.appsflyer_id: This value is already held by another profile of this app, and this key does not allow sharing.';
      assert.deepEqual(readLines(`${file}.rejects.ndjson`), [
        { line: 2, reason, input: lines[1] },
        { line: 3, reason, input: lines[2] },
      ]);
      assert.equal(await profile(tenant.appId, 'r-2'), null);
      assert.equal(await profile(tenant.appId, 'r-3'), null);
      const identifiersOf = async (customerUserId: string) => (await profile(tenant.appId, customerUserId))!.identifiers;
      assert.deepEqual(await identifiersOf('holder'), { adjust_device_id: 'adj-h2' });
      assert.deepEqual(await identifiersOf('r-1'), { appsflyer_id: 'af-1' });
      assert.deepEqual(await identifiersOf('r-5'), { appsflyer_id: 'af-x' });
      assert.deepEqual(await identifiersOf('r-7'), { adjust_device_id: 'adj-h' });
      assert.deepEqual(await identifiersOf('r-9'), {});
      assert.deepEqual(await history(tenant.appId, 'holder'), [
        { key: 'adjust_device_id', kind: 'set', oldValue: null, newValue: 'adj-h', source: 'import' },
        { key: 'appsflyer_id', kind: 'set', oldValue: null, newValue: 'af-x', source: 'import' },
        { key: 'appsflyer_id', kind: 'clear', oldValue: 'af-x', newValue: null, source: 'import' },
        { key: 'adjust_device_id', kind: 'moved_away', oldValue: 'adj-h', newValue: null, source: 'import' },
        { key: 'adjust_device_id', kind: 'set', oldValue: null, newValue: 'adj-h2', source: 'import' },
      ]);
      assert.deepEqual(await history(tenant.appId, 'r-9'), [
        { key: 'adjust_device_id', kind: 'dropped', oldValue: null, newValue: PLACEHOLDER, source: 'import' },
      ]);

      // Again: the same two lines are refused, the others change nothing.
      const again = await cliOn(ctx.database, 'import', file, '--app', tenant.appId);
      assert.deepEqual(summaryOf(again.stdout), { read: 9, imported: 7, rejected: 2 });
      assert.deepEqual(readLines(`${file}.rejects.ndjson`).map((line) => line.line), [2, 3]);
      assert.deepEqual(await identifiersOf('r-5'), { appsflyer_id: 'af-x' });
      assert.equal((await history(tenant.appId, 'r-9')).length, 1, 'a placeholder dropped again over the same value adds no entry');
    });

    test('one batch of every line gives the same outcomes and state as a batch per line', async () => {
      const lines = [
        { customer_user_id: 'm-1', custom_attributes: Array.from({ length: 29 }, (_, i) => ({ key: `k${i}`, value: i })) },
        { customer_user_id: 'm-1', custom_attributes: [{ key: 'x', value: 'a' }, { key: 'y', value: 'b' }] },
        { customer_user_id: 'm-1', custom_attributes: [{ key: 'x', value: 'a' }, { key: 'k0', value: null }] },
        { customer_user_id: 'm-1', custom_attributes: [{ key: 'z', value: 1 }, { key: 'w', value: 2 }] },
        { customer_user_id: 'm-1', custom_attributes: [{ key: 'z', value: 1 }] },
        { customer_user_id: 'm-2', integration_identifiers: { branch_id: 'b', adjust_device_id: PLACEHOLDER } },
        { customer_user_id: 'm-2', integration_identifiers: { adjust_device_id: PLACEHOLDER }, installations: [{ device_id: D1, os: '1' }] },
        { customer_user_id: 'm-2', integration_identifiers: { branch_id: null, adjust_device_id: 'real' }, installations: [{ device_id: D1, locale: 'en' }] },
        { customer_user_id: 'm-2', integration_identifiers: { adjust_device_id: PLACEHOLDER }, custom_attributes: null },
        { customer_user_id: 'm-3', analytics_disabled: true, att_status: 2, installation_meta: { device_id: D1, os: '2' } },
        { customer_user_id: 'm-3', analytics_disabled: null, email: 'm3@example.com' },
      ];
      const LIMIT = CustomAttributeLimitError.name;
      const whole = await ctx.newTenant();
      const single = await ctx.newTenant();
      const together = await importer.importBatch(whole.appId, lines.map(itemOf));
      const apart: ImportOutcome[] = [];
      for (const line of lines) apart.push(...(await importer.importBatch(single.appId, [itemOf(line)])));
      assert.deepEqual(together.map(shown), ['ok', LIMIT, 'ok', LIMIT, 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
      assert.deepEqual(apart.map(shown), together.map(shown));
      for (const customerUserId of ['m-1', 'm-2', 'm-3']) {
        const [a, b] = [await profile(whole.appId, customerUserId), await profile(single.appId, customerUserId)];
        assert.deepEqual({ ...a, profileId: null }, { ...b, profileId: null }, customerUserId);
        assert.deepEqual(await history(whole.appId, customerUserId), await history(single.appId, customerUserId), customerUserId);
      }
      assert.equal((await profile(whole.appId, 'm-1'))!.custom.length, 30);
      assert.deepEqual((await profile(whole.appId, 'm-3'))!.attributes, { att_status: 2, email: 'm3@example.com' });
      assert.deepEqual(await history(whole.appId, 'm-2'), [
        { key: 'branch_id', kind: 'set', oldValue: null, newValue: 'b', source: 'import' },
        { key: 'adjust_device_id', kind: 'dropped', oldValue: null, newValue: PLACEHOLDER, source: 'import' },
        { key: 'adjust_device_id', kind: 'set', oldValue: null, newValue: 'real', source: 'import' },
        { key: 'branch_id', kind: 'clear', oldValue: 'b', newValue: null, source: 'import' },
        { key: 'adjust_device_id', kind: 'dropped', oldValue: 'real', newValue: PLACEHOLDER, source: 'import' },
      ]);
      const devices = (appId: string) => queryRows(ctx.database, `select p.customer_user_id, i.device_id, i.meta from installations i join profiles p on p.app_id = i.app_id and p.id = i.profile_id where i.app_id = '${appId}' order by p.customer_user_id`);
      assert.deepEqual(await devices(whole.appId), [
        { customer_user_id: 'm-2', device_id: D1, meta: '{"os":"1","locale":"en"}' },
        { customer_user_id: 'm-3', device_id: D1, meta: '{"os":"2"}' },
      ]);
      assert.deepEqual(await devices(single.appId), await devices(whole.appId));
    });
  });
}
