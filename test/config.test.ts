import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

test('defaults: 127.0.0.1:8080, SQLite under data/, info logs', () => {
  const config = loadConfig({});
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.deepEqual(config.database, { kind: 'sqlite', file: 'data/crosswalk.db' });
  assert.equal(config.logLevel, 'info');
  assert.equal(config.bootstrapApiKey, undefined);
  assert.ok(Object.isFrozen(config));
});

test('DATABASE_URL forms', () => {
  assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:/var/lib/cw.db' }).database, { kind: 'sqlite', file: '/var/lib/cw.db' });
  assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).database, { kind: 'sqlite', file: ':memory:' });
  assert.deepEqual(loadConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_POOL_SIZE: '25' }).database, {
    kind: 'postgres',
    url: 'postgres://u@h/db',
    poolSize: 25,
  });
  assert.equal(loadConfig({ DATABASE_URL: 'postgresql://u@h/db' }).database.kind, 'postgres');
});

test('bad settings fail fast with the variable named', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), new ConfigError('PORT must be a whole number, got "eighty"'));
  assert.throws(() => loadConfig({ PORT: '70000' }), new ConfigError('PORT must be between 0 and 65535, got 70000'));
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL must start with sqlite: or postgres:\/\//);
  assert.throws(() => loadConfig({ DATABASE_URL: 'sqlite:' }), /needs a file path/);
  assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of/);
  assert.throws(() => loadConfig({ DATABASE_POOL_SIZE: '0' }), /DATABASE_POOL_SIZE must be between 1 and 1000/);
});
