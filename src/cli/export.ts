import fs from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { ATTRIBUTE_NAMES } from '../domain/profile.js';
import { type AccessGrant, type TransactionRecord, transactionToWire } from '../domain/revenue.js';
import type { ImportExportService } from '../services/import-export.js';
import type { ExportedProfile } from '../storage/store.js';
import { type DataCommandContext, DataCommandError } from './import.js';
import { Progress, formatCount } from './progress.js';

export const EXPORT_PAGE_SIZE = 1000;

const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());

/** A transaction as the export writes it: as events carry it, plus the stored fields events leave out. */
const transactionLine = (record: TransactionRecord) => ({
  ...transactionToWire(record),
  access_ends_at: iso(record.accessEndsAt),
  created_at: iso(record.createdAt),
  updated_at: iso(record.updatedAt),
});

const grantLine = (grant: AccessGrant) => ({
  access_level_id: grant.accessLevelId,
  starts_at: iso(grant.startsAt),
  expires_at: iso(grant.expiresAt),
  access_ends_at: iso(grant.accessEndsAt),
  granted_at: iso(grant.grantedAt),
});

/**
 * One profile as an NDJSON line, in the shape `crosswalk import` reads: profile_id,
 * customer_user_id, the attributes that are set, custom_attributes, integration_identifiers,
 * installations (every device as its installation_meta object), transactions, access_grants and
 * refund_saver (each left out when empty).
 */
export function exportLine(profile: ExportedProfile): string {
  const line: Record<string, unknown> = { profile_id: profile.profileId };
  if (profile.customerUserId !== null) line.customer_user_id = profile.customerUserId;
  for (const name of ATTRIBUTE_NAMES) {
    const value = profile.attributes[name];
    if (value !== null) line[name] = value;
  }
  if (profile.customAttributes.length > 0) line.custom_attributes = profile.customAttributes;
  if (Object.keys(profile.identifiers).length > 0) line.integration_identifiers = profile.identifiers;
  if (profile.installations.length > 0) line.installations = profile.installations;
  const { transactions, grants } = profile.revenue;
  if (transactions.length > 0) line.transactions = transactions.map(transactionLine);
  if (grants.length > 0) line.access_grants = grants.map(grantLine);
  const settings = profile.refundSaver;
  if (settings !== null) line.refund_saver = { consent: settings.consent, custom_preference: settings.customPreference };
  return JSON.stringify(line);
}

export interface ExportSummary {
  profiles: number;
  seconds: number;
  /** The reader went away (a closed pipe) before the end. */
  closed: boolean;
}

/** Resolves when the stream can take more, or has failed or closed (the caller checks which). */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
    out.on('error', done);
  });
}

const isBrokenPipe = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';

/**
 * Writes the app's profiles to `out`, a page at a time in profile id order (keyset pagination),
 * waiting for the output to drain before reading the next page, so memory holds one page at most.
 */
export async function runExport(
  exporter: ImportExportService,
  appId: string,
  out: Writable,
  options: { pageSize?: number; progress?: Progress } = {},
): Promise<ExportSummary> {
  const pageSize = options.pageSize ?? EXPORT_PAGE_SIZE;
  const progress = options.progress ?? new Progress('exporting', 'profiles');
  let failure: unknown;
  const onError = (error: unknown) => (failure ??= error);
  out.on('error', onError);
  // Knowing the total gives a percentage and an ETA; counting costs a scan, so only for a terminal.
  const total = progress.enabled ? (await exporter.appStats(appId)).profiles : undefined;
  let count = 0;
  let after: string | null = null;
  try {
    for (;;) {
      const page = await exporter.exportPage(appId, after, pageSize);
      if (page.length === 0) break;
      if (failure) break;
      let text = '';
      for (const profile of page) text += `${exportLine(profile)}\n`;
      if (!out.write(text)) await drained(out);
      if (failure) break;
      count += page.length;
      after = page[page.length - 1]!.profileId;
      progress.update(count, count, total);
      if (page.length < pageSize) break;
    }
  } finally {
    // The listener stays: a closed pipe may still report an error after the last write.
    progress.clear();
  }
  if (failure && !isBrokenPipe(failure)) throw failure;
  return { profiles: count, seconds: progress.elapsed(), closed: failure !== undefined };
}

export function formatExportSummary(summary: ExportSummary, destination: string): string {
  const rate = summary.seconds > 0 ? summary.profiles / summary.seconds : 0;
  const what = `${formatCount(summary.profiles)} ${summary.profiles === 1 ? 'profile' : 'profiles'}`;
  if (summary.closed) return 'export stopped early: the output was closed\n';
  return `exported ${what} to ${destination} in ${summary.seconds.toFixed(2)} s (${formatCount(rate)} profiles/s)\n`;
}

export function registerExportCommand(program: Command, context: DataCommandContext): void {
  program
    .command('export')
    .description(`write an app's profiles as NDJSON, in profile id order, ${EXPORT_PAGE_SIZE} at a time (the shape "crosswalk import" reads)`)
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--output <file>', 'write to this file instead of standard output')
    .addHelpText(
      'after',
      '\nEach line: profile_id, customer_user_id, the attributes that are set, custom_attributes,\n' +
        'integration_identifiers, installations (the devices, each as its installation_meta object\n' +
        'with device_id), transactions (each as the transaction.recorded event carries it, plus\n' +
        'access_ends_at, created_at and updated_at), access_grants and refund_saver; each is left out\n' +
        'when empty. Progress (on a terminal) and a summary line go to standard error.\n' +
        '\nExamples:\n  crosswalk export --app my-ios-app > profiles.ndjson\n' +
        '  crosswalk export --app my-ios-app --output /backup/profiles.ndjson\n' +
        '  crosswalk export | crosswalk --database-url postgres://user@db/crosswalk import - --app my-ios-app',
    )
    .action((options: { app?: string; output?: string }) =>
      context.withServices(async (services) => {
        const app = await context.resolveApp(services, options.app);
        if (options.output === undefined) {
          // Progress lines would be mixed into the data on a terminal that shows both.
          const progress = new Progress('exporting', 'profiles', { enabled: process.stderr.isTTY === true && !process.stdout.isTTY });
          const summary = await runExport(services.importExport, app.id, process.stdout, { progress });
          process.stderr.write(formatExportSummary(summary, 'standard output'));
          return;
        }
        const out = fs.createWriteStream(options.output);
        try {
          await once(out, 'open');
        } catch (error) {
          throw new DataCommandError(`cannot write "${options.output}": ${(error as Error).message}`);
        }
        const summary = await runExport(services.importExport, app.id, out).finally(() => out.end());
        await finished(out);
        process.stderr.write(formatExportSummary(summary, options.output));
      }),
    );
}
