import fs from 'node:fs';
import type { DatabaseConfig } from '../config.js';
import { foreignKeyOrder, type TableShape } from '../storage/copy/catalogue.js';
import { CopyDatabase, knownMigrations, sqliteFileIdentity } from '../storage/copy/copy-database.js';
import { type CopyRow, type CopyValue, TableDigest } from '../storage/copy/digest.js';

/** A copy that would not be lossless or would overwrite something: nothing was written. */
export class CopyRefusedError extends Error {}

/** The copy stopped after the number of pages it was told to (it continues when run again). */
export class CopyStoppedError extends Error {}

export interface CopyOptions {
  /** Rows read, and written in one transaction, at a time. */
  readonly pageSize: number;
  /** Stop after writing this many pages (to rehearse an interrupted copy). */
  readonly stopAfterPages?: number;
}

/** What a copy tells as it goes, for progress reports. */
export interface CopyListener {
  /** A table's copy starts: `done` rows are already in the target (an earlier run), of `total`. */
  tableStarted?(table: string, done: number, total: number): void;
  pageWritten?(table: string, done: number, total: number): void;
  /** `copied` rows were written by this run, in `seconds`. */
  tableFinished?(table: string, copied: number, total: number, seconds: number): void;
  checking?(table: string): void;
}

/** One table of the final check: the row count and checksum on both sides. */
export interface TableCheck {
  readonly table: string;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly sourceChecksum: string;
  readonly targetChecksum: string;
  readonly equal: boolean;
}

export interface CopyResult {
  readonly tables: readonly TableCheck[];
  /** Rows this run wrote. */
  readonly copiedRows: number;
}

const isMemory = (config: DatabaseConfig) => config.kind === 'sqlite' && config.file === ':memory:';

/** Refusals that need no connection: in-memory databases, a missing source file, one file twice. */
function checkConfigs(from: DatabaseConfig, to: DatabaseConfig): void {
  if (isMemory(from) || isMemory(to)) throw new CopyRefusedError('an in-memory SQLite database cannot be copied from or to: name a file');
  if (from.kind === 'sqlite' && !fs.existsSync(from.file)) throw new CopyRefusedError(`the source has no database: there is no file "${from.file}"`);
  if (from.kind === 'sqlite' && to.kind === 'sqlite' && sqliteFileIdentity(from.file) === sqliteFileIdentity(to.file)) {
    throw new CopyRefusedError('the source and the target are the same database');
  }
}

function checkSourceMigrations(applied: string[] | null, known: string[]): void {
  if (applied === null) throw new CopyRefusedError('the source has no Crosswalk schema (it was never migrated)');
  const newer = applied.filter((name) => !known.includes(name));
  if (newer.length > 0) {
    throw new CopyRefusedError(`the source was migrated by a newer version of Crosswalk (${newer.join(', ')}): copy it with that version`);
  }
  const missing = known.filter((name) => !applied.includes(name));
  if (missing.length > 0) {
    throw new CopyRefusedError(`the source's schema is not up to date (${missing.join(', ')} not applied): run "crosswalk migrate" on it first`);
  }
}

/** Reads a table in key order into a digest, `limit` rows at most; answers the last key read. */
async function digestTable(db: CopyDatabase, table: TableShape, pageSize: number, digest: TableDigest, limit = Infinity): Promise<CopyValue[] | null> {
  let after: CopyValue[] | null = null;
  while (digest.count < limit) {
    const rows = await db.readPage(table, after, Math.min(pageSize, limit - digest.count));
    for (const row of rows) digest.add(row);
    if (rows.length === 0) break;
    after = db.keyOf(table, rows.at(-1)!);
  }
  return after;
}

/**
 * Where each table's copy resumes: a target that already holds rows must hold exactly the first
 * rows of the source in the source's key order (what an earlier run wrote, page by page), else
 * the copy is refused. Answers the source key after which each non-empty table continues.
 */
async function resumePoints(source: CopyDatabase, target: CopyDatabase, known: string[], pageSize: number): Promise<Map<string, CopyValue[]>> {
  const points = new Map<string, CopyValue[]>();
  const tables = await target.tables();
  const filled: { table: TableShape; rows: number }[] = [];
  for (const table of tables) {
    const rows = await target.countRows(table);
    if (rows > 0) filled.push({ table, rows });
  }
  if (filled.length === 0) return points;
  const applied = await target.appliedMigrations();
  if (applied === null || applied.join() !== known.join()) {
    throw new CopyRefusedError(`the target already holds data (in table ${filled[0]!.table.name}) from another version of Crosswalk: copy into an empty database`);
  }
  for (const { table, rows } of filled) {
    const [held, copied] = [new TableDigest(), new TableDigest()];
    await digestTable(target, table, pageSize, held);
    const last = await digestTable(source, table, pageSize, copied, rows);
    if (copied.count !== held.count || copied.hex() !== held.hex()) {
      throw new CopyRefusedError(`the target already holds data that differs from the source (in table ${table.name}): copy into an empty database`);
    }
    points.set(table.name, last!);
  }
  return points;
}

/** The tables to copy, in foreign-key order, once both sides are known to have the same ones. */
async function plan(source: CopyDatabase, target: CopyDatabase): Promise<TableShape[]> {
  const shape = (t: TableShape) => `${t.key.join()}|${t.columns.map((c) => `${c.name}:${c.kind}`).sort().join()}`;
  const theirs = new Map((await source.tables()).map((t) => [t.name, t]));
  const ours = await target.tables();
  for (const table of ours) {
    const other = theirs.get(table.name);
    if (!other || shape(other) !== shape(table)) throw new CopyRefusedError(`the table ${table.name} differs between the source and the target`);
    theirs.delete(table.name);
  }
  if (theirs.size > 0) throw new CopyRefusedError(`the source has tables the target does not: ${[...theirs.keys()].join(', ')}`);
  for (const table of ours) if (table.key.length === 0) throw new CopyRefusedError(`the table ${table.name} has no primary key to copy it by`);
  return foreignKeyOrder(ours);
}

class PageBudget {
  private started = 0;
  constructor(private readonly limit: number | undefined) {}
  /** Whether another page may be written. */
  allows(): boolean {
    return this.limit === undefined || this.started < this.limit;
  }
  spend(): void {
    this.started++;
  }
  stopped(): CopyStoppedError {
    return new CopyStoppedError(`stopped after ${this.started} pages as asked: run the same command again to continue`);
  }
}

/**
 * Copies one table from the key `after` on. The next page is read while the last is written, and
 * two pages are written at once (on PostgreSQL, two server processes), committing in order.
 */
async function copyTable(source: CopyDatabase, target: CopyDatabase, table: TableShape, after: CopyValue[] | null, options: CopyOptions, budget: PageBudget, listener: CopyListener): Promise<number> {
  const total = await source.countRows(table);
  let done = await target.countRows(table);
  const started = performance.now();
  let copied = 0;
  listener.tableStarted?.(table.name, done, total);
  let next: Promise<CopyRow[]> | undefined;
  let written: Promise<void> = Promise.resolve();
  try {
    next = source.readPage(table, after, options.pageSize);
    for (;;) {
      const rows = await next;
      next = undefined;
      if (rows.length === 0) break;
      if (!budget.allows()) {
        await written;
        throw budget.stopped();
      }
      budget.spend();
      next = source.readPage(table, source.keyOf(table, rows.at(-1)!), options.pageSize);
      const previous = written;
      written = target.insertPage(table, rows, previous).then(() => {
        done += rows.length;
        copied += rows.length;
        listener.pageWritten?.(table.name, done, total);
      });
      // A failed page is reported by the await below (or the next one), never as unhandled meanwhile.
      written.catch(() => {});
      await previous;
    }
    await written;
  } catch (error) {
    // Nothing is left running: a read or a write still under way ends before the error is told.
    await Promise.allSettled([next, written]);
    throw error;
  }
  await target.restartNumbering(table);
  listener.tableFinished?.(table.name, copied, total, (performance.now() - started) / 1000);
  return copied;
}

async function check(source: CopyDatabase, target: CopyDatabase, tables: readonly TableShape[], pageSize: number, listener: CopyListener): Promise<TableCheck[]> {
  const checks: TableCheck[] = [];
  for (const table of tables) {
    listener.checking?.(table.name);
    const [theirs, ours] = [new TableDigest(), new TableDigest()];
    await Promise.all([digestTable(source, table, pageSize, theirs), digestTable(target, table, pageSize, ours)]);
    const [sourceChecksum, targetChecksum] = [theirs.hex(), ours.hex()];
    checks.push({
      table: table.name,
      sourceRows: theirs.count,
      targetRows: ours.count,
      sourceChecksum,
      targetChecksum,
      equal: theirs.count === ours.count && sourceChecksum === targetChecksum,
    });
  }
  return checks;
}

/**
 * Copies every table of the source database into the target, which is migrated first: row for
 * row, generated numbers included, one transaction per page. Run again after an interruption, it
 * continues where the target stopped. Ends by comparing each table's row count and checksum.
 */
export async function copyDatabase(from: DatabaseConfig, to: DatabaseConfig, options: CopyOptions, listener: CopyListener = {}): Promise<CopyResult> {
  checkConfigs(from, to);
  const source = CopyDatabase.open(from);
  try {
    const known = await knownMigrations();
    checkSourceMigrations(await source.appliedMigrations(), known);
    const target = CopyDatabase.open(to);
    try {
      if ((await source.identity()) === (await target.identity())) throw new CopyRefusedError('the source and the target are the same database');
      const applied = await target.appliedMigrations();
      const newer = (applied ?? []).filter((name) => !known.includes(name));
      if (newer.length > 0) throw new CopyRefusedError(`the target was migrated by a newer version of Crosswalk (${newer.join(', ')})`);
      const points = await resumePoints(source, target, known, options.pageSize);
      await target.migrate();
      const tables = await plan(source, target);
      const budget = new PageBudget(options.stopAfterPages);
      let copiedRows = 0;
      for (const table of tables) copiedRows += await copyTable(source, target, table, points.get(table.name) ?? null, options, budget, listener);
      return { tables: await check(source, target, tables, options.pageSize, listener), copiedRows };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
