import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { describe, test } from 'node:test';
import {
  CrosswalkAuthError,
  CrosswalkClient,
  CrosswalkError,
  CrosswalkNetworkError,
  CrosswalkTimeoutError,
  type ProfileAddress,
} from '../src/index.js';

const KEY = 'transport-key-0123456789';

/** Runs `body` against a local HTTP server answering every request with `status`, `type` and `text`. */
async function withHttpServer(status: number, type: string, text: string, body: (url: string) => Promise<void>) {
  const server = http.createServer((_request, response) => {
    response.writeHead(status, { 'content-type': type, 'retry-after': '7' }).end(text);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await body(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

interface Sent {
  url: string;
  method: string;
  headers: Headers;
  body: string | undefined;
}

/** A client whose fetch records each request and answers with `answer`. */
function recordingClient(answer: () => Response, baseUrl = 'https://api.example.test/') {
  const sent: Sent[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    sent.push({ url: String(input), method: init!.method!, headers: new Headers(init!.headers), body: init!.body as string | undefined });
    return answer();
  };
  return { client: new CrosswalkClient({ baseUrl, apiKey: KEY, fetch }), sent };
}

const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });

describe('the client on the wire', () => {
  test('every operation uses the vendor path with its trailing slash, the key and JSON headers', async () => {
    const { client, sent } = recordingClient(() => json({ data: {} }));
    const address = { customerUserId: 'u-1' };
    await client.createProfile(address, undefined, { platform: 'web' });
    await client.getProfile({ profileId: 'p' });
    await client.updateProfile(address, { first_name: 'A' });
    await client.deleteProfile(address);
    await client.setIntegrationIdentifiers(address, { branch_id: 1 });
    await client.getIntegrationIdentifiers(address);
    const profile = 'https://api.example.test/api/v2/server-side-api/profile/';
    const identifiers = 'https://api.example.test/api/v2/server-side-api/integration/profile/set/integration-identifiers/';
    assert.deepEqual(
      sent.map((request) => [request.method, request.url, request.body]),
      [
        ['POST', profile, '{}'],
        ['GET', profile, undefined],
        ['PATCH', profile, '{"first_name":"A"}'],
        ['DELETE', profile, undefined],
        ['POST', identifiers, '{"branch_id":1}'],
        ['GET', identifiers, undefined],
      ],
    );
    for (const request of sent) {
      assert.equal(request.headers.get('authorization'), `Api-Key ${KEY}`);
      assert.equal(request.headers.get('content-type'), 'application/json');
    }
    assert.equal(sent[0]!.headers.get('adapty-platform'), 'web');
    assert.equal(sent[0]!.headers.get('adapty-customer-user-id'), 'u-1');
    assert.equal(sent[1]!.headers.get('adapty-profile-id'), 'p');
    assert.equal(sent[1]!.headers.get('adapty-customer-user-id'), null);
    assert.equal(sent[2]!.headers.get('adapty-platform'), null);
  });

  test('a non-ASCII customer user id is sent as its UTF-8 bytes', async () => {
    const { client, sent } = recordingClient(() => json({ data: {} }));
    await client.getProfile({ customerUserId: 'Zoë' });
    const value = sent[0]!.headers.get('adapty-customer-user-id')!;
    assert.deepEqual(Buffer.from(value, 'latin1'), Buffer.from('Zoë', 'utf8'));
  });

  test('an address with neither id, or an id HTTP would alter, is refused before sending', async () => {
    const { client, sent } = recordingClient(() => json({ data: {} }));
    await assert.rejects(client.getProfile({} as ProfileAddress), TypeError);
    await assert.rejects(client.getProfile({ customerUserId: '' }), TypeError);
    await assert.rejects(client.getProfile({ customerUserId: 'a\r\nx-evil: 1' }), TypeError);
    await assert.rejects(client.getProfile({ customerUserId: ' padded ' }), TypeError);
    assert.equal(sent.length, 0);
    assert.throws(() => new CrosswalkClient({ baseUrl: 'http://x', apiKey: '' }), TypeError);
    assert.throws(() => new CrosswalkClient({ baseUrl: 'not a url', apiKey: KEY }), TypeError);
  });

  test('a server that accepts and never answers: CrosswalkTimeoutError', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => sockets.add(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as net.AddressInfo).port;
      const client = new CrosswalkClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: KEY, timeoutMs: 200 });
      const started = Date.now();
      await assert.rejects(client.getProfile({ customerUserId: 'u' }), (error: unknown) => {
        assert.ok(error instanceof CrosswalkTimeoutError);
        assert.ok(error instanceof CrosswalkNetworkError);
        assert.equal(error.timeoutMs, 200);
        return true;
      });
      assert.ok(Date.now() - started < 5_000);
      assert.ok(sockets.size >= 1, 'the request reached the server');
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  test('nothing listening: CrosswalkNetworkError with the cause', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const client = new CrosswalkClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: KEY });
    await assert.rejects(client.getProfile({ customerUserId: 'u' }), (error: unknown) => {
      assert.ok(error instanceof CrosswalkNetworkError);
      assert.ok(!(error instanceof CrosswalkTimeoutError));
      assert.ok(error.cause instanceof Error);
      return true;
    });
  });

  test('a 502 HTML page from a proxy: CrosswalkError with errorCode unknown and the text as body', async () => {
    const page = '<html><body><h1>502 Bad Gateway</h1></body></html>';
    await withHttpServer(502, 'text/html', page, async (url) => {
      const client = new CrosswalkClient({ baseUrl: url, apiKey: KEY });
      await assert.rejects(client.getIntegrationIdentifiers({ customerUserId: 'u' }), (error: unknown) => {
        assert.ok(error instanceof CrosswalkError);
        assert.equal(error.constructor, CrosswalkError);
        assert.equal(error.status, 502);
        assert.equal(error.errorCode, 'unknown');
        assert.deepEqual(error.errors, []);
        assert.equal(error.body, page);
        assert.equal(error.retryAfter, 7);
        assert.equal(error.message, '502 unknown');
        return true;
      });
    });
  });

  test('JSON that is not an envelope is unknown too, with the parsed body', async () => {
    const { client } = recordingClient(() => json({ message: 'Internal Server Error' }, 500));
    await assert.rejects(client.getProfile({ customerUserId: 'u' }), (error: unknown) => {
      assert.ok(error instanceof CrosswalkError);
      assert.equal(error.errorCode, 'unknown');
      assert.deepEqual(error.body, { message: 'Internal Server Error' });
      return true;
    });
  });

  test("Adapty's bare-string errors are read as items with a null source", async () => {
    const body = { errors: ['Invalid API key'], error_code: 'unauthorized', status_code: 401 };
    const { client } = recordingClient(() => json(body, 401));
    await assert.rejects(client.getIntegrationIdentifiers({ customerUserId: 'u' }), (error: unknown) => {
      assert.ok(error instanceof CrosswalkAuthError);
      assert.deepEqual(error.errors, [{ source: null, errors: ['Invalid API key'] }]);
      return true;
    });
  });

  test('a success whose body is not JSON is an unknown CrosswalkError', async () => {
    const { client } = recordingClient(() => new Response('<html>ok</html>', { status: 200 }));
    await assert.rejects(client.getProfile({ customerUserId: 'u' }), (error: unknown) => {
      assert.ok(error instanceof CrosswalkError);
      assert.equal(error.errorCode, 'unknown');
      assert.equal(error.status, 200);
      return true;
    });
  });
});
