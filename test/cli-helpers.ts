import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { TestDatabase } from './helpers.js';
import { runCliProcess } from './process-helpers.js';

/** What the tests of the data commands (import, export) share: the CLI on a test database, NDJSON files, the import's summary. */

/** The `--database-url` of a test database. */
export const urlOf = (database: TestDatabase) => (database.config.kind === 'sqlite' ? `sqlite:${database.config.file}` : database.config.url);

/** Runs `crosswalk <args>` as its own process on the database. */
export const cliOn = (database: TestDatabase, ...args: string[]) => runCliProcess(['--database-url', urlOf(database), ...args]);

/** Values as NDJSON text, one per line. */
export const ndjson = (values: unknown[]) => values.map((value) => `${JSON.stringify(value)}\n`).join('');

/** The objects of an NDJSON file (an export, a rejects file). */
export const readLines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const SUMMARY = /^read ([\d,]+) (lines|records): ([\d,]+) imported, ([\d,]+) rejected, in \d+\.\d\d s \([\d,]+ \2\/s\)$/m;

/** The counts of the summary line `crosswalk import` prints. */
export function summaryOf(stdout: string) {
  const match = SUMMARY.exec(stdout);
  assert.ok(match, `no summary line in: ${stdout}`);
  const count = (text: string) => Number(text.replaceAll(',', ''));
  return { read: count(match[1]!), imported: count(match[3]!), rejected: count(match[4]!) };
}
