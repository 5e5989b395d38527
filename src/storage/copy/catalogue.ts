import { type Kysely, sql } from 'kysely';

/** How a column's values are carried: the three kinds the migrations use. */
export type ColumnKind = 'integer' | 'real' | 'text';

export interface ColumnShape {
  readonly name: string;
  readonly kind: ColumnKind;
  /** The type as the database names it (`bigint`, `double precision`): the cast of a PostgreSQL array. */
  readonly type: string;
  /** A value the database assigns (an identity column on PostgreSQL, the rowid alias on SQLite). */
  readonly generated: boolean;
}

/** A table as the database's catalogue describes it. */
export interface TableShape {
  readonly name: string;
  /** In the table's order. */
  readonly columns: readonly ColumnShape[];
  /** The primary key's columns, in the key's order: the order rows are read in. */
  readonly key: readonly string[];
  /** Tables this one's foreign keys point to. */
  readonly references: readonly string[];
}

/** Kysely's own bookkeeping: the target gets it from migrating, never from a copy. */
export const MIGRATION_TABLES: readonly string[] = ['kysely_migration', 'kysely_migration_lock'];

function kindOf(type: string): ColumnKind {
  const lower = type.toLowerCase();
  if (/int/.test(lower)) return 'integer';
  if (/real|double|float|numeric/.test(lower)) return 'real';
  return 'text';
}

interface SqliteColumn {
  name: string;
  type: string;
  pk: number;
}

async function sqliteTables(db: Kysely<any>): Promise<TableShape[]> {
  const { rows: tables } = await sql<{ name: string }>`
    select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name`.execute(db);
  const shapes: TableShape[] = [];
  for (const { name } of tables) {
    const { rows: columns } = await sql<SqliteColumn>`select name, type, pk from pragma_table_info(${name}) order by cid`.execute(db);
    const { rows: foreign } = await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${name})`.execute(db);
    const key = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    shapes.push({
      name,
      // An `integer primary key` is the rowid: the database numbers it when a row does not.
      columns: columns.map((c) => ({ name: c.name, kind: kindOf(c.type), type: c.type.toLowerCase(), generated: key.length === 1 && c.pk === 1 && c.type.toLowerCase() === 'integer' })),
      key,
      references: [...new Set(foreign.map((f) => f.table))],
    });
  }
  return shapes;
}

interface PostgresColumn {
  table: string;
  name: string;
  type: string;
  generated: boolean;
}

async function postgresTables(db: Kysely<any>): Promise<TableShape[]> {
  const { rows: columns } = await sql<PostgresColumn>`
    select c.relname as "table", a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attidentity <> '' as generated
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where n.nspname = current_schema() and c.relkind in ('r', 'p')
    order by c.relname, a.attnum`.execute(db);
  const { rows: keys } = await sql<{ table: string; name: string }>`
    select c.relname as "table", a.attname as name
    from pg_constraint k
    join pg_class c on c.oid = k.conrelid
    join pg_namespace n on n.oid = c.relnamespace
    cross join lateral unnest(k.conkey) with ordinality as u(attnum, position)
    join pg_attribute a on a.attrelid = c.oid and a.attnum = u.attnum
    where n.nspname = current_schema() and k.contype = 'p'
    order by c.relname, u.position`.execute(db);
  const { rows: foreign } = await sql<{ table: string; references: string }>`
    select c.relname as "table", r.relname as "references"
    from pg_constraint k
    join pg_class c on c.oid = k.conrelid
    join pg_class r on r.oid = k.confrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and k.contype = 'f'`.execute(db);
  const names = [...new Set(columns.map((c) => c.table))];
  return names.map((name) => ({
    name,
    columns: columns.filter((c) => c.table === name).map((c) => ({ name: c.name, kind: kindOf(c.type), type: c.type, generated: c.generated })),
    key: keys.filter((k) => k.table === name).map((k) => k.name),
    references: [...new Set(foreign.filter((f) => f.table === name).map((f) => f.references))],
  }));
}

/** Every table of the database (on PostgreSQL, of the connection's schema), Kysely's own included. */
export function readCatalogue(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<TableShape[]> {
  return dialect === 'sqlite' ? sqliteTables(db) : postgresTables(db);
}

/**
 * The tables in an order in which every table comes after those its foreign keys point to (by name
 * among tables that are free to go), so that each is complete before a row can refer to it.
 */
export function foreignKeyOrder(tables: readonly TableShape[]): TableShape[] {
  const left = new Map(tables.map((t) => [t.name, t]));
  const ordered: TableShape[] = [];
  while (left.size > 0) {
    const ready = [...left.values()]
      .filter((t) => t.references.every((r) => r === t.name || !left.has(r)))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    if (ready.length === 0) throw new Error(`the foreign keys of ${[...left.keys()].join(', ')} form a cycle`);
    for (const table of ready) {
      ordered.push(table);
      left.delete(table.name);
    }
  }
  return ordered;
}
