import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

test('defaults: 127.0.0.1:8080, SQLite under data/, info logs', () => {
  const config = loadConfig({});
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.deepEqual(config.database, { kind: 'sqlite', file: 'data/crosswalk.db', writeQueueLimit: 5_000 });
  assert.equal(config.logLevel, 'info');
  assert.equal(config.bootstrapApiKey, undefined);
  assert.ok(Object.isFrozen(config));
});

test('DATABASE_URL forms', () => {
  assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:/var/lib/cw.db' }).database, { kind: 'sqlite', file: '/var/lib/cw.db', writeQueueLimit: 5_000 });
  assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite::memory:', SQLITE_WRITE_QUEUE_LIMIT: '50' }).database, {
    kind: 'sqlite',
    file: ':memory:',
    writeQueueLimit: 50,
  });
  assert.deepEqual(loadConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_POOL_SIZE: '25' }).database, {
    kind: 'postgres',
    url: 'postgres://u@h/db',
    poolSize: 25,
    acquireTimeoutMs: 5_000,
    statementTimeoutMs: 30_000,
  });
  assert.deepEqual(
    loadConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_ACQUIRE_TIMEOUT_MS: '250', DATABASE_STATEMENT_TIMEOUT_MS: '0' }).database,
    { kind: 'postgres', url: 'postgres://u@h/db', poolSize: 10, acquireTimeoutMs: 250, statementTimeoutMs: 0 },
  );
  assert.equal(loadConfig({ DATABASE_URL: 'postgresql://u@h/db' }).database.kind, 'postgres');
});

test('bad settings fail fast with the variable named', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), new ConfigError('PORT must be a whole number, got "eighty"'));
  assert.throws(() => loadConfig({ PORT: '70000' }), new ConfigError('PORT must be between 0 and 65535, got 70000'));
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL must start with sqlite: or postgres:\/\//);
  assert.throws(() => loadConfig({ DATABASE_URL: 'sqlite:' }), /needs a file path/);
  assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of/);
  assert.throws(() => loadConfig({ DATABASE_POOL_SIZE: '0' }), /DATABASE_POOL_SIZE must be between 1 and 1000/);
  assert.throws(() => loadConfig({ SQLITE_WRITE_QUEUE_LIMIT: '0' }), /SQLITE_WRITE_QUEUE_LIMIT must be between 1 and 1000000/);
  assert.throws(() => loadConfig({ DATABASE_ACQUIRE_TIMEOUT_MS: 'soon' }), /DATABASE_ACQUIRE_TIMEOUT_MS must be a whole number/);
});

test('webhook settings: defaults, overrides, and bad values named', () => {
  const defaults = loadConfig({}).webhooks;
  assert.deepEqual(defaults, {
    enabled: true,
    timeoutMs: 10_000,
    retryPeriodMs: 86_400_000,
    pollIntervalMs: 1_000,
    concurrency: 8,
    retentionDays: 30,
    allowPrivateNetworks: false,
    allowedNetworks: [],
  });
  assert.ok(Object.isFrozen(defaults));
  assert.deepEqual(
    loadConfig({
      WEBHOOKS_ENABLED: 'false',
      WEBHOOK_TIMEOUT_MS: '2500',
      WEBHOOK_RETRY_PERIOD_MS: '3600000',
      WEBHOOK_POLL_INTERVAL_MS: '50',
      WEBHOOK_CONCURRENCY: '32',
      WEBHOOK_RETENTION_DAYS: '7',
    }).webhooks,
    { enabled: false, timeoutMs: 2500, retryPeriodMs: 3_600_000, pollIntervalMs: 50, concurrency: 32, retentionDays: 7, allowPrivateNetworks: false, allowedNetworks: [] },
  );
  assert.throws(() => loadConfig({ WEBHOOKS_ENABLED: 'maybe' }), new ConfigError('WEBHOOKS_ENABLED must be true or false, got "maybe"'));
  assert.throws(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '50' }), new ConfigError('WEBHOOK_TIMEOUT_MS must be between 100 and 120000, got 50'));
  assert.throws(() => loadConfig({ WEBHOOK_RETRY_PERIOD_MS: '1d' }), new ConfigError('WEBHOOK_RETRY_PERIOD_MS must be a whole number, got "1d"'));
  assert.throws(() => loadConfig({ WEBHOOK_POLL_INTERVAL_MS: '0' }), /WEBHOOK_POLL_INTERVAL_MS must be between 10 and 600000/);
  assert.throws(() => loadConfig({ WEBHOOK_CONCURRENCY: '0' }), /WEBHOOK_CONCURRENCY must be between 1 and 256/);
  assert.throws(() => loadConfig({ WEBHOOK_RETENTION_DAYS: '0' }), /WEBHOOK_RETENTION_DAYS must be between 1 and 3650/);
});

test('webhook target networks: WEBHOOK_ALLOW_PRIVATE_NETWORKS and WEBHOOK_ALLOWED_NETWORKS, and bad networks named', () => {
  assert.equal(loadConfig({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }).webhooks.allowPrivateNetworks, true);
  assert.equal(loadConfig({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'off' }).webhooks.allowPrivateNetworks, false);
  assert.throws(() => loadConfig({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'sometimes' }), new ConfigError('WEBHOOK_ALLOW_PRIVATE_NETWORKS must be true or false, got "sometimes"'));

  const allowed = loadConfig({ WEBHOOK_ALLOWED_NETWORKS: ' 10.20.0.0/16, fd00:1234::/32 ,127.0.0.1,,' }).webhooks.allowedNetworks;
  assert.deepEqual(allowed, [
    { address: '10.20.0.0', prefix: 16, family: 4 },
    { address: 'fd00:1234::', prefix: 32, family: 6 },
    { address: '127.0.0.1', prefix: 32, family: 4 },
  ]);
  assert.ok(Object.isFrozen(allowed) && allowed.every((network) => Object.isFrozen(network)));
  assert.deepEqual(loadConfig({ WEBHOOK_ALLOWED_NETWORKS: '' }).webhooks.allowedNetworks, []);

  const bad: [string, string][] = [
    ['10.20.0.0/16,banana', 'WEBHOOK_ALLOWED_NETWORKS: "banana" is not an IP network such as 10.20.0.0/16 or fd00:1234::/32'],
    ['10.0.0.0/33', 'WEBHOOK_ALLOWED_NETWORKS: the prefix of "10.0.0.0/33" must be 0 to 32'],
    ['fd00::/200', 'WEBHOOK_ALLOWED_NETWORKS: the prefix of "fd00::/200" must be 0 to 128'],
    ['10.20.1.0/16', 'WEBHOOK_ALLOWED_NETWORKS: "10.20.1.0/16" has bits set after its /16 prefix; write 10.20.0.0/16'],
    ['fd00:1234::1/32', 'WEBHOOK_ALLOWED_NETWORKS: "fd00:1234::1/32" has bits set after its /32 prefix; write fd00:1234::/32'],
    ['10.0.0.0 /8', 'WEBHOOK_ALLOWED_NETWORKS: "10.0.0.0 /8" is not an IP network such as 10.20.0.0/16 or fd00:1234::/32'],
    ['10.0.0.0/8;192.168.0.0/16', 'WEBHOOK_ALLOWED_NETWORKS: "10.0.0.0/8;192.168.0.0/16" is not an IP network such as 10.20.0.0/16 or fd00:1234::/32'],
    ['localhost', 'WEBHOOK_ALLOWED_NETWORKS: "localhost" is not an IP network such as 10.20.0.0/16 or fd00:1234::/32'],
  ];
  for (const [raw, message] of bad) assert.throws(() => loadConfig({ WEBHOOK_ALLOWED_NETWORKS: raw }), new ConfigError(message), raw);
});
