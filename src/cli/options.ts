import { ApiError } from '../errors.js';
import type { DeliveryPage } from '../storage/webhook-store.js';
import { DataCommandError } from './import.js';
import { printTable } from './output.js';

/** What the commands that check their options with the API's schemas share. */

/** The options that were given: one left out is not a field at all. */
export const definedOnly = (fields: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

/** An envelope's problems as one line naming the options at fault (`optionOf` maps a field to its option). */
export function optionProblems(error: ApiError, optionOf: (source: string) => string | undefined): DataCommandError {
  const problems = error.items.map((item) => {
    const option = item.source === null ? undefined : optionOf(item.source);
    return option ? `${option}: ${item.errors.join(' ')}` : item.errors.join(' ');
  });
  return new DataCommandError(problems.join('; '));
}

/** Runs a validator and turns its envelope into one line naming the options at fault. */
export function checkOptions<T>(parse: () => T, optionOf: (source: string) => string | undefined): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    throw optionProblems(error, optionOf);
  }
}

export const isoOrEmpty = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

/**
 * Prints a page of deliveries as a table (to webhook endpoints, or with `destinations` to
 * destinations, with their type) and the cursor of the next page.
 */
export function printDeliveries(page: DeliveryPage, destinations = false): void {
  printTable(
    ['ID', 'STATUS', 'EVENT', 'PROFILE', ...(destinations ? ['DESTINATION', 'TYPE'] : ['ENDPOINT']), 'ATTEMPTS', 'LAST CODE', 'NEXT ATTEMPT', 'CREATED', destinations ? 'REASON' : 'LAST ERROR'],
    page.deliveries.map((d) => [
      String(d.id), d.status, d.eventType, d.profileId, d.endpointId, ...(destinations ? [d.destinationType ?? ''] : []), String(d.attempts),
      d.lastStatusCode === null ? '' : String(d.lastStatusCode), isoOrEmpty(d.nextAttemptAt), isoOrEmpty(d.createdAt), d.lastError ?? '',
    ]),
  );
  if (page.next !== null) console.log(`\nmore: --cursor ${page.next}`);
}
