import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from './helpers.js';
import { runCliProcess } from './process-helpers.js';

describe('the crosswalk CLI', () => {
  let database: TestDatabase;
  let url: string;
  before(async () => {
    database = await createTestDatabase('sqlite');
    url = `sqlite:${database.config.kind === 'sqlite' ? database.config.file : ''}`;
  });
  after(() => database.drop());
  const cli = (...args: string[]) => runCliProcess(['--database-url', url, ...args]);

  test('migrate brings the schema up to date', async () => {
    const result = await cli('migrate');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /schema is up to date/);
  });

  test('apps create makes an app with a working key; a duplicate name is refused', async () => {
    const created = await cli('apps', 'create', 'ios', '--json');
    assert.equal(created.code, 0, created.stderr);
    const app = JSON.parse(created.stdout);
    assert.equal(app.name, 'ios');
    assert.match(app.apiKey, /^secret_live_[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}$/);
    const again = await cli('apps', 'create', 'ios');
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'crosswalk: an app named "ios" already exists\n');
    const listed = JSON.parse((await cli('apps', 'list', '--json')).stdout);
    assert.deepEqual(listed.map((a: { name: string }) => a.name), ['ios']);
  });

  test('keys create, list and revoke', async () => {
    const supplied = await cli('keys', 'create', '--app', 'ios', '--name', 'backend', '--key', 'my-own-key-abcdefgh', '--json');
    assert.equal(supplied.code, 0, supplied.stderr);
    const key = JSON.parse(supplied.stdout);
    assert.equal(key.name, 'backend');
    assert.equal(key.hint, 'my-o…');
    const duplicate = await cli('keys', 'create', '--key', 'my-own-key-abcdefgh');
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /that key is already registered/);
    const tooShort = await cli('keys', 'create', '--key', 'short');
    assert.equal(tooShort.stderr, 'crosswalk: an API key must be 16 to 256 characters long\n');

    const table = await cli('keys', 'list', '--app', 'ios');
    assert.match(table.stdout, /^ID +APP +NAME +HINT +SCOPE +CREATED +EXPIRES +LAST USED +REVOKED$/m);
    assert.ok(table.stdout.includes(key.id));
    assert.ok(!table.stdout.includes('my-own-key-abcdefgh'));

    const revoked = await cli('keys', 'revoke', key.id);
    assert.equal(revoked.code, 0, revoked.stderr);
    const list = JSON.parse((await cli('keys', 'list', '--json')).stdout) as { id: string; revokedAt: number | null }[];
    assert.ok(list.find((k) => k.id === key.id)?.revokedAt);
    const missing = await cli('keys', 'revoke', 'no-such-key');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no key has the id "no-such-key"/);
  });

  test('unknown apps, commands and bad database URLs get clear errors', async () => {
    const unknownApp = await cli('keys', 'list', '--app', 'android');
    assert.equal(unknownApp.stderr, 'crosswalk: no app has the id or name "android" (see "crosswalk apps list")\n');
    const unknownCommand = await cli('frobnicate');
    assert.notEqual(unknownCommand.code, 0);
    assert.match(unknownCommand.stderr, /unknown command 'frobnicate'/);
    const badUrl = await runCliProcess(['--database-url', 'mysql://x', 'migrate']);
    assert.equal(badUrl.code, 1);
    assert.match(badUrl.stderr, /DATABASE_URL must start with sqlite: or postgres:\/\//);
  });

  test('--help works on every command', async () => {
    for (const args of [[], ['serve'], ['keys', 'create']]) {
      const result = await runCliProcess([...args, '--help']);
      assert.equal(result.code, 0, args.join(' '));
      assert.match(result.stdout, /^Usage: crosswalk/m);
    }
  });
});
