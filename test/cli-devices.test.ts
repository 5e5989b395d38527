import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KyselyStore } from '../src/storage/kysely-store.js';
import {
  addressing,
  createTestContext,
  createTestDatabase,
  DATABASES,
  onDatabase,
  PROFILE_PATH,
  queryRows,
  send,
  type Tenant,
  type TestContext,
  type TestDatabase,
} from './helpers.js';
import { runCliProcess } from './process-helpers.js';

/** Devices (installation_meta) through `crosswalk export` and `crosswalk import`, on every database. */

const urlOf = (database: TestDatabase) => (database.config.kind === 'sqlite' ? `sqlite:${database.config.file}` : database.config.url);
const readLines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const SUMMARY = /^read (\d+) lines: (\d+) imported, (\d+) rejected/m;
const summaryOf = (stdout: string) => {
  const match = SUMMARY.exec(stdout);
  assert.ok(match, stdout);
  return { read: Number(match[1]), imported: Number(match[2]), rejected: Number(match[3]) };
};

const P1 = '0d1e2f30-0000-4000-8000-000000000001';
const D1 = 'AAAAAAAA-1111-4111-8111-111111111111';
const D2 = 'bbbbbbbb-2222-4222-8222-222222222222';
const D3 = 'cccccccc-3333-4333-8333-333333333333';

/** Every stored device of an app, by profile and device id, its meta parsed (key order aside). */
async function storedDevices(database: TestDatabase, appId: string) {
  const rows = await queryRows(database, `select profile_id, device_id, meta from installations where app_id = '${appId}' order by profile_id, device_id`);
  return rows.map((row) => ({ profile_id: row.profile_id, device_id: row.device_id, meta: JSON.parse(String(row.meta)) as unknown }));
}

for (const kind of DATABASES) {
  describe(`crosswalk export and import keep devices (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let tenant: Tenant;
    let dir: string;
    const cli = (database: TestDatabase, ...args: string[]) => runCliProcess(['--database-url', urlOf(database), ...args]);
    const file = (name: string) => path.join(dir, name);

    before(async () => {
      // A test below adds an endpoint on loopback: allowed only because this suite says so.
      ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      tenant = await ctx.newTenant();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-devices-'));
    });
    after(async () => {
      await ctx.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const { byUser, byBoth } = addressing(() => tenant);
    const write = async (method: 'POST' | 'PATCH', headers: Record<string, string>, body: unknown) => {
      const res = await send(ctx.app, method, PROFILE_PATH, headers, body);
      assert.equal(res.statusCode, 200, res.body);
    };

    test('export writes every device with its stored fields; importing it into a fresh database gives the same devices', async () => {
      // Devices as clients write them: upserted by device_id, fields merged, a field cleared with null.
      await write('POST', byBoth(P1, 'dev-1'), { installation_meta: { device_id: D1, platform: 'iOS', os: '17.4', locale: 'en_US', idfv: 'idfv-1' } });
      await write('PATCH', byUser('dev-1'), { installation_meta: { device_id: D1.toLowerCase(), os: '17.5', timezone: null } });
      await write('PATCH', byUser('dev-1'), { first_name: 'Ann', installation_meta: { device_id: D2, platform: 'Android', advertising_id: 'ad-2' } });
      await write('POST', byUser('dev-2'), { installation_meta: { device_id: D3 } });
      await write('POST', byUser('dev-3'), { last_name: 'Nodevice' });

      const exported = await cli(ctx.database, 'export', '--app', tenant.appId, '--output', file('first.ndjson'));
      assert.equal(exported.code, 0, exported.stderr);
      const lines = readLines(file('first.ndjson'));
      const line = (customerUserId: string) => lines.find((l) => l.customer_user_id === customerUserId)!;
      assert.deepEqual(line('dev-1').installations, [
        { device_id: D1.toLowerCase(), locale: 'en_US', os: '17.5', platform: 'iOS', timezone: null, idfv: 'idfv-1' },
        { device_id: D2, platform: 'Android', advertising_id: 'ad-2' },
      ]);
      // Fields in a fixed order (installation_meta's), devices in device_id order: reproducible bytes.
      assert.deepEqual(Object.keys((line('dev-1').installations as object[])[0]!), ['device_id', 'locale', 'os', 'platform', 'timezone', 'idfv']);
      assert.deepEqual(Object.keys(line('dev-1')), ['profile_id', 'customer_user_id', 'first_name', 'installations']);
      assert.deepEqual(line('dev-2').installations, [{ device_id: D3 }]);
      assert.ok(!('installations' in line('dev-3')), 'no devices, no installations');

      const fresh = await createTestDatabase(kind);
      try {
        const store = KyselyStore.open(fresh.config);
        await store.migrate();
        const copy = await store.createApp('copy');
        await store.close();
        const imported = await cli(fresh, 'import', file('first.ndjson'), '--rejects', file('first.rejects.ndjson'));
        assert.equal(imported.code, 0, imported.stderr);
        assert.deepEqual(summaryOf(imported.stdout), { read: 3, imported: 3, rejected: 0 });

        const original = await storedDevices(ctx.database, tenant.appId);
        assert.equal(original.length, 3);
        assert.deepEqual(await storedDevices(fresh, copy.id), original);
        const second = await cli(fresh, 'export', '--output', file('second.ndjson'));
        assert.equal(second.code, 0, second.stderr);
        assert.equal(fs.readFileSync(file('second.ndjson'), 'utf8'), fs.readFileSync(file('first.ndjson'), 'utf8'));

        // Importing the same file again changes no device.
        const again = await cli(fresh, 'import', file('first.ndjson'), '--rejects', file('first.rejects.ndjson'));
        assert.deepEqual(summaryOf(again.stdout), { read: 3, imported: 3, rejected: 0 });
        assert.deepEqual(await storedDevices(fresh, copy.id), original);
      } finally {
        await fresh.drop();
      }
    });

    test('an imported device is upserted as PATCH upserts it, and the event names installation_meta', async () => {
      const endpoint = await send(ctx.app, 'POST', '/crosswalk/v1/webhooks/endpoints/', tenant.auth, { url: 'http://127.0.0.1:9/hooks' });
      assert.equal(endpoint.statusCode, 201, endpoint.body);
      fs.writeFileSync(
        file('merge.ndjson'),
        `${JSON.stringify({ customer_user_id: 'dev-1', installations: [{ device_id: D1, os: '18.0', locale: null }, { device_id: D3, device: 'Pixel' }] })}\n`,
      );
      const imported = await cli(ctx.database, 'import', file('merge.ndjson'), '--app', tenant.appId);
      assert.deepEqual(summaryOf(imported.stdout), { read: 1, imported: 1, rejected: 0 });
      const exported = await cli(ctx.database, 'export', '--app', tenant.appId);
      const line = exported.stdout.trim().split('\n').map((text) => JSON.parse(text)).find((l) => l.customer_user_id === 'dev-1');
      assert.deepEqual(line.installations, [
        { device_id: D1.toLowerCase(), locale: null, os: '18.0', platform: 'iOS', timezone: null, idfv: 'idfv-1' },
        { device_id: D2, platform: 'Android', advertising_id: 'ad-2' },
        { device_id: D3, device: 'Pixel' },
      ]);
      const events = await queryRows(ctx.database, `select payload from webhook_events where app_id = '${tenant.appId}'`);
      assert.deepEqual(events.map((row) => JSON.parse(String(row.payload)).data), [{ profile_id: P1, customer_user_id: 'dev-1', fields: ['installation_meta'] }]);
    });

    test('bad installations are rejected with every problem named, as the API names them', async () => {
      const lines = [
        { customer_user_id: 'bad-1', installations: { device_id: D1 } },
        { customer_user_id: 'bad-2', installations: [null, { device_id: 'nope', platform: 'Symbian' }, { os: 'x' }, { device_id: D2, os: 5 }] },
        { customer_user_id: 'ok-1', installations: [] },
        { customer_user_id: 'ok-2', installations: null },
      ];
      fs.writeFileSync(file('bad.ndjson'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      const imported = await cli(ctx.database, 'import', file('bad.ndjson'), '--app', tenant.appId);
      assert.equal(imported.code, 0, imported.stderr);
      assert.deepEqual(summaryOf(imported.stdout), { read: 4, imported: 2, rejected: 2 });
      assert.deepEqual(readLines(`${file('bad.ndjson')}.rejects.ndjson`), [
        { line: 1, reason: 'installations: Must be a list of installation_meta objects.', input: lines[0] },
        {
          line: 2,
          reason:
            'installations.0: Must be an object.; installations.1.device_id: Must be a valid UUID.; ' +
            'installations.1.platform: Must be one of: iOS, macOS, iPadOS, Android, visionOS, web.; ' +
            'installations.2.device_id: This field is required.; installations.3.os: Must be a string or null.',
          input: lines[1],
        },
      ]);
      for (const customerUserId of ['bad-1', 'bad-2']) assert.equal(await ctx.store.findProfile(tenant.appId, { customerUserId }), null);
      assert.ok(await ctx.store.findProfile(tenant.appId, { customerUserId: 'ok-1' }));
      assert.ok(await ctx.store.findProfile(tenant.appId, { customerUserId: 'ok-2' }));
    });
  });
}
