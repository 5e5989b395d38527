import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext as NodeTestContext } from 'node:test';
import { type HostResolver, NetworkPolicy } from '../../src/webhooks/network-policy.js';
import { loadConfig } from '../../src/config.js';
import { createDeliveryWorker, DeliveryWorker } from '../../src/webhooks/worker.js';
import { createTestContext, createTestDatabase, DATABASES, envelope, onDatabase, PROFILE_PATH, send, type Tenant, type TestContext } from '../helpers.js';
import { runCliProcess } from '../process-helpers.js';
import { databaseUrl, ManualClock, startReceiver } from './support.js';

// Webhook targets must be public addresses: checked when an endpoint is added (API and CLI) and
// again at every delivery attempt, against the address actually connected to. Host names resolve
// through an injected resolver: nothing here asks real DNS, and everything connects to loopback.

const ENDPOINTS = '/crosswalk/v1/webhooks/endpoints/';
const DELIVERIES = '/crosswalk/v1/webhooks/deliveries/';
const SECOND = 1000;
const ADVICE = 'webhook targets must be public (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true for local development, or allow the network in WEBHOOK_ALLOWED_NETWORKS)';
/** Public by the policy's rules; given by the fake resolver at add time and never connected to. */
const PUBLIC = '100.128.0.1';
const STRICT = {};

const refusedAddress = (address: string, why: string) => envelope(400, 'validation_error', ['url', `The address ${address} is ${why}; ${ADVICE}.`]);
const refusedHost = (host: string, address: string, why: string) =>
  envelope(400, 'validation_error', ['url', `The host ${host} resolves to ${address}, ${why}; ${ADVICE}.`]);

/** Every refused range and spelling, as a URL and the address and reason the answer names. */
const REFUSED: [url: string, address: string, why: string][] = [
  ['http://127.0.0.1/', '127.0.0.1', 'a loopback address'],
  ['http://127.255.255.254:8080/hooks', '127.255.255.254', 'a loopback address'],
  ['http://2130706433/', '127.0.0.1', 'a loopback address'],
  ['http://0x7f000001/', '127.0.0.1', 'a loopback address'],
  ['http://017700000001/', '127.0.0.1', 'a loopback address'],
  ['http://127.1/', '127.0.0.1', 'a loopback address'],
  ['http://0x7f.0.0.1/', '127.0.0.1', 'a loopback address'],
  ['http://127.0.0.1./', '127.0.0.1', 'a loopback address'],
  ['http://%31%32%37.0.0.1/', '127.0.0.1', 'a loopback address'],
  ['https://10.0.0.5/hooks', '10.0.0.5', 'a private address'],
  ['https://172.16.0.1/', '172.16.0.1', 'a private address'],
  ['https://172.31.255.255/', '172.31.255.255', 'a private address'],
  ['http://192.168.1.1/', '192.168.1.1', 'a private address'],
  ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'a link-local address'],
  ['http://2852039166/', '169.254.169.254', 'a link-local address'],
  ['http://100.64.0.1/', '100.64.0.1', 'a shared (carrier-grade NAT) address'],
  ['http://100.127.255.255/', '100.127.255.255', 'a shared (carrier-grade NAT) address'],
  ['http://0.0.0.0/', '0.0.0.0', 'an unspecified address'],
  ['http://0/', '0.0.0.0', 'an unspecified address'],
  ['http://0.1.2.3/', '0.1.2.3', 'an unspecified address'],
  ['http://255.255.255.255/', '255.255.255.255', 'the broadcast address'],
  ['http://224.0.0.1/', '224.0.0.1', 'a multicast address'],
  ['http://239.255.255.250/', '239.255.255.250', 'a multicast address'],
  ['http://240.0.0.1/', '240.0.0.1', 'a reserved address'],
  ['http://192.0.0.8/', '192.0.0.8', 'a reserved address'],
  ['http://192.88.99.1/', '192.88.99.1', 'a reserved address'],
  ['http://192.0.2.1/', '192.0.2.1', 'a documentation address'],
  ['http://198.51.100.7/', '198.51.100.7', 'a documentation address'],
  ['http://203.0.113.9/', '203.0.113.9', 'a documentation address'],
  ['http://198.18.0.1/', '198.18.0.1', 'a benchmarking address'],
  ['http://198.19.255.255/', '198.19.255.255', 'a benchmarking address'],
  ['http://[::1]/', '::1', 'a loopback address'],
  ['http://[0:0:0:0:0:0:0:1]:8080/', '::1', 'a loopback address'],
  ['http://[::]/', '::', 'an unspecified address'],
  ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1', 'the IPv4-mapped form of 127.0.0.1, a loopback address'],
  ['http://[::ffff:7f00:1]/', '::ffff:7f00:1', 'the IPv4-mapped form of 127.0.0.1, a loopback address'],
  ['http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe', 'the IPv4-mapped form of 169.254.169.254, a link-local address'],
  ['http://[64:ff9b::10.0.0.1]/', '64:ff9b::a00:1', 'the NAT64 form of 10.0.0.1, a private address'],
  ['http://[64:ff9b:1::1]/', '64:ff9b:1::1', 'a private address'],
  ['http://[2002:a00:1::1]/', '2002:a00:1::1', 'the 6to4 form of 10.0.0.1, a private address'],
  ['http://[fc00::1]/', 'fc00::1', 'a private address'],
  ['http://[fd12:3456::1]/', 'fd12:3456::1', 'a private address'],
  ['http://[fe80::1]/', 'fe80::1', 'a link-local address'],
  ['http://[fec0::1]/', 'fec0::1', 'a site-local address'],
  ['http://[ff02::1]/', 'ff02::1', 'a multicast address'],
  ['http://[2001:db8::1]/', '2001:db8::1', 'a documentation address'],
  ['http://[3fff::1]/', '3fff::1', 'a documentation address'],
  ['http://[2001:2::1]/', '2001:2::1', 'a benchmarking address'],
  ['http://[2001::1]/', '2001::1', 'a reserved address'],
  ['http://[100::1]/', '100::1', 'a reserved address'],
  ['http://[5f00::1]/', '5f00::1', 'a reserved address'],
  ['http://[::127.0.0.1]/', '::7f00:1', 'a reserved address'],
];

/** A resolver over a table the test may change; any other name is not found. Counts what it was asked. */
function fakeDns(table: Record<string, string[]>) {
  const asked: string[] = [];
  const resolve: HostResolver = async (host) => {
    asked.push(host);
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: net.isIP(address) }));
  };
  return { table, asked, resolve };
}

/** POST over a real socket to the listening app. */
async function postJson(base: string, tenant: Tenant, body: unknown) {
  const res = await fetch(`${base}${ENDPOINTS}`, { method: 'POST', headers: { ...tenant.auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function listen(ctx: TestContext): Promise<string> {
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(ctx.app.server.address() as net.AddressInfo).port}`;
}

for (const kind of DATABASES) {
  describe(`webhook targets when an endpoint is added (${kind})`, onDatabase(kind), () => {
    const names = fakeDns({
      'public.example': [PUBLIC, '2a00:1450:4001::1'],
      'internal.example': ['10.0.0.5'],
      'metadata.example': ['169.254.169.254'],
      'mixed.example': [PUBLIC, '127.0.0.1'],
      'mapped.example': ['::ffff:127.0.0.1'],
    });
    let ctx: TestContext;
    let tenant: Tenant;
    let base: string;
    before(async () => {
      ctx = await createTestContext(kind, STRICT, { resolveHost: names.resolve });
      tenant = await ctx.newTenant();
      base = await listen(ctx);
    });
    after(() => ctx.close());

    const stored = async () => (await send(ctx.app, 'GET', ENDPOINTS, tenant.auth)).json().data as { id: string; url: string }[];

    test('every refused range and numeric spelling: 400 validation_error on url, saying why, and nothing stored', async () => {
      for (const [url, address, why] of REFUSED) {
        const res = await postJson(base, tenant, { url, event_types: ['profile.created'] });
        assert.equal(res.status, 400, url);
        assert.deepEqual(res.body, refusedAddress(address, why), url);
      }
      assert.deepEqual(await stored(), []);
    });

    test('a name is refused when any address it resolves to is refused; the message names the host and the address', async () => {
      const cases: [string, ReturnType<typeof envelope>][] = [
        ['https://internal.example/hooks', refusedHost('internal.example', '10.0.0.5', 'a private address')],
        ['http://metadata.example/latest/', refusedHost('metadata.example', '169.254.169.254', 'a link-local address')],
        ['https://mixed.example/hooks', refusedHost('mixed.example', '127.0.0.1', 'a loopback address')],
        ['https://mapped.example/', refusedHost('mapped.example', '::ffff:127.0.0.1', 'the IPv4-mapped form of 127.0.0.1, a loopback address')],
      ];
      for (const [url, expected] of cases) {
        const res = await postJson(base, tenant, { url });
        assert.equal(res.status, 400, url);
        assert.deepEqual(res.body, expected, url);
      }
      assert.deepEqual(await stored(), []);
    });

    test('localhost, resolved by the system resolver (the hosts file), is refused as loopback', async () => {
      const [first] = await dns.promises.lookup('localhost', { all: true, verbatim: true });
      const system = await createTestContext(kind, STRICT);
      try {
        const owner = await system.newTenant();
        for (const url of ['http://localhost:9/hooks', 'https://LocalHost/']) {
          const res = await send(system.app, 'POST', ENDPOINTS, owner.auth, { url });
          assert.equal(res.statusCode, 400, url);
          assert.deepEqual(res.json(), refusedHost('localhost', first!.address, 'a loopback address'), url);
        }
      } finally {
        await system.close();
      }
    });

    test('public addresses and names are accepted; a name that does not resolve yet is accepted too (every attempt checks it)', async () => {
      const accepted = [
        `http://${PUBLIC}/hooks`,
        'https://198.20.0.1/',
        'https://[2a00:1450:4001::1]/',
        `https://[::ffff:${PUBLIC}]/`,
        'https://public.example/hooks',
        'https://not-yet.example/hooks',
      ];
      for (const url of accepted) {
        const res = await postJson(base, tenant, { url });
        assert.equal(res.status, 201, `${url}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.data.url, url);
        assert.equal((await send(ctx.app, 'DELETE', `${ENDPOINTS}${res.body.data.id}/`, tenant.auth)).statusCode, 204);
      }
      assert.ok(names.asked.includes('not-yet.example'), 'the name was looked up');
    });

    test('WEBHOOK_ALLOWED_NETWORKS lets its networks through, and only them', async () => {
      const allowing = await createTestContext(kind, { WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8, fd00::/8' }, { resolveHost: names.resolve });
      try {
        const owner = await allowing.newTenant();
        for (const url of ['http://127.0.0.1:9/hooks', 'http://2130706433/', 'http://[::ffff:127.0.0.1]/', 'http://[fd00::1]/']) {
          const res = await send(allowing.app, 'POST', ENDPOINTS, owner.auth, { url });
          assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
        }
        const cases: [string, ReturnType<typeof envelope>][] = [
          ['http://10.0.0.5/', refusedAddress('10.0.0.5', 'a private address')],
          ['http://[::1]/', refusedAddress('::1', 'a loopback address')],
          ['http://[fe80::1]/', refusedAddress('fe80::1', 'a link-local address')],
          ['https://internal.example/', refusedHost('internal.example', '10.0.0.5', 'a private address')],
        ];
        for (const [url, expected] of cases) {
          const res = await send(allowing.app, 'POST', ENDPOINTS, owner.auth, { url });
          assert.deepEqual(res.json(), expected, url);
        }
      } finally {
        await allowing.close();
      }
    });

    test('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true accepts every address, without looking names up', async () => {
      const open = fakeDns({});
      const development = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }, { resolveHost: open.resolve });
      try {
        const owner = await development.newTenant();
        for (const url of ['http://127.0.0.1:9/hooks', 'http://169.254.169.254/', 'http://[::1]/', 'http://internal.example/']) {
          const res = await send(development.app, 'POST', ENDPOINTS, owner.auth, { url });
          assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
        }
        assert.deepEqual(open.asked, []);
      } finally {
        await development.close();
      }
    });
  });

  describe(`webhook targets at every delivery attempt (${kind})`, onDatabase(kind), () => {
    /** An app with the given settings and resolver, a loopback receiver, and a worker on a manual clock. */
    async function setup(t: NodeTestContext, env: Record<string, string>, resolve: HostResolver, workerEnv: Record<string, string> = env) {
      const ctx = await createTestContext(kind, env, { resolveHost: resolve });
      const receiver = await startReceiver();
      const clock = new ManualClock();
      // The worker's settings may differ from the app's: the operator changed them since the endpoint was added.
      const workerSettings = loadConfig(workerEnv).webhooks;
      const worker = new DeliveryWorker(ctx.store.webhooks, {
        network: new NetworkPolicy(workerSettings, resolve),
        timeoutMs: 2_000,
        pollIntervalMs: 60_000,
        concurrency: 8,
        retentionMs: 0,
        clock,
        random: () => 0.5,
        schedule: { retryPeriodMs: 20 * SECOND },
      });
      t.after(async () => {
        await worker.stop(0);
        await receiver.close();
        await ctx.close();
      });
      const tenant = await ctx.newTenant();
      const port = new URL(receiver.url).port;
      const subscribe = async (url: string) => {
        const res = await send(ctx.app, 'POST', ENDPOINTS, tenant.auth, { url, event_types: ['profile.created'] });
        assert.equal(res.statusCode, 201, res.body);
        return res.json().data as { id: string };
      };
      const change = async (user: string) => {
        const res = await send(ctx.app, 'POST', PROFILE_PATH, { ...tenant.auth, 'adapty-customer-user-id': user }, {});
        assert.equal(res.statusCode, 200, res.body);
        const [delivery] = (await send(ctx.app, 'GET', `${DELIVERIES}?limit=1`, tenant.auth)).json().data;
        clock.time = Date.parse(delivery.created_at);
        return delivery as Record<string, any>;
      };
      const deliveries = async () => (await send(ctx.app, 'GET', `${DELIVERIES}?limit=100`, tenant.auth)).json().data as Record<string, any>[];
      return { ctx, receiver, clock, worker, port, subscribe, change, deliveries };
    }

    test('DNS rebinding: a name that was public when added and resolves to loopback at the attempt is refused, retried, then failed; nothing reaches the local server', async (t) => {
      const names = fakeDns({ 'rebind.example': [PUBLIC] });
      const s = await setup(t, STRICT, names.resolve);
      await s.subscribe(`http://rebind.example:${s.port}/hooks`);
      // After the check at add time, the name now answers loopback, where a server is listening.
      names.table['rebind.example'] = ['127.0.0.1'];
      names.asked.length = 0;
      const made = await s.change('rebind-1');
      const start = s.clock.time;
      const refusal = 'refused: rebind.example resolved to 127.0.0.1, a loopback address';

      const [first] = await s.worker.runOnce();
      assert.deepEqual(first!.outcome, { status: 'failed', statusCode: null, error: refusal, nextAttemptAt: start + 10 * SECOND });
      assert.deepEqual(names.asked, ['rebind.example'], 'the name was resolved again for the attempt');
      const [pending] = await s.deliveries();
      assert.equal(pending!.status, 'pending');
      assert.equal(pending!.last_error, refusal);
      assert.equal(pending!.last_status_code, null);

      // The normal schedule: the second attempt 10 s later is refused too, and with a 20 s retry period it is the last.
      s.clock.time = start + 10 * SECOND;
      const [second] = await s.worker.runOnce();
      assert.deepEqual(second!.outcome, { status: 'failed', statusCode: null, error: refusal, nextAttemptAt: null });
      const [failed] = await s.deliveries();
      assert.deepEqual([failed!.id, failed!.status, failed!.attempts, failed!.last_error], [made.id, 'failed', 2, refusal]);
      assert.equal(s.receiver.receipts.length, 0, 'nothing was sent to the local server');
    });

    test('an IP-literal target is checked at the attempt too: added while private networks were allowed, refused once they are not', async (t) => {
      const s = await setup(t, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }, fakeDns({}).resolve, STRICT);
      await s.subscribe(s.receiver.url);
      await s.change('literal-1');
      const [report] = await s.worker.runOnce();
      assert.equal(report!.outcome.status, 'failed');
      assert.equal((report!.outcome as { error: string }).error, 'refused: 127.0.0.1 is a loopback address');
      assert.equal(s.receiver.receipts.length, 0);
    });

    test('a name answering one allowed and one refused address is refused, whichever comes first', async (t) => {
      const names = fakeDns({ 'split.example': ['127.0.0.1', '10.0.0.5'] });
      const s = await setup(t, { WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' }, names.resolve);
      names.table['split.example'] = [PUBLIC];
      await s.subscribe(`http://split.example:${s.port}/hooks`);
      names.table['split.example'] = ['127.0.0.1', '10.0.0.5'];
      await s.change('split-1');
      const [report] = await s.worker.runOnce();
      assert.equal((report!.outcome as { error: string }).error, 'refused: split.example resolved to 10.0.0.5, a private address');
      assert.equal(s.receiver.receipts.length, 0);
    });

    test('WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8: delivery to the loopback server works, by name (through the checked lookup) and by address', async (t) => {
      const names = fakeDns({ 'hooks.example': ['127.0.0.1'] });
      const s = await setup(t, { WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' }, names.resolve);
      await s.subscribe(`http://hooks.example:${s.port}/by-name`);
      await s.subscribe(s.receiver.url);
      await s.change('allowed-1');
      const reports = await s.worker.runOnce();
      assert.deepEqual(reports.map((r) => r.outcome), [{ status: 'succeeded', statusCode: 200 }, { status: 'succeeded', statusCode: 200 }]);
      // hooks.example exists only in the injected resolver: the connection used the policy's lookup.
      assert.deepEqual(s.receiver.receipts.map((r) => r.headers.host).sort(), [`127.0.0.1:${s.port}`, `hooks.example:${s.port}`]);
      assert.deepEqual((await s.deliveries()).map((d) => d.status), ['succeeded', 'succeeded']);
    });

    test('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: delivery to the loopback server works', async (t) => {
      const s = await setup(t, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }, fakeDns({ 'dev.example': ['127.0.0.1'] }).resolve);
      await s.subscribe(`http://dev.example:${s.port}/hooks`);
      await s.change('development-1');
      const [report] = await s.worker.runOnce();
      assert.deepEqual(report!.outcome, { status: 'succeeded', statusCode: 200 });
      assert.equal(s.receiver.delivered().length, 1);
    });

    test("the server's own worker (createDeliveryWorker) applies the process's settings", async (t) => {
      const ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      const receiver = await startReceiver();
      t.after(async () => {
        await receiver.close();
        await ctx.close();
      });
      const tenant = await ctx.newTenant();
      assert.equal((await send(ctx.app, 'POST', ENDPOINTS, tenant.auth, { url: receiver.url, event_types: ['profile.created'] })).statusCode, 201);
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, { ...tenant.auth, 'adapty-customer-user-id': 'own-1' }, {})).statusCode, 200);
      // Default settings: public targets only.
      const strict = createDeliveryWorker(ctx.store, loadConfig(STRICT).webhooks);
      const [refused] = await strict.runOnce();
      await strict.stop(0);
      assert.equal((refused!.outcome as { error: string }).error, 'refused: 127.0.0.1 is a loopback address');
      assert.equal(receiver.receipts.length, 0);
      // A process whose operator allows the loopback address delivers the next event (the refused one waits for its retry).
      assert.equal((await send(ctx.app, 'POST', PROFILE_PATH, { ...tenant.auth, 'adapty-customer-user-id': 'own-2' }, {})).statusCode, 200);
      const allowing = createDeliveryWorker(ctx.store, loadConfig({ WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' }).webhooks);
      const reports = await allowing.runOnce();
      await allowing.stop(0);
      assert.deepEqual(reports.map((r) => r.outcome), [{ status: 'succeeded', statusCode: 200 }]);
      assert.deepEqual(receiver.receipts.map((r) => JSON.parse(r.body).data.customer_user_id), ['own-2']);
    });

    test('an answer that is not 2xx keeps its status and at most 200 characters of its body, control characters removed', async (t) => {
      const names = fakeDns({ 'noisy.example': ['127.0.0.1'] });
      const s = await setup(t, { WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' }, names.resolve);
      const head = 'line one\r\n\tline\u0000two \u001b[31mred\u001b[0m \u202eevil\u202c ';
      const body = `${head}${'é'.repeat(300)}`;
      const noisy = http.createServer((request, response) => {
        request.resume();
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
      });
      await new Promise<void>((resolve) => noisy.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise<void>((resolve) => noisy.close(() => resolve())));
      await s.subscribe(`http://noisy.example:${(noisy.address() as net.AddressInfo).port}/`);
      await s.change('noisy-1');
      const [report] = await s.worker.runOnce();
      const firstChars = Array.from(body).slice(0, 200).join('');
      const expected = `HTTP 503: ${firstChars.replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f\u202e\u202c]/g, '').trim()}`;
      assert.ok(expected.startsWith('HTTP 503: line one linetwo [31mred[0m evil éé'), expected);
      assert.deepEqual(report!.outcome, { status: 'failed', statusCode: 503, error: expected, nextAttemptAt: s.clock.time + 10 * SECOND });
      const [stored] = await s.deliveries();
      assert.equal(stored!.last_error, expected);
      assert.equal(stored!.last_status_code, 503);
      assert.equal(Array.from(expected).length, 'HTTP 503: '.length + 200 - 7, 'the first 200 characters, less the 7 removed');
    });

    test('TLS names and verifies the host name: SNI carries it, and a certificate the system does not trust fails the attempt', async (t) => {
      const openssl = spawnSync('openssl', ['version']);
      if (openssl.status !== 0) return t.skip('openssl is not installed');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-tls-'));
      t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
      const made = spawnSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
        '-subj', '/CN=secure.example', '-addext', 'subjectAltName=DNS:secure.example',
      ]);
      assert.equal(made.status, 0, String(made.stderr));
      const key = fs.readFileSync(path.join(dir, 'key.pem'));
      const cert = fs.readFileSync(path.join(dir, 'cert.pem'));
      const serverNames: string[] = [];
      let requests = 0;
      const server = https.createServer({ key, cert, SNICallback: (name, done) => (serverNames.push(name), done(null)) }, (_request, response) => {
        requests++;
        response.end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));

      const s = await setup(t, { WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' }, fakeDns({ 'secure.example': ['127.0.0.1'] }).resolve);
      await s.subscribe(`https://secure.example:${(server.address() as net.AddressInfo).port}/hooks`);
      await s.change('tls-1');
      const [report] = await s.worker.runOnce();
      assert.equal(report!.outcome.status, 'failed');
      // Node 24 adds a hint after the reason ("; if the root CA is installed locally, …").
      assert.match((report!.outcome as { error: string }).error, /^fetch failed: self[- ]signed certificate(;|$)/);
      assert.deepEqual(serverNames, ['secure.example'], 'SNI names the host, not the address connected to');
      assert.equal(requests, 0, 'no request is sent over a connection that failed verification');
    });
  });

  describe(`crosswalk webhooks add and the network policy (${kind})`, onDatabase(kind), () => {
    let url: string;
    let drop: () => Promise<void>;
    before(async () => {
      const database = await createTestDatabase(kind);
      drop = database.drop;
      url = databaseUrl(database);
      const created = await runCliProcess(['--database-url', url, 'apps', 'create', 'policy-app', '--no-key']);
      assert.equal(created.code, 0, created.stderr);
    });
    after(() => drop());
    const cli = (env: Record<string, string>, ...args: string[]) =>
      runCliProcess(['--database-url', url, 'webhooks', ...args], { WEBHOOK_ALLOW_PRIVATE_NETWORKS: '', WEBHOOK_ALLOWED_NETWORKS: '', ...env });

    test('a refused target is one line on --url with the reason, exit 1, nothing added; the settings let it through', async () => {
      const refused = await cli({}, 'add', '--url', 'http://169.254.169.254/latest/meta-data/');
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr, `crosswalk: --url: The address 169.254.169.254 is a link-local address; ${ADVICE}.\n`);
      const mapped = await cli({}, 'add', '--url', 'http://[::ffff:7f00:1]:9/');
      assert.equal(mapped.stderr, `crosswalk: --url: The address ::ffff:7f00:1 is the IPv4-mapped form of 127.0.0.1, a loopback address; ${ADVICE}.\n`);
      assert.deepEqual(JSON.parse((await cli({}, 'list', '--json')).stdout), []);

      const allowed = await cli({ WEBHOOK_ALLOWED_NETWORKS: '169.254.0.0/16' }, 'add', '--url', 'http://169.254.169.254/latest/meta-data/', '--json');
      assert.equal(allowed.code, 0, allowed.stderr);
      const development = await cli({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }, 'add', '--url', 'http://127.0.0.1:9/', '--json');
      assert.equal(development.code, 0, development.stderr);
      assert.equal(JSON.parse((await cli({}, 'list', '--json')).stdout).length, 2);

      const badSetting = await cli({ WEBHOOK_ALLOWED_NETWORKS: '10.0.0.0/33' }, 'list');
      assert.equal(badSetting.code, 1);
      assert.match(badSetting.stderr, /WEBHOOK_ALLOWED_NETWORKS: the prefix of "10\.0\.0\.0\/33" must be 0 to 32/);
    });
  });
}
