import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ColumnShape, foreignKeyOrder, type TableShape } from '../../src/storage/copy/catalogue.js';
import { normalise, TableDigest } from '../../src/storage/copy/digest.js';

/** The pieces of `crosswalk copy` that need no database: checksums, value forms, table order. */

const column = (name: string, kind: ColumnShape['kind']): ColumnShape => ({ name, kind, type: kind, generated: false });
const table = (name: string, references: string[] = []): TableShape => ({ name, columns: [column('id', 'text')], key: ['id'], references });

const digestOf = (rows: (string | number | null)[][]) => {
  const digest = new TableDigest();
  for (const row of rows) digest.add(row);
  return { count: digest.count, hex: digest.hex() };
};

describe('copy checksums', () => {
  test('the same rows in any order give the same checksum; any change gives another', () => {
    const rows = [['a', 1, null], ['b', 2.5, 'x'], ['c', 1_700_000_000_000, '{"k":"v"}']];
    const base = digestOf(rows);
    assert.equal(base.count, 3);
    assert.match(base.hex, /^[0-9a-f]{64}$/);
    assert.deepEqual(digestOf([rows[2]!, rows[0]!, rows[1]!]), base);
    assert.notEqual(digestOf([['a', 1, ''], rows[1]!, rows[2]!]).hex, base.hex, 'NULL and empty text differ');
    assert.notEqual(digestOf([['a', '1', null], rows[1]!, rows[2]!]).hex, base.hex, 'a number and its text differ');
    assert.notEqual(digestOf(rows.slice(0, 2)).hex, base.hex);
    assert.equal(new TableDigest().hex(), '0'.repeat(64));
  });

  test('values take one form on both databases', () => {
    assert.equal(normalise('1700000000000', column('created_at', 'integer')), 1_700_000_000_000);
    assert.equal(normalise(3n, column('attempts', 'integer')), 3);
    assert.equal(normalise(1.0837, column('usd_per_unit', 'real')), 1.0837);
    assert.equal(normalise(12, column('value', 'text')), '12');
    assert.equal(normalise(undefined, column('value', 'text')), null);
    assert.throws(() => normalise('soon', column('created_at', 'integer')), /column created_at holds a value that is not a number: soon/);
  });
});

describe('copy table order', () => {
  test('every table comes after those its foreign keys point to', () => {
    const order = foreignKeyOrder([table('integration_identifiers', ['profiles']), table('profiles'), table('api_keys', ['apps']), table('apps'), table('audit_log')]);
    assert.deepEqual(order.map((t) => t.name), ['apps', 'audit_log', 'profiles', 'api_keys', 'integration_identifiers']);
  });

  test('a cycle of foreign keys is named', () => {
    assert.throws(() => foreignKeyOrder([table('a', ['b']), table('b', ['a'])]), /^Error: the foreign keys of a, b form a cycle$/);
  });
});
