import path from 'node:path';
import { type IpNetwork, parseNetwork } from './domain/webhook-input.js';

/** Where the data lives: an embedded SQLite file (or memory) or a PostgreSQL server. */
export type DatabaseConfig =
  | {
      readonly kind: 'sqlite';
      readonly file: string;
      /** Writes waiting for the next group commit beyond which a write is refused at once (503). */
      readonly writeQueueLimit?: number;
    }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly poolSize: number;
      /** How long a query waits for a free pooled connection before it is refused (503). */
      readonly acquireTimeoutMs?: number;
      /** How long the server lets one statement run before it cancels it (503); 0 sets no limit. */
      readonly statementTimeoutMs?: number;
    };

/** The overload settings of the database, read from the environment (see loadDatabaseLimits). */
export interface DatabaseLimits {
  readonly writeQueueLimit: number;
  readonly acquireTimeoutMs: number;
  readonly statementTimeoutMs: number;
}

/** Every setting of the process; built once from the environment, validated and frozen. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly database: DatabaseConfig;
  /** An API key the operator wants registered for the first app (idempotent across restarts). */
  readonly bootstrapApiKey: string | undefined;
  readonly logLevel: string;
  /** How long a key lookup is remembered; a revoked key stops working within this time. 0 disables. */
  readonly apiKeyCacheTtlMs: number;
  readonly limits: Limits;
  /** Requests per second per API key, in this process; 0 turns rate limiting off. */
  readonly rateLimitPerSecond: number;
  /** How many requests a key may make at once above its steady rate. */
  readonly rateLimitBurst: number;
  /**
   * Failed authentications a client address may make per minute (and at once), in this process;
   * beyond them its requests with keys not known as valid are answered 429 before any lookup. 0: no limit.
   */
  readonly authFailuresPerMinute: number;
  /**
   * Which proxies in front of the server are believed about the client's address (their
   * `X-Forwarded-For`): none (false), any (true), the nearest N hops, or these addresses and
   * networks. Failed authentications are counted by that address.
   */
  readonly trustProxy: boolean | number | readonly string[];
  /** Whether /metrics is served and measurements are taken. */
  readonly metricsEnabled: boolean;
  /** When set, /metrics answers only requests with `Authorization: Bearer <token>`. */
  readonly metricsToken: string | undefined;
  /** When set, /metrics is served on this port of its own (on `metricsHost`), not on `port`. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  readonly webhooks: WebhookSettings;
  /** Identifier history entries are deleted this many days after they were written; 0 keeps them. */
  readonly historyRetentionDays: number;
}

/** The webhook delivery worker of this process. */
export interface WebhookSettings {
  /** Whether this process runs a delivery worker (events are recorded either way). */
  readonly enabled: boolean;
  /** How long one delivery attempt may take. */
  readonly timeoutMs: number;
  /** How long after an event failed attempts are retried; after that the delivery is marked failed. */
  readonly retryPeriodMs: number;
  /** How often the queue is checked when no local write wakes the worker. */
  readonly pollIntervalMs: number;
  /** Attempts in flight at once, per process. */
  readonly concurrency: number;
  /** Completed deliveries (and their events) are deleted this many days after completion. */
  readonly retentionDays: number;
  /** Lifts the rule that webhook targets must be public addresses (local development). */
  readonly allowPrivateNetworks: boolean;
  /** Networks webhook targets may be in although they are not public (see src/webhooks/network-policy.ts). */
  readonly allowedNetworks: readonly IpNetwork[];
}

/** Protection against slow or greedy clients. */
export interface Limits {
  /** The whole request (headers and body) must arrive within this time. */
  readonly requestTimeoutMs: number;
  /** The request headers must arrive within this time. */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  readonly keepAliveTimeoutMs: number;
  /** Connections beyond this number are closed at once. */
  readonly maxConnections: number;
  /** The largest request head (request line and headers) accepted, in bytes. */
  readonly maxHeaderBytes: number;
}

export class ConfigError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const DEFAULT_SQLITE_FILE = path.join('data', 'crosswalk.db');

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export const DEFAULT_DATABASE_LIMITS: DatabaseLimits = Object.freeze({
  writeQueueLimit: 5_000,
  acquireTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
});

/** Reads `DATABASE_URL`: `sqlite:<path>`, `sqlite::memory:`, or `postgres://…` / `postgresql://…`. */
export function parseDatabaseUrl(raw: string | undefined, poolSize = 10, limits: DatabaseLimits = DEFAULT_DATABASE_LIMITS): DatabaseConfig {
  const sqlite = (file: string): DatabaseConfig => ({ kind: 'sqlite', file, writeQueueLimit: limits.writeQueueLimit });
  if (raw === undefined || raw === '') return sqlite(DEFAULT_SQLITE_FILE);
  if (raw.startsWith('sqlite:')) {
    const rest = raw.slice('sqlite:'.length).replace(/^\/\//, '');
    if (rest === '') throw new ConfigError('DATABASE_URL "sqlite:" needs a file path, e.g. sqlite:data/crosswalk.db');
    return sqlite(rest);
  }
  if (/^postgres(ql)?:\/\//.test(raw)) {
    return { kind: 'postgres', url: raw, poolSize, acquireTimeoutMs: limits.acquireTimeoutMs, statementTimeoutMs: limits.statementTimeoutMs };
  }
  throw new ConfigError('DATABASE_URL must start with sqlite: or postgres:// (or postgresql://)');
}

function loadDatabaseLimits(env: NodeJS.ProcessEnv): DatabaseLimits {
  const d = DEFAULT_DATABASE_LIMITS;
  return {
    writeQueueLimit: integer('SQLITE_WRITE_QUEUE_LIMIT', env.SQLITE_WRITE_QUEUE_LIMIT, d.writeQueueLimit, 1, 1_000_000),
    acquireTimeoutMs: integer('DATABASE_ACQUIRE_TIMEOUT_MS', env.DATABASE_ACQUIRE_TIMEOUT_MS, d.acquireTimeoutMs, 1, 600_000),
    statementTimeoutMs: integer('DATABASE_STATEMENT_TIMEOUT_MS', env.DATABASE_STATEMENT_TIMEOUT_MS, d.statementTimeoutMs, 0, 3_600_000),
  };
}

function loadLimits(env: NodeJS.ProcessEnv): Limits {
  const requestTimeoutMs = integer('REQUEST_TIMEOUT_MS', env.REQUEST_TIMEOUT_MS, 10_000, 100, 600_000);
  const headersTimeoutMs = integer('HEADERS_TIMEOUT_MS', env.HEADERS_TIMEOUT_MS, Math.min(5_000, requestTimeoutMs), 100, 600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(`HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not be larger than REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);
  }
  return {
    requestTimeoutMs,
    headersTimeoutMs,
    keepAliveTimeoutMs: integer('KEEP_ALIVE_TIMEOUT_MS', env.KEEP_ALIVE_TIMEOUT_MS, 72_000, 1_000, 600_000),
    maxConnections: integer('MAX_CONNECTIONS', env.MAX_CONNECTIONS, 10_000, 1, 1_000_000),
    maxHeaderBytes: integer('MAX_HEADER_BYTES', env.MAX_HEADER_BYTES, 16_384, 1_024, 1_048_576),
  };
}

/** `WEBHOOK_ALLOWED_NETWORKS`: comma-separated networks (CIDR) or single addresses, IPv4 or IPv6. */
function networks(name: string, raw: string | undefined): readonly IpNetwork[] {
  const items = (raw ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
  return Object.freeze(
    items.map((item) => {
      const parsed = parseNetwork(item);
      if ('problem' in parsed) throw new ConfigError(`${name}: ${parsed.problem}`);
      return Object.freeze(parsed.network);
    }),
  );
}

function loadWebhookSettings(env: NodeJS.ProcessEnv): WebhookSettings {
  return {
    enabled: boolean('WEBHOOKS_ENABLED', env.WEBHOOKS_ENABLED, true),
    timeoutMs: integer('WEBHOOK_TIMEOUT_MS', env.WEBHOOK_TIMEOUT_MS, 10_000, 100, 120_000),
    retryPeriodMs: integer('WEBHOOK_RETRY_PERIOD_MS', env.WEBHOOK_RETRY_PERIOD_MS, 86_400_000, 0, 30 * 86_400_000),
    pollIntervalMs: integer('WEBHOOK_POLL_INTERVAL_MS', env.WEBHOOK_POLL_INTERVAL_MS, 1_000, 10, 600_000),
    concurrency: integer('WEBHOOK_CONCURRENCY', env.WEBHOOK_CONCURRENCY, 8, 1, 256),
    retentionDays: integer('WEBHOOK_RETENTION_DAYS', env.WEBHOOK_RETENTION_DAYS, 30, 1, 3650),
    allowPrivateNetworks: boolean('WEBHOOK_ALLOW_PRIVATE_NETWORKS', env.WEBHOOK_ALLOW_PRIVATE_NETWORKS, false),
    allowedNetworks: networks('WEBHOOK_ALLOWED_NETWORKS', env.WEBHOOK_ALLOWED_NETWORKS),
  };
}

/** `TRUST_PROXY`: true or false, a number of hops, or comma-separated proxy addresses and networks. */
function trustProxy(raw: string | undefined): boolean | number | readonly string[] {
  if (raw === undefined || raw === '' || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return integer('TRUST_PROXY', raw, 0, 1, 100);
  return Object.freeze(networks('TRUST_PROXY', raw).map((network) => `${network.address}/${network.prefix}`));
}

function metricsToken(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 16 || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 printable ASCII characters, without spaces');
  }
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const poolSize = integer('DATABASE_POOL_SIZE', env.DATABASE_POOL_SIZE, 10, 1, 1000);
  const bootstrapApiKey = env.CROSSWALK_API_KEY === '' ? undefined : env.CROSSWALK_API_KEY;
  const rateLimitPerSecond = integer('RATE_LIMIT_PER_SECOND', env.RATE_LIMIT_PER_SECOND, 0, 0, 1_000_000);
  return Object.freeze({
    host: env.HOST || '127.0.0.1',
    port: integer('PORT', env.PORT, 8080, 0, 65535),
    database: Object.freeze(parseDatabaseUrl(env.DATABASE_URL, poolSize, loadDatabaseLimits(env))),
    bootstrapApiKey,
    logLevel,
    apiKeyCacheTtlMs: integer('API_KEY_CACHE_TTL_MS', env.API_KEY_CACHE_TTL_MS, 5000, 0, 3_600_000),
    limits: Object.freeze(loadLimits(env)),
    rateLimitPerSecond,
    metricsEnabled: boolean('METRICS_ENABLED', env.METRICS_ENABLED, true),
    metricsToken: metricsToken(env.METRICS_TOKEN),
    metricsPort: env.METRICS_PORT === undefined || env.METRICS_PORT === '' ? undefined : integer('METRICS_PORT', env.METRICS_PORT, 0, 0, 65535),
    metricsHost: env.METRICS_HOST || env.HOST || '127.0.0.1',
    rateLimitBurst: integer('RATE_LIMIT_BURST', env.RATE_LIMIT_BURST, Math.max(1, rateLimitPerSecond * 2), 1, 1_000_000),
    authFailuresPerMinute: integer('AUTH_FAILURES_PER_MINUTE', env.AUTH_FAILURES_PER_MINUTE, 60, 0, 1_000_000),
    trustProxy: trustProxy(env.TRUST_PROXY),
    webhooks: Object.freeze(loadWebhookSettings(env)),
    historyRetentionDays: integer('HISTORY_RETENTION_DAYS', env.HISTORY_RETENTION_DAYS, 0, 0, 36_500),
  });
}
