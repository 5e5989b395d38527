import type { Command } from 'commander';
import { CLI_ACTOR } from '../domain/audit.js';
import { DESTINATION_EVENT_TYPES, DESTINATION_TYPE_NAMES, EVENT_NAME_KINDS } from '../domain/destinations.js';
import { DESTINATION_DELIVERY_STATUSES } from '../domain/webhooks.js';
import { parsePositiveInteger } from '../domain/webhook-input.js';
import { DESTINATION_TYPES } from '../destinations/index.js';
import { ApiError, EndpointLimitError } from '../errors.js';
import { compile, parse } from '../schemas/validate.js';
import { destinationDeliveriesQuery, newDestinationBody, toDestinationDeliveryQuery } from '../schemas/destinations.js';
import type { DestinationView } from '../services/destinations.js';
import type { Delivery } from '../storage/webhook-store.js';
import { DataCommandError, type DataCommandContext } from './import.js';
import { printTable } from './output.js';
import { checkOptions, definedOnly, isoOrEmpty, optionProblems, printDeliveries } from './options.js';


/** The option that carries each field the shared validators (and the service) name. */
const OPTION_OF: Record<string, string> = {
  type: '--type',
  config: '--config',
  base_url: '--base-url',
  events: '--events',
  event_names: '--event-name',
  include_sandbox: '--include-sandbox',
  status: '--status',
  destination_id: '--destination',
  profile_id: '--profile',
  limit: '--limit',
  cursor: '--cursor',
};

/** `config.api_key` is `--config api_key`, `event_names.purchase` is `--event-name purchase`. */
function optionOf(source: string): string | undefined {
  const dot = source.indexOf('.');
  if (dot === -1) return OPTION_OF[source];
  const option = OPTION_OF[source.slice(0, dot)];
  return option && `${option} ${source.slice(dot + 1)}`;
}

// The API's own schemas: the options are checked as the same fields of a request would be.
const checkNewDestination = compile(newDestinationBody);
// Option values are text, like a query string's, and are read the same way.
const checkDeliveriesQuery = compile(destinationDeliveriesQuery, { coerce: true });

/** Runs a validator and turns its envelope into one line naming the options at fault. */
const check = <T>(parse: () => T): T => checkOptions(parse, optionOf);

/** Collects each use of a repeatable option. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * `name=value` options (split at the first `=`, so a value may hold more) as an object; a pair
 * without `=` or a name given twice is a problem of `option`.
 */
function pairs(option: string, values: string[], problems: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const text of values) {
    const equals = text.indexOf('=');
    if (equals <= 0) {
      problems.push(`${option}: Expected name=value, got ${JSON.stringify(text)}.`);
      continue;
    }
    const name = text.slice(0, equals);
    if (Object.hasOwn(result, name)) problems.push(`${option} ${name}: Given more than once.`);
    else result[name] = text.slice(equals + 1);
  }
  return result;
}

/** What each type takes, for `add --help`: from the types themselves. */
function typesHelp(): string {
  const lines = [...DESTINATION_TYPES.values()].map((type) => {
    const fields = type.config.map((field) => `${field.name}${field.required ? '' : ' (optional)'}`).join(', ');
    return `  ${type.type.padEnd(10)} --config ${fields}; events: ${type.eventTypes.join(', ')}`;
  });
  return `\nTypes and their config fields (docs/destinations/<type>.md):\n${lines.join('\n')}`;
}

/** A config as `name=value` pairs. */
const configText = (config: Record<string, string>, separator: string) =>
  Object.entries(config)
    .map(([name, value]) => `${name}=${value}`)
    .join(separator);

/** A delivery in the words of destinations (the API's `destination_id`, `destination_type` and `reason`). */
function deliveryView(delivery: Delivery) {
  return {
    id: delivery.id,
    appId: delivery.appId,
    destinationId: delivery.endpointId,
    destinationType: delivery.destinationType ?? null,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    profileId: delivery.profileId,
    status: delivery.status,
    attempts: delivery.attempts,
    nextAttemptAt: delivery.nextAttemptAt,
    lastAttemptAt: delivery.lastAttemptAt,
    lastStatusCode: delivery.lastStatusCode,
    reason: delivery.lastError,
    createdAt: delivery.createdAt,
    completedAt: delivery.completedAt,
  };
}

function printAdded(created: DestinationView, appName: string): void {
  console.log(`added destination ${created.id} for app "${appName}": ${created.type} at ${created.baseUrl}`);
  console.log(`events: ${created.eventTypes.join(', ')}`);
  console.log(`event names: ${configText(created.eventNames, ', ') || '(none: a kind without a name is not sent)'}`);
  console.log(`sandbox transactions: ${created.includeSandbox ? 'sent' : 'not sent'}`);
  const lines = Object.entries(created.config).map(([name, value]) => `    ${name}=${value}`);
  process.stdout.write(`\nConfig, credentials included (shown only now; "list" shows them as hints):\n\n${lines.join('\n')}\n\n`);
}

/** `crosswalk destinations …`: the tools revenue is sent to, and their deliveries, straight on the database. */
export function registerDestinationsCommand(program: Command, data: DataCommandContext): void {
  const destinations = program
    .command('destinations')
    .description('manage the tools revenue is sent to and see their deliveries (see docs/destinations/)');

  destinations
    .command('add')
    .description("send the app's revenue events to a tool; prints its credentials once")
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .requiredOption('--type <type>', `the tool: ${DESTINATION_TYPE_NAMES.join(', ')}`)
    .option('--config <name=value>', "one of the tool's config fields (repeat for each)", collect)
    .option('--base-url <url>', "where requests go (default: the tool's ingestion host)")
    .option('--events <types>', `comma-separated event types (default: transaction.recorded): ${DESTINATION_EVENT_TYPES.join(', ')}`)
    .option('--event-name <kind=name>', `an event name (Adjust: event token) over the type's default, by kind: ${EVENT_NAME_KINDS.join(', ')} (repeatable)`, collect)
    .option('--include-sandbox', 'send sandbox transactions too')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `${typesHelp()}\n` +
        '\nExamples:\n  crosswalk destinations add --app my-ios-app --type amplitude --config api_key=$AMPLITUDE_API_KEY\n' +
        '  crosswalk destinations add --type mixpanel --config project_token=$MIXPANEL_TOKEN --events transaction.recorded,access_level.updated\n' +
        '  crosswalk destinations add --type adjust --config app_token=$ADJUST_APP_TOKEN --event-name purchase=abc123 --event-name renewal=def456\n' +
        '  WEBHOOK_ALLOW_PRIVATE_NETWORKS=true crosswalk destinations add --type amplitude --config api_key=test --base-url http://127.0.0.1:4000   (local development)\n' +
        '\nA --base-url must point to a public address unless WEBHOOK_ALLOWED_NETWORKS or\n' +
        'WEBHOOK_ALLOW_PRIVATE_NETWORKS allow otherwise (see docs/webhooks.md, "Target safety").',
    )
    .action(
      (options: { app?: string; type: string; config?: string[]; baseUrl?: string; events?: string; eventName?: string[]; includeSandbox?: boolean; json?: boolean }) =>
        data.withServices(async (services) => {
          const problems: string[] = [];
          const config = pairs('--config', options.config ?? [], problems);
          const eventNames = options.eventName && pairs('--event-name', options.eventName, problems);
          if (problems.length > 0) throw new DataCommandError(problems.join('; '));
          const input = check(() =>
            parse(checkNewDestination, {
              type: options.type,
              config,
              ...(options.baseUrl !== undefined && { base_url: options.baseUrl }),
              ...(options.events !== undefined && { events: options.events.split(',').map((type) => type.trim()).filter((type) => type !== '') }),
              ...(eventNames && { event_names: eventNames }),
              ...(options.includeSandbox && { include_sandbox: true }),
            }),
          );
          const app = await data.resolveApp(services, options.app);
          const created = await services.destinations.addDestination(app.id, input, CLI_ACTOR).catch((error: unknown) => {
            if (error instanceof EndpointLimitError) throw new DataCommandError(`${error.message}; remove one first`);
            // What the service checks against the type and the network policy: worded on the options.
            throw error instanceof ApiError ? optionProblems(error, optionOf) : error;
          });
          if (options.json) return console.log(JSON.stringify(created));
          printAdded(created, app.name);
        }),
    );

  destinations
    .command('list')
    .description('list destinations (credentials only as hints)')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--json', 'print JSON')
    .action((options: { app?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const app = await data.resolveApp(services, options.app);
        const list = await services.destinations.listDestinations(app.id);
        if (options.json) return console.log(JSON.stringify(list));
        printTable(
          ['ID', 'TYPE', 'BASE URL', 'EVENTS', 'SANDBOX', 'CREATED', 'CONFIG'],
          list.map((d) => [d.id, d.type, d.baseUrl, d.eventTypes.join(','), d.includeSandbox ? 'yes' : 'no', isoOrEmpty(d.createdAt), configText(d.config, ' ')]),
        );
      }),
    );

  destinations
    .command('remove <destinationId>')
    .description('remove a destination: it receives nothing more, its pending deliveries are cancelled')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .addHelpText('after', '\nExample:\n  crosswalk destinations remove 0b7c6a1e-3f0e-4c55-9a63-5a4c1e2f9d10')
    .action((destinationId: string, options: { app?: string }) =>
      data.withServices(async (services) => {
        const app = await data.resolveApp(services, options.app);
        if (!(await services.destinations.removeDestination(app.id, destinationId, CLI_ACTOR))) {
          throw new DataCommandError(`app "${app.name}" has no destination with the id "${destinationId}" (see "crosswalk destinations list")`);
        }
        console.log(`removed destination ${destinationId}; its pending deliveries were cancelled`);
      }),
    );

  destinations
    .command('test <destinationId>')
    .description("send one test event (a sandbox purchase of 0.01 USD) to the tool now; prints the tool's answer and the verdict")
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nThe exit code is 0 only when the tool took the event.\n' +
        '\nExample:\n  crosswalk destinations test 0b7c6a1e-3f0e-4c55-9a63-5a4c1e2f9d10',
    )
    .action((destinationId: string, options: { app?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const app = await data.resolveApp(services, options.app);
        const result = await services.destinations.test(app.id, destinationId);
        if (!result) throw new DataCommandError(`app "${app.name}" has no destination with the id "${destinationId}" (see "crosswalk destinations list")`);
        if (options.json) console.log(JSON.stringify(result));
        else {
          console.log(`sent a test event (a sandbox purchase of 0.01 USD of crosswalk.test) to destination ${destinationId}`);
          if (result.status === 'skipped') console.log('nothing was sent');
          else if (result.statusCode === null) console.log('no answer');
          else {
            console.log(`status code: ${result.statusCode}`);
            console.log(`answer: ${result.answer ?? ''}`);
          }
          console.log(`verdict: ${result.status}${result.error === null ? '' : `: ${result.error}`}`);
        }
        if (result.status !== 'succeeded') throw new DataCommandError(`the test event was ${result.status === 'skipped' ? 'not sent' : 'not taken'}: ${result.error ?? result.status}`);
      }),
    );

  destinations
    .command('deliveries')
    .description('list deliveries to destinations, newest first, with the reason of each skip or failure')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--status <status>', `only this status: ${DESTINATION_DELIVERY_STATUSES.join(', ')}`)
    .option('--destination <destinationId>', 'only the deliveries to this destination')
    .option('--profile <profileId>', 'only the deliveries of events about this profile')
    .option('--limit <count>', 'at most this many (1-100)', '20')
    .option('--cursor <cursor>', 'the page after this cursor (printed under a full page)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  crosswalk destinations deliveries --status skipped\n  crosswalk destinations deliveries --profile 0b0f4f0e-4b7d-4a59-9b8e-3f9d1c2e5a10\n' +
        '  crosswalk destinations deliveries --destination 0b7c6a1e-3f0e-4c55-9a63-5a4c1e2f9d10 --limit 100 --json',
    )
    .action((options: { app?: string; status?: string; destination?: string; profile?: string; limit: string; cursor?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const query = check(() =>
          toDestinationDeliveryQuery(
            parse(checkDeliveriesQuery, definedOnly({ status: options.status, destination_id: options.destination, profile_id: options.profile, limit: options.limit, cursor: options.cursor })),
          ),
        );
        const app = await data.resolveApp(services, options.app);
        const page = await services.destinations.listDeliveries(app.id, query);
        if (options.json) return console.log(JSON.stringify({ deliveries: page.deliveries.map(deliveryView), next: page.next }));
        printDeliveries(page, true);
      }),
    );

  destinations
    .command('redeliver <deliveryId>')
    .description("send a delivery's event to its destination again, as a new delivery with the same dedup key")
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  crosswalk destinations redeliver 1234')
    .action((deliveryId: string, options: { app?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const app = await data.resolveApp(services, options.app);
        const id = parsePositiveInteger(deliveryId);
        const delivery = id === null ? null : await services.destinations.redeliver(app.id, id, CLI_ACTOR);
        if (!delivery) {
          throw new DataCommandError(
            `app "${app.name}" has no delivery ${JSON.stringify(deliveryId)} to a destination that still exists (see "crosswalk destinations deliveries")`,
          );
        }
        if (options.json) return console.log(JSON.stringify(deliveryView(delivery)));
        console.log(`queued delivery ${delivery.id}: event ${delivery.eventId} (${delivery.eventType}) to destination ${delivery.endpointId}`);
      }),
    );
}
