import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../src/config.js';
import { createTestContext, envelope, send, type TestContext } from './helpers.js';
import { type ServerProcess, startServer } from './process-helpers.js';

const TOKEN = 'metrics-token-0123456789';
const NEEDS_TOKEN = envelope(401, 'not_authenticated', ['non_field_errors', 'GET /metrics needs the header "Authorization: Bearer <METRICS_TOKEN>".']);

describe('METRICS_TOKEN: /metrics only for the token', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext('sqlite', { METRICS_TOKEN: TOKEN });
  });
  after(() => ctx.close());

  test('without the token, or with another, /metrics is refused with 401 in the envelope', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }];
    for (const headers of attempts) {
      const res = await send(ctx.app, 'GET', '/metrics', headers);
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.deepEqual(res.json(), NEEDS_TOKEN);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="metrics"');
    }
  });

  test('with the token (scheme in any case), /metrics answers', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await send(ctx.app, 'GET', '/metrics', { authorization: `${scheme} ${TOKEN}` });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /crosswalk_http_requests_total/);
    }
  });

  test('a short token is refused at start', () => {
    assert.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), new ConfigError('METRICS_TOKEN must be at least 16 printable ASCII characters, without spaces'));
    assert.throws(() => loadConfig({ METRICS_PORT: 'nine' }), /METRICS_PORT must be a whole number/);
  });
});

describe('METRICS_PORT: /metrics on a port of its own (the real server process)', () => {
  let server: ServerProcess;
  let dir: string;
  let metricsUrl: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-metrics-'));
    server = await startServer({ DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`, METRICS_PORT: '0', METRICS_TOKEN: TOKEN, WEBHOOKS_ENABLED: 'false' });
    for (let i = 0; i < 100 && !metricsUrl; i++) {
      const match = /"address":"(http:\/\/127\.0\.0\.1:\d+)","msg":"metrics served on a port of their own"/.exec(server.output());
      if (match) metricsUrl = match[1]!;
      else await sleep(50);
    }
    assert.ok(metricsUrl, server.output());
  });
  after(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the metrics port serves /metrics with the token, and counts the main port\'s requests', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const refused = await fetch(`${metricsUrl}/metrics`);
    assert.equal(refused.status, 401);
    assert.deepEqual(await refused.json(), NEEDS_TOKEN);
    const res = await fetch(`${metricsUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /crosswalk_http_requests_total\{route="\/healthz",method="GET",status="200"\} 1/);
  });

  test('the main port no longer serves /metrics, and the metrics port serves nothing else', async () => {
    const main = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(main.status, 404);
    assert.equal(((await main.json()) as { error_code: string }).error_code, 'not_found');
    const other = await fetch(`${metricsUrl}/healthz`);
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as { error_code: string }).error_code, 'not_found');
  });
});
