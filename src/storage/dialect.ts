import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  Kysely,
  type LogEvent,
  type Logger,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteAdapter,
  SqliteDriver,
} from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import type { PreparedQuery } from './prepared.js';
import type { Database } from './schema.js';

/**
 * Everything that differs between SQLite and PostgreSQL, in one place: how to connect, how the
 * driver reports constraint violations, and row locks (SQLite has one writer, so it needs none).
 */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  readonly db: Kysely<Database>;
  isUniqueViolation(error: unknown): boolean;
  isForeignKeyViolation(error: unknown): boolean;
  /** A deadlock or serialization failure: the transaction may succeed if run again. */
  isRetryable(error: unknown): boolean;
  /** Row lock clause for reading a profile that the transaction will change. */
  readonly lockForUpdate: boolean;
  /** Hot queries, compiled once for this database (see prepared.ts). */
  readonly prepared: Map<string, PreparedQuery<any>>;
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/**
 * Transactions take SQLite's write lock when they begin. A deferred transaction that reads and
 * then writes can fail at once (SQLITE_BUSY) when another process wrote in between; an immediate
 * one waits for the lock (busy_timeout) instead, so several processes can share one file.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver() {
    return new ImmediateSqliteDriver(this.settings);
  }

  /** SQLite does run DDL in transactions; saying so makes migrations hold the write lock throughout. */
  override createAdapter() {
    return new TransactionalDdlSqliteAdapter();
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * Kysely prepares every statement anew; better-sqlite3 statements can be reused, and the hot paths
 * run the same few SQL texts all the time. The cache is bounded in case SQL is ever built with
 * varying shapes (IN lists of different lengths, multi-row inserts).
 */
function withStatementCache(database: SqliteDatabase.Database, limit = 500): SqliteDialectConfig['database'] {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (!statement) {
        if (cache.size >= limit) cache.delete(cache.keys().next().value!);
        statement = database.prepare(text);
        cache.set(text, statement);
      }
      return statement;
    },
  } as unknown as SqliteDialectConfig['database'];
}

function openSqlite(file: string, log?: Logger): Dialect {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new SqliteDatabase(file);
  // First, so that even switching the journal mode waits for another process rather than failing.
  database.pragma('busy_timeout = 5000');
  if (file !== ':memory:') database.pragma('journal_mode = WAL');
  // FULL: every commit is fsync'd before the answer that depends on it is sent.
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('temp_store = MEMORY');
  database.pragma('cache_size = -32000');
  return {
    name: 'sqlite',
    db: new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(database) }), ...(log && { log }) }),
    isUniqueViolation: (e) => codeOf(e) === 'SQLITE_CONSTRAINT_UNIQUE' || codeOf(e) === 'SQLITE_CONSTRAINT_PRIMARYKEY',
    isForeignKeyViolation: (e) => codeOf(e) === 'SQLITE_CONSTRAINT_FOREIGNKEY',
    isRetryable: () => false,
    lockForUpdate: false,
    prepared: new Map(),
  };
}

// bigint columns hold epoch milliseconds, well inside the exact range of a JS number.
const INT8_OID = 20;
const parseInt8 = (value: string) => Number(value);

function openPostgres(url: string, poolSize: number, log?: Logger): Dialect {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its connection emits 'error'; the pool replaces it on next use.
  pool.on('error', () => {});
  return {
    name: 'postgres',
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(log && { log }) }),
    isUniqueViolation: (e) => codeOf(e) === '23505',
    isForeignKeyViolation: (e) => codeOf(e) === '23503',
    isRetryable: (e) => codeOf(e) === '40P01' || codeOf(e) === '40001',
    lockForUpdate: true,
    prepared: new Map(),
  };
}

/** Called with the duration of every statement, for metrics. */
export type QueryObserver = (milliseconds: number, failed: boolean) => void;

export function openDialect(config: DatabaseConfig, observe?: QueryObserver): Dialect {
  const log = observe && ((event: LogEvent) => observe(event.queryDurationMillis, event.level === 'error'));
  return config.kind === 'sqlite' ? openSqlite(config.file, log) : openPostgres(config.url, config.poolSize, log);
}
