import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, PROFILE_PATH, type TestDatabase } from './helpers.js';
import { type ServerProcess, startServer } from './process-helpers.js';

const KEY = 'limits-test-key-0123456789';

/** Opens a raw connection, writes `data` (optionally leaving the request unfinished) and collects everything until the server closes it. */
function rawExchange(url: string, data: string, waitMs = 10_000): Promise<{ text: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname, () => socket.write(data));
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${waitMs} ms; got: ${text}`));
    }, waitMs);
  });
}

function bodyOf(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
}

describe('resource limits of the real server', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  before(async () => {
    database = await createTestDatabase('sqlite');
    server = await startServer({
      DATABASE_URL: `sqlite:${database.config.kind === 'sqlite' ? database.config.file : ''}`,
      CROSSWALK_API_KEY: KEY,
      REQUEST_TIMEOUT_MS: '1500',
      HEADERS_TIMEOUT_MS: '1000',
      MAX_CONNECTIONS: '20',
      MAX_HEADER_BYTES: '4096',
      RATE_LIMIT_PER_SECOND: '1',
      RATE_LIMIT_BURST: '5',
    });
  });
  after(async () => {
    await server?.stop();
    await database.drop();
  });

  test('a client that never finishes its headers is cut off with a 408 envelope', async () => {
    const { text, closedAfterMs } = await rawExchange(server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.deepEqual(bodyOf(text), {
      errors: [{ source: 'non_field_errors', errors: ['The request did not arrive in time.'] }],
      error_code: 'request_timeout',
      status_code: 408,
    });
    assert.ok(closedAfterMs < 4_000, `closed after ${closedAfterMs} ms`);
  });

  test('a client that never finishes its body is cut off', async () => {
    const head =
      `POST ${PROFILE_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Api-Key ${KEY}\r\n` +
      'adapty-customer-user-id: slow\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"first_name":';
    const { text, closedAfterMs } = await rawExchange(server.url, head);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.equal((bodyOf(text) as { error_code: string }).error_code, 'request_timeout');
    assert.ok(closedAfterMs < 5_000, `closed after ${closedAfterMs} ms`);
  });

  test('headers over the limit are a 431 envelope', async () => {
    const { text } = await rawExchange(server.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8_000)}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 431 /);
    assert.deepEqual(bodyOf(text), {
      errors: [{ source: 'non_field_errors', errors: ['The request headers are too large.'] }],
      error_code: 'headers_too_large',
      status_code: 431,
    });
  });

  test('malformed HTTP is a 400 envelope', async () => {
    const { text } = await rawExchange(server.url, 'THIS IS NOT HTTP\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.equal((bodyOf(text) as { error_code: string }).error_code, 'validation_error');
  });

  test('connections beyond the limit are closed at once; the others keep working', async () => {
    const { hostname, port } = new URL(server.url);
    const held: net.Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = net.connect(Number(port), hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      held.push(socket);
    }
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const extra = await rawExchange(server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 3_000);
      assert.equal(extra.text, '', 'the extra connection got no answer');
      held[0]!.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const [answer] = (await new Promise((resolve) => held[0]!.once('data', (d) => resolve([d.toString()])))) as string[];
      assert.match(answer!, /^HTTP\/1\.1 200 /);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  test('rate limiting per key: the burst passes, then 429 with Retry-After', async () => {
    const headers = { authorization: `Api-Key ${KEY}`, 'adapty-customer-user-id': 'rl' };
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => fetch(server.url + PROFILE_PATH, { method: 'POST', headers })),
    );
    const elapsedSeconds = (Date.now() - started) / 1000;
    const passed = answers.filter((res) => res.status === 200).length;
    const limited = answers.filter((res) => res.status === 429);
    assert.equal(passed + limited.length, 12);
    // The burst of 5, plus at most what the steady rate (1/s) refilled while the requests ran.
    assert.ok(passed >= 5 && passed <= 5 + Math.ceil(elapsedSeconds), `${passed} passed in ${elapsedSeconds} s`);
    assert.ok(limited.length > 0);
    assert.equal(limited[0]!.headers.get('retry-after'), '1');
    assert.deepEqual(await limited[0]!.json(), {
      errors: [{ source: 'non_field_errors', errors: ['Too many requests for this API key; retry in 1 s.'] }],
      error_code: 'rate_limited',
      status_code: 429,
    });
    // Health checks are not rate limited, and the key recovers at its steady rate.
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await fetch(server.url + PROFILE_PATH, { method: 'POST', headers })).status, 200);
  });
});
