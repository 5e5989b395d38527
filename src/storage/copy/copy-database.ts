import fs from 'node:fs';
import path from 'node:path';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { DatabaseConfig } from '../../config.js';
import { type Dialect, openDialect } from '../dialect.js';
import { KyselyStore } from '../kysely-store.js';
import { migrateToLatest } from '../migrations.js';
import { MIGRATION_TABLES, readCatalogue, type TableShape } from './catalogue.js';
import { type CopyRow, type CopyValue, normalise } from './digest.js';

/** SQLite refuses statements with more bound values than this. */
const SQLITE_MAX_PARAMETERS = 32_766;
/** Rows per SQLite insert statement: enough to amortise the statement, few enough to keep it cacheable. */
const SQLITE_ROWS_PER_STATEMENT = 500;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * One end of a copy, source or target: reads and writes whole tables by primary key, whatever
 * they hold, without knowing what the rows mean. Every statement names its table from the
 * database's own catalogue.
 */
export class CopyDatabase {
  private readonly statements = new Map<string, string>();

  private constructor(
    readonly config: DatabaseConfig,
    private readonly dialect: Dialect,
  ) {}

  /** Opens the database (a SQLite file is created if missing) with no statement timeout. */
  static open(config: DatabaseConfig): CopyDatabase {
    const settings: DatabaseConfig = config.kind === 'postgres' ? { ...config, poolSize: 2, statementTimeoutMs: 0 } : config;
    return new CopyDatabase(config, openDialect(settings));
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.dialect.name;
  }

  private get db(): Kysely<any> {
    return this.dialect.db;
  }

  /** Text that is equal for two connections to the same database (on PostgreSQL, the same schema). */
  async identity(): Promise<string> {
    if (this.config.kind === 'sqlite') return `sqlite:${sqliteFileIdentity(this.config.file)}`;
    const { rows } = await sql<{ database: string; schema: string; server: string | null }>`
      select current_database() as database, current_schema() as schema,
             inet_server_addr()::text || ':' || inet_server_port()::text as server`.execute(this.db);
    const where = rows[0]!;
    let server = where.server ?? 'local';
    try {
      // The cluster's own identity, when the role may read it: the same server under another address.
      const { rows: system } = await sql<{ id: string }>`select system_identifier::text as id from pg_control_system()`.execute(this.db);
      server = system[0]!.id;
    } catch {
      // Without it, the address the server answered on has to do.
    }
    return `postgres:${server}/${where.database}/${where.schema}`;
  }

  /** The names of the migrations applied to this database, in order; null when it has no Crosswalk schema. */
  async appliedMigrations(): Promise<string[] | null> {
    const tables = await this.catalogue();
    if (!tables.some((t) => t.name === 'kysely_migration')) return null;
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(this.db);
    return rows.map((row) => row.name);
  }

  /** Every table of the database except Kysely's bookkeeping. */
  async tables(): Promise<TableShape[]> {
    return (await this.catalogue()).filter((t) => !MIGRATION_TABLES.includes(t.name));
  }

  private catalogue(): Promise<TableShape[]> {
    return readCatalogue(this.db, this.kind);
  }

  async countRows(table: TableShape): Promise<number> {
    const { rows } = await this.db.executeQuery<{ n: number | string }>(CompiledQuery.raw(`select count(*) as n from ${quote(table.name)}`, []));
    return Number(rows[0]!.n);
  }

  /** Up to `limit` rows in primary-key order after the key `after` (from the start when null). */
  async readPage(table: TableShape, after: readonly CopyValue[] | null, limit: number): Promise<CopyRow[]> {
    const text = this.statement(`read:${table.name}:${after === null}`, () => this.readText(table, after === null));
    const parameters = after === null ? [limit] : [...after, limit];
    const { rows } = await this.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, parameters));
    return rows.map((row) => table.columns.map((column) => normalise(row[column.name], column)));
  }

  private readText(table: TableShape, fromStart: boolean): string {
    const columns = table.columns.map((c) => quote(c.name)).join(', ');
    const key = table.key.map(quote).join(', ');
    const place = (i: number) => (this.kind === 'sqlite' ? '?' : `$${i}`);
    const where = fromStart ? '' : ` where (${key}) > (${table.key.map((_, i) => place(i + 1)).join(', ')})`;
    return `select ${columns} from ${quote(table.name)}${where} order by ${key} limit ${place(fromStart ? 1 : table.key.length + 1)}`;
  }

  /** The primary key of a row read from the table. */
  keyOf(table: TableShape, row: CopyRow): CopyValue[] {
    return table.key.map((name) => row[table.columns.findIndex((c) => c.name === name)]!);
  }

  /**
   * Writes the rows, with values given for generated columns too, in one transaction that commits
   * only once `after` (the previous page's) has: pages may be written at the same time on
   * PostgreSQL, yet they commit in order, so that the target always holds a prefix of the source.
   */
  async insertPage(table: TableShape, rows: readonly CopyRow[], after: Promise<unknown> = Promise.resolve()): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (this.kind === 'postgres') {
        // One statement whatever the number of rows: a parameter per column, each an array.
        const text = this.statement(`insert:${table.name}`, () => this.postgresInsertText(table));
        await trx.executeQuery(CompiledQuery.raw(text, table.columns.map((_, i) => rows.map((row) => row[i]))));
      } else {
        const perStatement = Math.max(1, Math.min(SQLITE_ROWS_PER_STATEMENT, Math.floor(SQLITE_MAX_PARAMETERS / table.columns.length)));
        for (let from = 0; from < rows.length; from += perStatement) {
          const chunk = rows.slice(from, from + perStatement);
          const text = this.statement(`insert:${table.name}:${chunk.length}`, () => this.sqliteInsertText(table, chunk.length));
          await trx.executeQuery(CompiledQuery.raw(text, chunk.flat()));
        }
      }
      await after;
    });
  }

  private postgresInsertText(table: TableShape): string {
    const columns = table.columns.map((c) => quote(c.name)).join(', ');
    const arrays = table.columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
    const overriding = table.columns.some((c) => c.generated) ? ' overriding system value' : '';
    return `insert into ${quote(table.name)} (${columns})${overriding} select * from unnest(${arrays})`;
  }

  private sqliteInsertText(table: TableShape, rowCount: number): string {
    const columns = table.columns.map((c) => quote(c.name)).join(', ');
    const row = `(${table.columns.map(() => '?').join(', ')})`;
    return `insert into ${quote(table.name)} (${columns}) values ${Array.from({ length: rowCount }, () => row).join(', ')}`;
  }

  /**
   * After rows were written with their generated values, makes the database's own numbering
   * continue past the largest (PostgreSQL's identity sequences; SQLite's rowid does so by itself).
   */
  async restartNumbering(table: TableShape): Promise<void> {
    if (this.kind !== 'postgres') return;
    for (const column of table.columns.filter((c) => c.generated)) {
      const name = quote(column.name);
      await this.db.executeQuery(
        CompiledQuery.raw(`select setval(pg_get_serial_sequence($1, $2), coalesce((select max(${name}) from ${quote(table.name)}), 0) + 1, false)`, [
          quote(table.name),
          column.name,
        ]),
      );
    }
  }

  /** Brings the schema up to date exactly as the server does at start. */
  async migrate(): Promise<void> {
    const store = KyselyStore.open(this.config);
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
  }

  close(): Promise<void> {
    return this.db.destroy();
  }

  private statement(key: string, build: () => string): string {
    let text = this.statements.get(key);
    if (text === undefined) this.statements.set(key, (text = build()));
    return text;
  }
}

/** The file a SQLite path names, through links, whether or not it exists yet. */
export function sqliteFileIdentity(file: string): string {
  const resolved = path.resolve(file);
  try {
    return fs.realpathSync(resolved);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(resolved)), path.basename(resolved));
    } catch {
      return resolved;
    }
  }
}

/** The migrations this version knows, in order: those that migrating an empty database applies. */
export async function knownMigrations(): Promise<string[]> {
  const dialect = openDialect({ kind: 'sqlite', file: ':memory:' });
  try {
    await migrateToLatest(dialect.db, 'sqlite');
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(dialect.db);
    return rows.map((row) => row.name);
  } finally {
    await dialect.db.destroy();
  }
}
