import type { Command } from 'commander';
import { IDENTIFIER_KEYS } from '../domain/identifiers.js';
import type { ImportExportService } from '../services/import-export.js';
import type { RevenueService, RevenueStats } from '../services/revenue.js';
import type { App, AppStats, DatabaseSize } from '../storage/store.js';
import type { DataCommandContext } from './import.js';
import { formatBytes, formatCount } from './progress.js';

export interface StatsReport extends AppStats {
  app: { id: string; name: string };
  revenue: RevenueStats;
  database: DatabaseSize & { method: string };
}

/** How the size was measured, in words. */
export function sizeMethod(size: DatabaseSize): string {
  return size.dialect === 'sqlite'
    ? 'SQLite: page_count * page_size of the main file, plus the size of its WAL file'
    : `PostgreSQL: sum of pg_total_relation_size (tables with their indexes and TOAST) over the tables of schema "${size.schema}"`;
}

export async function collectStats(data: ImportExportService, revenue: RevenueService, app: App): Promise<StatsReport> {
  const [stats, size, money] = await Promise.all([data.appStats(app.id), data.databaseSize(), revenue.stats(app.id)]);
  return { app: { id: app.id, name: app.name }, ...stats, revenue: money, database: { ...size, method: sizeMethod(size) } };
}

function revenueLines(revenue: RevenueStats): string[] {
  const count = revenue.transactions.reduce((sum, row) => sum + row.count, 0);
  const lines = [
    `transactions ${formatCount(count)}; grants ${formatCount(revenue.grants)}; revenue ${revenue.revenueUsd.toFixed(2)} USD (production, not refunded)`,
  ];
  for (const row of revenue.transactions) {
    lines.push(
      `  ${row.store} ${row.environment}: ${formatCount(row.count)} (${formatCount(row.refunded)} refunded), ${(Math.round(row.revenueUsd * 100) / 100).toFixed(2)} USD`,
    );
  }
  return lines;
}

export function formatStats(report: StatsReport): string {
  const { database: size } = report;
  let where: string;
  if (size.dialect === 'sqlite') {
    where = `${size.file}: main file ${formatCount(size.mainFileBytes)} bytes (page_count * page_size) + WAL ${formatCount(size.walBytes)} bytes`;
  } else {
    where = `tables of schema "${size.schema}", with their indexes and TOAST (sum of pg_total_relation_size)`;
  }
  const width = Math.max(...IDENTIFIER_KEYS.map((key) => key.length));
  const lines = [
    `app          ${report.app.name} (${report.app.id})`,
    `profiles     ${formatCount(report.profiles)}`,
    `api keys     ${formatCount(report.apiKeys.active)} active, ${formatCount(report.apiKeys.revoked)} revoked`,
    `database     ${formatBytes(size.bytes)} (${formatCount(size.bytes)} bytes) — ${where}`,
    ...revenueLines(report.revenue),
    'identifiers',
    ...IDENTIFIER_KEYS.map((key) => `  ${key.padEnd(width)}  ${formatCount(report.identifiers[key]).padStart(12)}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function registerStatsCommand(program: Command, context: DataCommandContext): void {
  program
    .command('stats')
    .description("count an app's profiles, identifiers per key, API keys, transactions and revenue, and measure the database")
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nThe database size is page_count * page_size of the file plus its WAL file on SQLite, and the\n' +
        'sum of pg_total_relation_size over the tables of the current schema on PostgreSQL.\n' +
        '\nExamples:\n  crosswalk stats\n  crosswalk stats --app my-ios-app --json',
    )
    .action((options: { app?: string; json?: boolean }) =>
      context.withServices(async (services) => {
        const report = await collectStats(services.importExport, services.revenue, await context.resolveApp(services, options.app));
        process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatStats(report));
      }),
    );
}
