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
import { type DatabaseConfig, DEFAULT_DATABASE_LIMITS } from '../config.js';
import { OverloadedError } from '../errors.js';
import type { PreparedQuery } from './prepared.js';
import type { Database } from './schema.js';
import { WalSync } from './wal-sync.js';
import { Checkpointer } from './checkpointer.js';

/** WAL pages after which the answering connection checkpoints by itself (16,000 pages: 64 MB). */
const BACKSTOP_CHECKPOINT_PAGES = 16_000;

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
  constructor(
    settings: SqliteDialectConfig,
    private readonly durability: Durability,
  ) {
    super(settings);
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  /**
   * The connection is handed on first, so that reads run while the WAL is fsync'd; whoever
   * committed waits for the fsync before its promise resolves.
   */
  override async releaseConnection(): Promise<void> {
    const durable = this.durability.settle();
    await super.releaseConnection();
    if (durable) await durable;
  }

  override async destroy(): Promise<void> {
    await this.durability.checkpointer?.close();
    await super.destroy();
    await this.durability.close();
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    private readonly settings: SqliteDialectConfig,
    private readonly durability: Durability,
  ) {
    super(settings);
  }

  override createDriver() {
    return new ImmediateSqliteDriver(this.settings, this.durability);
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
 * Commits that are not yet on disk. With a WAL (synchronous = NORMAL) a commit returns once its
 * frames are written to the WAL file, before they reach the disk; the connection notes each commit
 * and `settle` gives the fsync that makes them durable. Without one (an in-memory database) there
 * is nothing to sync.
 */
class Durability {
  private owed = false;

  constructor(
    private readonly wal: WalSync | null,
    readonly checkpointer: Checkpointer | null = null,
  ) {}

  committed(): void {
    this.owed = true;
  }

  /** The fsync that makes the commits noted so far durable; undefined when none is owed. */
  settle(): Promise<void> | undefined {
    if (!this.owed || this.wal === null) return undefined;
    this.owed = false;
    return this.wal.sync();
  }

  close(): Promise<void> {
    return this.wal?.close() ?? Promise.resolve();
  }
}

type Statement = SqliteDatabase.Statement<unknown[]>;

/**
 * Kysely prepares every statement anew; better-sqlite3 statements can be reused, and the hot paths
 * run the same few SQL texts all the time. The cache is bounded in case SQL is ever built with
 * varying shapes (IN lists of different lengths, multi-row inserts). Every statement also tells
 * `durability` when the database has left a transaction that wrote (COMMIT, or a write outside any
 * transaction): that commit is owed an fsync.
 */
function withStatementCache(database: SqliteDatabase.Database, durability: Durability, limit = 500): SqliteDialectConfig['database'] {
  const cache = new Map<string, object>();
  let wrote = false;
  const ran = (statement: Statement) => {
    // COMMIT itself counts as read-only; what it commits was written by the statements before it.
    if (!statement.readonly) wrote = true;
    if (wrote && !database.inTransaction) {
      wrote = false;
      durability.committed();
    }
  };
  const wrap = (statement: Statement) => ({
    reader: statement.reader,
    all(parameters: unknown[]) {
      try {
        return statement.all(parameters);
      } finally {
        ran(statement);
      }
    },
    run(parameters: unknown[]) {
      try {
        return statement.run(parameters);
      } finally {
        ran(statement);
      }
    },
    iterate: (parameters: unknown[]) => statement.iterate(parameters),
  });
  return {
    close: () => database.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (!statement) {
        if (cache.size >= limit) cache.delete(cache.keys().next().value!);
        statement = wrap(database.prepare(text));
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
  const wal = file !== ':memory:' && database.pragma('journal_mode = WAL', { simple: true }) === 'wal';
  // With a WAL, a commit does not fsync on the event loop (NORMAL): the WAL file is fsync'd on the
  // thread pool after the commit, and the writers are answered only after that (see wal-sync.ts).
  // Checkpoints still fsync both files. Without one, every commit is fsync'd as it happens (FULL).
  database.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('temp_store = MEMORY');
  database.pragma('cache_size = -32000');
  let durability = new Durability(null);
  if (wal) {
    // Checkpoints run on a thread of their own (checkpointer.ts); this connection checkpoints only
    // if that thread falls far behind (SQLite's default is every 1,000 pages).
    database.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    durability = new Durability(new WalSync(path.resolve(file)), new Checkpointer(path.resolve(file)));
  }
  const settings = { database: withStatementCache(database, durability) };
  return {
    name: 'sqlite',
    db: new Kysely<Database>({ dialect: new ImmediateSqliteDialect(settings, durability), ...(log && { log }) }),
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

/** PostgreSQL's answers that mean "too busy now", as opposed to a mistake in the request. */
const OVERLOAD_CODES: Record<string, string> = {
  // statement_timeout cancelled the statement (a lock wait included).
  '57014': 'a database statement took longer than DATABASE_STATEMENT_TIMEOUT_MS',
  '53300': 'the database has no free connection',
  '57P03': 'the database is starting up or shutting down',
};

/** pg-pool's error when no pooled connection came free within connectionTimeoutMillis. */
const ACQUIRE_TIMEOUT = /timeout exceeded when trying to connect/i;

/** The overload an error from pg stands for, or the error itself. */
function postgresOverload(error: unknown): unknown {
  const code = codeOf(error);
  if (typeof code === 'string' && OVERLOAD_CODES[code]) return new OverloadedError(OVERLOAD_CODES[code]);
  if (error instanceof Error && ACQUIRE_TIMEOUT.test(error.message)) {
    return new OverloadedError('no database connection came free within DATABASE_ACQUIRE_TIMEOUT_MS');
  }
  return error;
}

type PoolClient = pg.PoolClient;

/**
 * The pool as Kysely sees it: waiting for a connection and running a statement both fail as
 * OverloadedError (503 with Retry-After) when the limits are reached, instead of hanging.
 */
function sheddingPool(pool: pg.Pool) {
  // One wrapper per pooled connection, made once, so that Kysely keeps one connection object each.
  const wrappers = new WeakMap<PoolClient, object>();
  const wrap = (client: PoolClient) => ({
    query(...args: unknown[]) {
      const result = (client.query as (...a: unknown[]) => unknown)(...args);
      return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(postgresOverload(error))) : result;
    },
    release: (error?: Error | boolean) => client.release(error),
  });
  return {
    async connect() {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw postgresOverload(error);
      }
      let wrapper = wrappers.get(client);
      if (!wrapper) wrappers.set(client, (wrapper = wrap(client)));
      return wrapper;
    },
    end: () => pool.end(),
  };
}

function openPostgres(url: string, poolSize: number, acquireTimeoutMs: number, statementTimeoutMs: number, log?: Logger): Dialect {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Waiting for a free connection (or for a new one to connect) ends after this time.
    connectionTimeoutMillis: acquireTimeoutMs,
    // Set on every connection the pool opens; the server cancels a statement that runs longer.
    ...(statementTimeoutMs > 0 && { statement_timeout: statementTimeoutMs }),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its connection emits 'error'; the pool replaces it on next use.
  pool.on('error', () => {});
  return {
    name: 'postgres',
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: sheddingPool(pool) as never }), ...(log && { log }) }),
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
  if (config.kind === 'sqlite') return openSqlite(config.file, log);
  const { acquireTimeoutMs = DEFAULT_DATABASE_LIMITS.acquireTimeoutMs, statementTimeoutMs = DEFAULT_DATABASE_LIMITS.statementTimeoutMs } = config;
  return openPostgres(config.url, config.poolSize, acquireTimeoutMs, statementTimeoutMs, log);
}
