import path from 'node:path';

/** Where the data lives: an embedded SQLite file (or memory) or a PostgreSQL server. */
export type DatabaseConfig =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly poolSize: number };

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
  /** Whether /metrics is served and measurements are taken. */
  readonly metricsEnabled: boolean;
  readonly webhooks: WebhookSettings;
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

/** Reads `DATABASE_URL`: `sqlite:<path>`, `sqlite::memory:`, or `postgres://…` / `postgresql://…`. */
export function parseDatabaseUrl(raw: string | undefined, poolSize = 10): DatabaseConfig {
  if (raw === undefined || raw === '') return { kind: 'sqlite', file: DEFAULT_SQLITE_FILE };
  if (raw.startsWith('sqlite:')) {
    const rest = raw.slice('sqlite:'.length).replace(/^\/\//, '');
    if (rest === '') throw new ConfigError('DATABASE_URL "sqlite:" needs a file path, e.g. sqlite:data/crosswalk.db');
    return { kind: 'sqlite', file: rest };
  }
  if (/^postgres(ql)?:\/\//.test(raw)) return { kind: 'postgres', url: raw, poolSize };
  throw new ConfigError('DATABASE_URL must start with sqlite: or postgres:// (or postgresql://)');
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

function loadWebhookSettings(env: NodeJS.ProcessEnv): WebhookSettings {
  return {
    enabled: boolean('WEBHOOKS_ENABLED', env.WEBHOOKS_ENABLED, true),
    timeoutMs: integer('WEBHOOK_TIMEOUT_MS', env.WEBHOOK_TIMEOUT_MS, 10_000, 100, 120_000),
    retryPeriodMs: integer('WEBHOOK_RETRY_PERIOD_MS', env.WEBHOOK_RETRY_PERIOD_MS, 86_400_000, 0, 30 * 86_400_000),
    pollIntervalMs: integer('WEBHOOK_POLL_INTERVAL_MS', env.WEBHOOK_POLL_INTERVAL_MS, 1_000, 10, 600_000),
    concurrency: integer('WEBHOOK_CONCURRENCY', env.WEBHOOK_CONCURRENCY, 8, 1, 256),
    retentionDays: integer('WEBHOOK_RETENTION_DAYS', env.WEBHOOK_RETENTION_DAYS, 30, 1, 3650),
  };
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
    database: Object.freeze(parseDatabaseUrl(env.DATABASE_URL, poolSize)),
    bootstrapApiKey,
    logLevel,
    apiKeyCacheTtlMs: integer('API_KEY_CACHE_TTL_MS', env.API_KEY_CACHE_TTL_MS, 5000, 0, 3_600_000),
    limits: Object.freeze(loadLimits(env)),
    rateLimitPerSecond,
    metricsEnabled: boolean('METRICS_ENABLED', env.METRICS_ENABLED, true),
    rateLimitBurst: integer('RATE_LIMIT_BURST', env.RATE_LIMIT_BURST, Math.max(1, rateLimitPerSecond * 2), 1, 1_000_000),
    webhooks: Object.freeze(loadWebhookSettings(env)),
  });
}
