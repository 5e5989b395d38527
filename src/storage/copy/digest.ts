import { createHash } from 'node:crypto';
import type { ColumnShape } from './catalogue.js';

/** A stored value as both databases give it back once normalised. */
export type CopyValue = string | number | null;

/** A row as a copy carries it: its values in the order of the table's columns. */
export type CopyRow = CopyValue[];

/**
 * A value in the one form both databases agree on: integers and reals as numbers (PostgreSQL's
 * int8 already arrives as a number, see dialect.ts), text as text, NULL as null.
 */
export function normalise(value: unknown, column: ColumnShape): CopyValue {
  if (value === null || value === undefined) return null;
  if (column.kind === 'text') return typeof value === 'string' ? value : String(value);
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') {
    const number = Number(value);
    if (Number.isFinite(number)) return number;
  }
  throw new Error(`column ${column.name} holds a value that is not a number: ${String(value)}`);
}

/**
 * The row count and checksum of a table: the sum, in eight 32-bit lanes, of the SHA-256 of every
 * row's canonical form (its values as a JSON array). A sum does not depend on the order rows are
 * read in, so PostgreSQL and SQLite agree although they may sort text differently; any changed,
 * missing or extra row changes it.
 */
export class TableDigest {
  private readonly lanes = new Uint32Array(8);
  count = 0;

  add(row: CopyRow): void {
    const hash = createHash('sha256').update(JSON.stringify(row)).digest();
    for (let i = 0; i < 8; i++) this.lanes[i] = (this.lanes[i]! + hash.readUInt32BE(i * 4)) >>> 0;
    this.count++;
  }

  /** The checksum as 64 hex digits. */
  hex(): string {
    return [...this.lanes].map((lane) => lane.toString(16).padStart(8, '0')).join('');
  }
}
