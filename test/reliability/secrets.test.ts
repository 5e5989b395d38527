/**
 * Secrets and isolation: API keys are stored only as hashes, the Authorization header never reaches
 * the logs (even at trace level, even on errors), and one app's key sees nothing of another app's
 * profiles on any route, and changes nothing. (That error answers carry no stack traces or SQL is
 * checked on every fuzzed answer in fuzz.test.ts.)
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  createTestContext,
  createTestDatabase,
  DATABASES,
  onDatabase,
  envelope,
  IDENTIFIERS_PATH,
  PROFILE_PATH,
  queryRows,
  send,
  type Tenant,
  type TestContext,
  type TestDatabase,
} from '../helpers.js';
import { addressingsOf, assertEnvelope, assertNoInternals, databaseUrl, snapshot, startCapturedServer } from './support.js';

/** Every row of every table of the database, as text. */
async function everyRow(database: TestDatabase): Promise<string> {
  const tables =
    database.config.kind === 'sqlite'
      ? (await queryRows(database, "select name from sqlite_master where type = 'table'")).map((row) => String(row.name))
      : (await queryRows(database, 'select table_name from information_schema.tables where table_schema = current_schema()')).map((row) => String(row.table_name));
  assert.ok(tables.includes('api_keys') && tables.includes('apps'), `tables: ${tables.join(', ')}`);
  const dump: string[] = [];
  for (const table of tables) dump.push(`${table}: ${JSON.stringify(await queryRows(database, `select * from "${table}"`))}`);
  return dump.join('\n');
}

/** The parts of a key that must never be stored or logged: all of it, and the secret after the '.'. */
function secretParts(key: string): string[] {
  const dot = key.indexOf('.');
  return dot > 0 ? [key, key.slice(dot + 1)] : [key];
}

/**
 * Everything the log says, with encoded payloads made readable: pino writes Buffers (such as the
 * raw packet of a request Node could not parse) as {"type":"Buffer","data":[bytes]}, and a key in
 * there is as leaked as a key in plain text.
 */
function readableLog(output: string): string {
  const decoded: string[] = [output];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== 'object' || value === null) return;
    const record = value as Record<string, unknown>;
    if (record.type === 'Buffer' && Array.isArray(record.data) && record.data.every((n) => typeof n === 'number')) {
      decoded.push(Buffer.from(record.data as number[]).toString('latin1'));
    }
    Object.values(record).forEach(walk);
  };
  for (const line of output.split('\n')) {
    try {
      walk(JSON.parse(line));
    } catch {
      // Not a JSON line: already searched as text.
    }
  }
  return decoded.join('\n');
}

/** A secret as it may appear: in clear, hex or base64 encoded. */
function encodings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [secret, bytes.toString('hex'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url').replace(/=+$/, '')];
}

function rawHttp(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    socket.write(text);
  });
}

for (const kind of DATABASES) {
  describe(`secrets and tenant isolation (${kind})`, onDatabase(kind), () => {
    describe('keys at rest', () => {
      let ctx: TestContext;
      before(async () => {
        ctx = await createTestContext(kind);
      });
      after(() => ctx.close());

      test('generated and operator keys are stored only as SHA-256 hashes; no column holds the key or its secret part', async () => {
        const tenants = [await ctx.newTenant(), await ctx.newTenant(), await ctx.newTenant()];
        const operatorKey = `operator.${randomBytes(18).toString('base64url')}`;
        await ctx.store.addApiKey(tenants[0]!.appId, operatorKey, 'operator');
        // A revoked key stays stored, and stays hashed.
        const [firstKey] = await ctx.store.listApiKeys(tenants[2]!.appId);
        assert.equal(await ctx.store.revokeApiKey(firstKey!.id), true);

        const keys = [...tenants.map((t) => t.key), operatorKey];
        const rows = await queryRows(ctx.database, 'select * from api_keys');
        assert.equal(rows.length, keys.length);
        for (const key of keys) {
          const hash = createHash('sha256').update(key, 'utf8').digest('hex');
          assert.equal(rows.filter((row) => row.key_hash === hash).length, 1, 'one row holds the key as its SHA-256 hash');
          for (const row of rows) {
            for (const [column, value] of Object.entries(row)) {
              for (const part of secretParts(key)) {
                assert.ok(!String(value).includes(part), `api_keys.${column} holds (part of) a key: ${String(value)}`);
              }
            }
          }
        }
        // Nor does any other table, in any column.
        const dump = await everyRow(ctx.database);
        for (const key of keys) for (const part of secretParts(key)) assert.ok(!dump.includes(part), 'a key is stored in clear somewhere');
        // The hint shows at most the public prefix.
        for (const row of rows) assert.ok(String(row.hint).length <= 24, `hint too long: ${String(row.hint)}`);
      });
    });

    describe('logs', () => {
      let database: TestDatabase;
      before(async () => {
        database = await createTestDatabase(kind);
      });
      after(() => database.drop());

      test('at LOG_LEVEL=trace, neither a valid nor an invalid key appears in stdout or stderr, on success, 4xx or 5xx', async () => {
        const key = `LogCanary-${randomBytes(12).toString('hex')}-valid`;
        const wrong = `LogCanary-${randomBytes(12).toString('hex')}-wrong`;
        const server = await startCapturedServer({ DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: key, LOG_LEVEL: 'trace' });
        let stopped = false;
        try {
          const statuses: number[] = [];
          const call = async (method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array) => {
            const res = await fetch(server.url + path, { method, headers, ...(body === undefined ? {} : { body }) });
            const text = await res.text();
            for (const secret of [key, wrong]) assert.ok(!text.includes(secret), `an answer echoes the key: ${text}`);
            statuses.push(res.status);
            return res.status;
          };
          const good = { authorization: `Api-Key ${key}`, 'adapty-customer-user-id': 'log-user', 'content-type': 'application/json' };
          const check = async (status: number, ...args: Parameters<typeof call>) => assert.equal(await call(...args), status, `${args[0]} ${args[1]}`);
          await check(200, 'POST', PROFILE_PATH, good, '{"first_name":"Log"}');
          await check(200, 'POST', IDENTIFIERS_PATH, good, '{"appsflyer_id":"af"}');
          await check(200, 'GET', IDENTIFIERS_PATH, good);
          await check(200, 'PATCH', PROFILE_PATH, good, '{"custom_attributes":[{"key":"k","value":1}]}');
          await check(400, 'PATCH', PROFILE_PATH, good, '{"email":"nope"}');
          await check(400, 'POST', IDENTIFIERS_PATH, good, '{"appsflyer_id":');
          await check(400, 'POST', IDENTIFIERS_PATH, good, new Uint8Array([0x7b, 0xff, 0x7d]));
          await check(404, 'GET', PROFILE_PATH, { ...good, 'adapty-customer-user-id': 'nobody' });
          await check(405, 'PUT', PROFILE_PATH, good, '{}');
          await check(404, 'GET', '/api/v2/server-side-api/purchase/', good);
          await check(413, 'POST', IDENTIFIERS_PATH, good, `{"appsflyer_id":"${'x'.repeat(70_000)}"}`);
          await check(415, 'POST', IDENTIFIERS_PATH, { ...good, 'content-type': 'text/plain' }, 'x');
          await check(401, 'GET', PROFILE_PATH, { ...good, authorization: `Api-Key ${wrong}` });
          await check(401, 'GET', PROFILE_PATH, { ...good, authorization: `Bearer ${key}` });
          await check(401, 'GET', PROFILE_PATH, { ...good, authorization: key });
          await check(401, 'GET', PROFILE_PATH, { ...good, authorization: `Api-Key ${key} ${wrong}` });
          await check(401, 'POST', IDENTIFIERS_PATH, { ...good, authorization: `api-key ${wrong}` }, '{"appsflyer_id":"x"}');
          // A NUL in a stored value: a field error, or (where the database refuses it) an error
          // that goes to the log with its details. Either way the key stays out of the log.
          const nul = await call('PATCH', PROFILE_PATH, good, '{"first_name":"a\\u0000b"}');
          await check(204, 'DELETE', PROFILE_PATH, good);
          // Two Authorization lines and a malformed request, over a raw connection.
          for (const text of [
            `GET ${PROFILE_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Api-Key ${wrong}\r\nAuthorization: Api-Key ${key}\r\nadapty-customer-user-id: log-user\r\n\r\n`,
            `GET ${PROFILE_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Api-Key ${key}\r\nX-Bad: a\u0001b\r\n\r\n`,
            `GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Api-Key ${key}\r\n\r\n`,
          ]) {
            const answer = await rawHttp(server.url, text);
            assert.match(answer, /^HTTP\/1\.1 [1-5]\d\d /);
            for (const secret of [key, wrong]) assert.ok(!answer.includes(secret), 'an answer echoes the key');
          }
          assert.equal(await server.stop('SIGTERM'), 0);
          stopped = true;
          const output = server.output();
          if (process.env.CROSSWALK_SHOW_LOG) console.log(output);
          // The log really was written at trace level: one access line per request at least.
          const lines = output.split('\n').filter((line) => line.startsWith('{'));
          assert.ok(lines.length >= statuses.length, `only ${lines.length} log lines for ${statuses.length} requests:\n${output.slice(0, 2000)}`);
          if (nul >= 500) assert.match(output, /request failed/, 'a 5xx is logged');
          const readable = readableLog(output);
          const leaks: string[] = [];
          for (const secret of [...secretParts(key), ...secretParts(wrong)].flatMap(encodings)) {
            const at = readable.indexOf(secret);
            if (at >= 0) leaks.push(`…${readable.slice(Math.max(0, at - 120), at + secret.length + 20)}…`);
          }
          assert.deepEqual(leaks, [], `an API key appears in the log (as text, or inside a logged Buffer):\n${leaks.join('\n')}`);
        } finally {
          if (!stopped) await server.stop('SIGKILL');
        }
        // The operator key is not in the database in clear either.
        const dump = await everyRow(database);
        assert.ok(!dump.includes(key), 'CROSSWALK_API_KEY is stored in clear');
      });
    });

    describe("another app's key", () => {
      let ctx: TestContext;
      let owner: Tenant;
      let intruder: Tenant;
      before(async () => {
        ctx = await createTestContext(kind);
        owner = await ctx.newTenant();
        intruder = await ctx.newTenant();
      });
      after(() => ctx.close());

      /** A profile of `owner` with attributes, a device and identifiers. */
      async function victim() {
        const cuid = `iso-${randomUUID()}`;
        const headers = { ...owner.auth, 'adapty-customer-user-id': cuid };
        const created = await send(ctx.app, 'POST', PROFILE_PATH, headers, {
          first_name: 'Owner',
          email: 'owner@example.com',
          custom_attributes: [{ key: 'plan', value: 'pro' }],
          installation_meta: { device_id: randomUUID(), os: 'iOS 18' },
        });
        assert.equal(created.statusCode, 200, created.body);
        const set = await send(ctx.app, 'POST', IDENTIFIERS_PATH, headers, { appsflyer_id: 'owner-af', branch_id: 'owner-br' });
        assert.equal(set.statusCode, 200, set.body);
        return { cuid, profileId: (created.json() as { data: { profile_id: string } }).data.profile_id };
      }

      const ROUTES = [
        { method: 'GET', path: PROFILE_PATH, code: 'profile_does_not_exist' },
        { method: 'PATCH', path: PROFILE_PATH, code: 'profile_does_not_exist', body: { first_name: 'Intruder', custom_attributes: [{ key: 'plan', value: null }] } },
        { method: 'DELETE', path: PROFILE_PATH, code: 'profile_does_not_exist' },
        { method: 'POST', path: IDENTIFIERS_PATH, code: 'profile_not_found', body: { appsflyer_id: 'intruder', branch_id: null } },
        { method: 'GET', path: IDENTIFIERS_PATH, code: 'profile_not_found' },
      ] as const;

      for (const route of ROUTES) {
        test(`${route.method} ${route.path === PROFILE_PATH ? 'profile' : 'identifiers'}: 404 ${route.code}, and nothing changes`, async () => {
          const v = await victim();
          for (const addressing of addressingsOf(v)) {
            const before = await snapshot(ctx.database);
            const res = await send(ctx.app, route.method, route.path, { ...intruder.auth, ...addressing.headers }, 'body' in route ? route.body : undefined);
            assert.equal(res.statusCode, 404, `${addressing.name}: ${res.body}`);
            assert.deepEqual(res.json(), envelope(404, route.code, [null, 'Profile not found']), addressing.name);
            assertEnvelope(res);
            assertNoInternals(res);
            assert.deepEqual(await snapshot(ctx.database), before, `${addressing.name}: the database changed`);
          }
          // The owner still sees all of it.
          const ids = await send(ctx.app, 'GET', IDENTIFIERS_PATH, { ...owner.auth, 'adapty-customer-user-id': v.cuid });
          assert.equal((ids.json() as { appsflyer_id: string }).appsflyer_id, 'owner-af');
        });
      }

      test("POST profile (create) with another app's ids makes the intruder's own profile and leaves the owner's untouched", async () => {
        const v = await victim();
        const ownerRows = async () => {
          const snap = await snapshot(ctx.database);
          return Object.fromEntries(Object.entries(snap).map(([table, rows]) => [table, (rows as { app_id: string }[]).filter((row) => row.app_id === owner.appId)]));
        };
        for (const addressing of addressingsOf(v)) {
          const before = await ownerRows();
          const res = await send(ctx.app, 'POST', PROFILE_PATH, { ...intruder.auth, ...addressing.headers }, { first_name: 'Intruder', custom_attributes: [{ key: 'x', value: 1 }] });
          assert.equal(res.statusCode, 200, `${addressing.name}: ${res.body}`);
          const data = (res.json() as { data: { app_id: string; custom_attributes: { key: string }[] } }).data;
          assert.equal(data.app_id, intruder.appId, addressing.name);
          assert.deepEqual(data.custom_attributes.map((c) => c.key), ['x'], `${addressing.name}: the owner's attributes leaked`);
          assert.deepEqual(await ownerRows(), before, `${addressing.name}: the owner's rows changed`);
          const ids = await send(ctx.app, 'GET', IDENTIFIERS_PATH, { ...intruder.auth, ...addressing.headers });
          assert.equal(ids.statusCode, 200);
          assert.equal((ids.json() as { appsflyer_id: string | null }).appsflyer_id, null, `${addressing.name}: the owner's identifiers leaked`);
          // Clean up so the next addressing starts from "the intruder has no such profile".
          assert.equal((await send(ctx.app, 'DELETE', PROFILE_PATH, { ...intruder.auth, ...addressing.headers })).statusCode, 204);
        }
      });
    });
  });
}
