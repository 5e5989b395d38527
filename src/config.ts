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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const poolSize = integer('DATABASE_POOL_SIZE', env.DATABASE_POOL_SIZE, 10, 1, 1000);
  const bootstrapApiKey = env.CROSSWALK_API_KEY === '' ? undefined : env.CROSSWALK_API_KEY;
  return Object.freeze({
    host: env.HOST || '127.0.0.1',
    port: integer('PORT', env.PORT, 8080, 0, 65535),
    database: Object.freeze(parseDatabaseUrl(env.DATABASE_URL, poolSize)),
    bootstrapApiKey,
    logLevel,
    apiKeyCacheTtlMs: integer('API_KEY_CACHE_TTL_MS', env.API_KEY_CACHE_TTL_MS, 5000, 0, 3_600_000),
  });
}
