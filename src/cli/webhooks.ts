import type { Command } from 'commander';
import { CLI_ACTOR } from '../domain/audit.js';
import { EVENT_TYPES } from '../domain/events.js';
import { DELIVERY_STATUSES } from '../domain/webhooks.js';
import { ApiError, EndpointLimitError } from '../errors.js';
import { parsePositiveInteger } from '../domain/webhook-input.js';
import { compile, parse } from '../schemas/validate.js';
import { deliveriesQuery, newEndpointBody, toDeliveryQuery, toNewEndpoint } from '../schemas/webhooks.js';
import { DataCommandError, type DataCommandContext } from './import.js';
import { printTable } from './output.js';
import { checkOptions, definedOnly, isoOrEmpty, optionProblems, printDeliveries } from './options.js';


/** The option that carries each field the shared validators name. */
const OPTION_OF: Record<string, string> = {
  url: '--url',
  event_types: '--events',
  secret: '--secret',
  description: '--description',
  status: '--status',
  endpoint_id: '--endpoint',
  profile_id: '--profile',
  limit: '--limit',
  cursor: '--cursor',
};

// The API's own schemas: the options are checked as the same fields of a request would be.
const checkNewEndpoint = compile(newEndpointBody);
// Option values are text, like a query string's, and are read the same way.
const checkDeliveriesQuery = compile(deliveriesQuery, { coerce: true });

/** Runs a validator and turns its envelope into one line naming the options at fault. */
const check = <T>(parse: () => T): T => checkOptions(parse, (source) => OPTION_OF[source]);

/** `crosswalk webhooks …`: endpoints and deliveries, straight on the database. */
export function registerWebhooksCommand(program: Command, data: DataCommandContext): void {
  const webhooks = program
    .command('webhooks')
    .description('manage webhook endpoints and see their deliveries (see docs/webhooks.md)');

  webhooks
    .command('add')
    .description('subscribe an endpoint to change events; prints its signing secret once')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .requiredOption('--url <url>', 'absolute http:// or https:// URL that receives a POST per event')
    .option('--events <types>', `comma-separated event types (default: all): ${EVENT_TYPES.join(', ')}`)
    .option('--secret <secret>', 'signing secret of your choice (16-256 printable ASCII); generated when left out')
    .option('--description <text>', 'a note for people')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  crosswalk webhooks add --app my-ios-app --url https://example.com/hooks\n' +
        '  crosswalk webhooks add --url https://hooks.example.com/crosswalk --events integration_identifiers.updated,profile.deleted\n' +
        '  WEBHOOK_ALLOW_PRIVATE_NETWORKS=true crosswalk webhooks add --url http://127.0.0.1:4000/   (local development)\n' +
        '\nThe URL must point to a public address unless WEBHOOK_ALLOWED_NETWORKS or\n' +
        'WEBHOOK_ALLOW_PRIVATE_NETWORKS allow otherwise (see docs/webhooks.md, "Target safety").',
    )
    .action((options: { app?: string; url: string; events?: string; secret?: string; description?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const endpoint = check(() =>
          toNewEndpoint(
            parse(checkNewEndpoint, {
              url: options.url,
              event_types: options.events?.split(',').map((type) => type.trim()).filter((type) => type !== ''),
              secret: options.secret,
              description: options.description,
            }),
          ),
        );
        const app = await data.resolveApp(services, options.app);
        const created = await services.webhooks.addEndpoint(app.id, endpoint, CLI_ACTOR).catch((error: unknown) => {
          if (error instanceof EndpointLimitError) throw new DataCommandError(`${error.message}; remove one first`);
          // A target the network policy refuses: worded on --url as the API words it on `url`.
          throw error instanceof ApiError ? optionProblems(error, (source) => OPTION_OF[source]) : error;
        });
        if (options.json) return console.log(JSON.stringify(created));
        console.log(`added endpoint ${created.id} for app "${app.name}": ${created.url}`);
        console.log(`events: ${created.eventTypes.join(', ')}`);
        process.stdout.write(`\nSigning secret (shown only now; store it safely):\n\n    ${created.secret}\n\n`);
      }),
    );

  webhooks
    .command('list')
    .description('list webhook endpoints (secrets only as hints)')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--json', 'print JSON')
    .action((options: { app?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const app = await data.resolveApp(services, options.app);
        const list = await services.webhooks.listEndpoints(app.id);
        if (options.json) return console.log(JSON.stringify(list));
        printTable(
          ['ID', 'URL', 'EVENTS', 'SECRET', 'CREATED', 'DESCRIPTION'],
          list.map((e) => [e.id, e.url, e.eventTypes.join(','), e.secretHint, isoOrEmpty(e.createdAt), e.description ?? '']),
        );
      }),
    );

  webhooks
    .command('remove <endpointId>')
    .description('remove an endpoint: it receives nothing more, its pending deliveries are cancelled')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .addHelpText('after', '\nExample:\n  crosswalk webhooks remove 0b7c6a1e-3f0e-4c55-9a63-5a4c1e2f9d10')
    .action((endpointId: string, options: { app?: string }) =>
      data.withServices(async (services) => {
        const app = await data.resolveApp(services, options.app);
        if (!(await services.webhooks.removeEndpoint(app.id, endpointId, CLI_ACTOR))) {
          throw new DataCommandError(`app "${app.name}" has no endpoint with the id "${endpointId}" (see "crosswalk webhooks list")`);
        }
        console.log(`removed endpoint ${endpointId}; its pending deliveries were cancelled`);
      }),
    );

  webhooks
    .command('deliveries')
    .description('list deliveries, newest first')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--status <status>', `only this status: ${DELIVERY_STATUSES.join(', ')}`)
    .option('--endpoint <endpointId>', 'only the deliveries to this endpoint')
    .option('--profile <profileId>', 'only the deliveries of events about this profile')
    .option('--limit <count>', 'at most this many (1-100)', '20')
    .option('--cursor <cursor>', 'the page after this cursor (printed under a full page)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  crosswalk webhooks deliveries --status failed\n  crosswalk webhooks deliveries --profile 0b0f4f0e-4b7d-4a59-9b8e-3f9d1c2e5a10\n  crosswalk webhooks deliveries --limit 100 --json',
    )
    .action((options: { app?: string; status?: string; endpoint?: string; profile?: string; limit: string; cursor?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const query = check(() =>
          toDeliveryQuery(parse(checkDeliveriesQuery, definedOnly({ status: options.status, endpoint_id: options.endpoint, profile_id: options.profile, limit: options.limit, cursor: options.cursor }))),
        );
        const app = await data.resolveApp(services, options.app);
        const page = await services.webhooks.listDeliveries(app.id, query);
        if (options.json) return console.log(JSON.stringify(page));
        printDeliveries(page);
      }),
    );

  webhooks
    .command('redeliver <deliveryId>')
    .description("send a delivery's event to its endpoint again, as a new delivery")
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  crosswalk webhooks redeliver 1234')
    .action((deliveryId: string, options: { app?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const app = await data.resolveApp(services, options.app);
        const id = parsePositiveInteger(deliveryId);
        const delivery = id === null ? null : await services.webhooks.redeliver(app.id, id, CLI_ACTOR);
        if (!delivery) {
          throw new DataCommandError(`app "${app.name}" has no delivery ${JSON.stringify(deliveryId)} to an endpoint that still exists (see "crosswalk webhooks deliveries")`);
        }
        if (options.json) return console.log(JSON.stringify(delivery));
        console.log(`queued delivery ${delivery.id}: event ${delivery.eventId} (${delivery.eventType}) to endpoint ${delivery.endpointId}`);
      }),
    );
}
