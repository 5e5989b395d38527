import { type Command, Option } from 'commander';
import { ConfigError, type DatabaseConfig, parseDatabaseUrl } from '../config.js';
import { type CopyListener, type CopyResult, CopyRefusedError, CopyStoppedError, copyDatabase } from '../services/database-copy.js';
import { DataCommandError } from './import.js';
import { printTable } from './output.js';
import { formatCount, Progress } from './progress.js';

export const COPY_PAGE_SIZE = 5000;

function databaseOption(option: string, raw: string): DatabaseConfig {
  try {
    return parseDatabaseUrl(raw);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new DataCommandError(`${option} must be sqlite:<file> or postgres://… (or postgresql://…), got "${raw}"`);
  }
}

function wholeNumber(option: string, min: number, max: number) {
  return (value: string) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) throw new DataCommandError(`${option} must be a number from ${min} to ${max}, got "${value}"`);
    return number;
  };
}

/** Progress on standard error: redrawn per page on a terminal, and one line per table always. */
function progressReport(): CopyListener & { summary(copied: number): string } {
  let progress: Progress | undefined;
  let before = 0;
  const started = performance.now();
  let checkStarted: number | undefined;
  return {
    checking() {
      checkStarted ??= performance.now();
    },
    summary(copied) {
      const now = performance.now();
      const copying = ((checkStarted ?? now) - started) / 1000;
      const rate = copying > 0 ? copied / copying : 0;
      return `copied ${formatCount(copied)} rows in ${copying.toFixed(2)} s (${formatCount(rate)} rows/s); checked in ${((now - (checkStarted ?? now)) / 1000).toFixed(2)} s\n`;
    },
    tableStarted(table, done) {
      before = done;
      progress = new Progress(`copying ${table}`, 'rows');
    },
    pageWritten(_table, done, total) {
      progress?.update(done - before, done, total);
    },
    tableFinished(table, copied, total, seconds) {
      progress?.clear();
      const rate = seconds > 0 ? copied / seconds : 0;
      const earlier = before > 0 ? ` (${formatCount(before)} already in the target)` : '';
      process.stderr.write(`${table}: copied ${formatCount(copied)} of ${formatCount(total)} rows${earlier} in ${seconds.toFixed(2)} s (${formatCount(rate)} rows/s)\n`);
    },
  };
}

function printChecks(result: CopyResult): void {
  printTable(
    ['TABLE', 'SOURCE ROWS', 'TARGET ROWS', 'SOURCE CHECKSUM', 'TARGET CHECKSUM', 'RESULT'],
    result.tables.map((t) => [t.table, String(t.sourceRows), String(t.targetRows), t.sourceChecksum.slice(0, 16), t.targetChecksum.slice(0, 16), t.equal ? 'equal' : 'DIFFERS']),
  );
}

export function registerCopyCommand(program: Command): void {
  program
    .command('copy')
    .description('copy every table of one database into another (SQLite or PostgreSQL), checked table by table')
    .requiredOption('--from <url>', 'the database to copy: sqlite:<file> or postgres://…')
    .requiredOption('--to <url>', 'the database to copy into (migrated first); empty, or holding an interrupted copy of the same source')
    .addOption(new Option('--page-size <rows>', 'rows read and written per transaction').argParser(wholeNumber('--page-size', 1, 50_000)).default(COPY_PAGE_SIZE))
    .addOption(new Option('--stop-after-pages <pages>').argParser(wholeNumber('--stop-after-pages', 1, Number.MAX_SAFE_INTEGER)).hideHelp())
    .addHelpText(
      'after',
      '\nStop the servers that write to the source first. Run the same command again after an interruption: it continues.\n' +
        '\nExamples:\n  crosswalk copy --from sqlite:data/crosswalk.db --to postgres://user@db/crosswalk\n' +
        '  crosswalk copy --from postgres://user@old/crosswalk --to postgres://user@new/crosswalk',
    )
    .action(async (options: { from: string; to: string; pageSize: number; stopAfterPages?: number }) => {
      const from = databaseOption('--from', options.from);
      const to = databaseOption('--to', options.to);
      const report = progressReport();
      let result: CopyResult;
      try {
        result = await copyDatabase(from, to, { pageSize: options.pageSize, ...(options.stopAfterPages !== undefined && { stopAfterPages: options.stopAfterPages }) }, report);
      } catch (error) {
        if (error instanceof CopyRefusedError) throw new DataCommandError(`copy refused: ${error.message}`);
        if (error instanceof CopyStoppedError) throw new DataCommandError(error.message);
        throw error;
      }
      process.stderr.write(report.summary(result.copiedRows));
      printChecks(result);
      const differing = result.tables.filter((t) => !t.equal);
      if (differing.length > 0) throw new DataCommandError(`the target differs from the source in ${differing.length} of ${result.tables.length} tables: ${differing.map((t) => t.table).join(', ')}`);
      console.log(`\ncopied ${formatCount(result.copiedRows)} rows; all ${result.tables.length} tables are equal in rows and checksums`);
    });
}
