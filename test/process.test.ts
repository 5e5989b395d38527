import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, DATABASES, onDatabase, IDENTIFIERS_PATH, PROFILE_PATH, type TestDatabase } from './helpers.js';
import { startServer } from './process-helpers.js';

function databaseUrl(database: TestDatabase): string {
  const config = database.config;
  return config.kind === 'sqlite' ? `sqlite:${config.file}` : config.url;
}

for (const kind of DATABASES) {
  describe(`the server process (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase(kind);
    });
    after(() => database.drop());

    test('first start creates an app and prints a key once; the key works over HTTP; later starts print none', async () => {
      const first = await startServer({ DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: '' });
      const key = /^ {4}(secret_live_[A-Za-z0-9]{8}\.[A-Za-z0-9]{32})$/m.exec(first.output())?.[1];
      assert.ok(key, `no key in:\n${first.output()}`);
      const headers = { authorization: `Api-Key ${key}`, 'adapty-customer-user-id': 'proc', 'content-type': 'application/json' };
      assert.equal((await fetch(first.url + PROFILE_PATH, { method: 'POST', headers, body: '{}' })).status, 200);
      const set = await fetch(first.url + IDENTIFIERS_PATH, { method: 'POST', headers, body: '{"appsflyer_id":"af-1"}' });
      assert.equal(set.status, 200);
      assert.equal(await set.text(), '');
      assert.equal(await first.stop('SIGTERM'), 0);

      const second = await startServer({ DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: '' });
      assert.doesNotMatch(second.output(), /secret_live_/);
      const get = await fetch(second.url + IDENTIFIERS_PATH, { headers: { ...headers, 'x-request-id': 'trace-me-123' } });
      assert.equal(get.headers.get('request-id'), 'trace-me-123');
      assert.equal(((await get.json()) as { appsflyer_id: string }).appsflyer_id, 'af-1');
      assert.equal(await second.stop('SIGINT'), 0);
      // One JSON access-log line per request, carrying the request id and never the key.
      const line = second.output().split('\n').find((l) => l.includes('"request_id":"trace-me-123"'));
      assert.ok(line, second.output());
      assert.deepEqual(
        { ...JSON.parse(line!), time: 0, pid: 0, hostname: '', ms: 0 },
        { level: 30, time: 0, pid: 0, hostname: '', request_id: 'trace-me-123', method: 'GET', url: IDENTIFIERS_PATH, statusCode: 200, ms: 0, msg: 'request' },
      );
      assert.ok(!second.output().includes(key!));
    });

    test('CROSSWALK_API_KEY is registered for the first app, idempotently across restarts', async () => {
      const key = 'operator-chosen-key-0123456789';
      for (let start = 0; start < 2; start++) {
        const server = await startServer({ DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: key });
        assert.doesNotMatch(server.output(), /shown only this once/);
        const res = await fetch(server.url + PROFILE_PATH, {
          method: 'POST',
          headers: { authorization: `Api-Key ${key}`, 'adapty-customer-user-id': 'op' },
        });
        assert.equal(res.status, 200);
        assert.equal(await server.stop(), 0);
      }
    });

    test('a bad CROSSWALK_API_KEY stops the start with a clear message', async () => {
      await assert.rejects(
        startServer({ DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: 'short' }),
        /cannot start: configuration error: CROSSWALK_API_KEY is not usable: an API key must be 16 to 256 characters long/,
      );
    });

    test('healthz and readyz answer without a key; SIGTERM lets a request in flight finish', async () => {
      const server = await startServer({ DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: 'operator-chosen-key-0123456789' });
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      // Start a request whose body arrives in two parts, signal the server in between, then finish it.
      const body = new TransformStream<Uint8Array, Uint8Array>();
      const writer = body.writable.getWriter();
      const pending = fetch(server.url + IDENTIFIERS_PATH, {
        method: 'POST',
        headers: { authorization: 'Api-Key operator-chosen-key-0123456789', 'adapty-customer-user-id': 'op', 'content-type': 'application/json' },
        body: body.readable,
        duplex: 'half',
      } as RequestInit);
      await writer.write(new TextEncoder().encode('{"branch_id":'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exited = server.stop('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await writer.write(new TextEncoder().encode('"in-flight"}'));
      await writer.close();
      const res = await pending;
      assert.equal(res.status, 200);
      assert.equal(await exited, 0);
    });
  });
}
