#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { isEntryPoint } from '../entry-point.js';
import { generateApiKey } from '../domain/api-keys.js';
import { CLI_ACTOR } from '../domain/audit.js';
import { KyselyStore } from '../storage/kysely-store.js';
import { createServices, type Services } from '../services/index.js';
import type { App } from '../storage/store.js';
import { registerAuditCommand } from './audit.js';
import { registerCopyCommand } from './copy.js';
import { registerDestinationsCommand } from './destinations.js';
import { printKey, registerKeysCommand } from './keys.js';
import { printTable } from './output.js';
import { registerExportCommand } from './export.js';
import { type DataCommandContext, registerImportCommand } from './import.js';
import { registerRevenueCommand } from './revenue.js';
import { registerRulesCommand } from './rules.js';
import { registerStatsCommand } from './stats.js';
import { registerWebhooksCommand } from './webhooks.js';
import { NetworkPolicy } from '../webhooks/network-policy.js';
import { PolicySender } from '../webhooks/destination-sender.js';

/** A failure the operator can fix; printed as one line, exit code 1. */
class CliError extends Error {}

interface GlobalOptions {
  databaseUrl?: string;
}

/** Opens the store named by --database-url or DATABASE_URL, migrated, and closes it afterwards. */
async function withServices<T>(program: Command, work: (services: Services) => Promise<T>): Promise<T> {
  const { databaseUrl } = program.opts<GlobalOptions>();
  const env = databaseUrl === undefined ? process.env : { ...process.env, DATABASE_URL: databaseUrl };
  const config = loadConfig(env);
  const store = KyselyStore.open(config.database);
  const network = new NetworkPolicy(config.webhooks);
  // `destinations test` sends through it, under the same policy and timeout as the server's sends.
  const destinationSender = new PolicySender(network, config.webhooks.timeoutMs);
  try {
    await store.migrate();
    return await work(createServices(store, { webhookTargets: network, destinationSender }));
  } finally {
    destinationSender.close();
    await store.close();
  }
}

/** An app given by id or name; with none given, the only app there is. */
async function resolveApp(services: Services, wanted: string | undefined): Promise<App> {
  const apps = await services.apps.list();
  if (wanted === undefined) {
    if (apps.length === 1) return apps[0]!;
    throw new CliError(apps.length === 0 ? 'there is no app yet: run "crosswalk apps create <name>"' : 'there are several apps: name one with --app <id or name>');
  }
  const app = apps.find((a) => a.id === wanted || a.name === wanted);
  if (!app) throw new CliError(`no app has the id or name "${wanted}" (see "crosswalk apps list")`);
  return app;
}

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

export function buildCli(): Command {
  const program = new Command('crosswalk')
    .description('Crosswalk: integration identifiers on user profiles, Adapty-compatible.')
    .option('--database-url <url>', 'database to use (default: $DATABASE_URL, else sqlite:data/crosswalk.db)')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('serve')
    .description('start the HTTP server (what "npm start" runs)')
    .option('--host <host>', 'address to listen on (default: $HOST or 127.0.0.1)')
    .addOption(new Option('--port <port>', 'port to listen on (default: $PORT or 8080)').argParser(parsePort))
    .addOption(
      new Option('--workers <count>', 'server processes sharing the port (node:cluster); see docs/scaling.md')
        .argParser(parseWorkers)
        .default(1),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  crosswalk serve\n  crosswalk serve --host 0.0.0.0 --port 9000\n' +
        '  DATABASE_URL=postgres://user@db/crosswalk crosswalk serve --workers 2',
    )
    .action(async (options: { host?: string; port?: number; workers: number }) => {
      const { databaseUrl } = program.opts<GlobalOptions>();
      if (databaseUrl !== undefined) process.env.DATABASE_URL = databaseUrl;
      const { workers, ...listen } = options;
      // Loaded here, not at the top: the HTTP server (Fastify, its plugins, every route's compiled
      // schema) is most of what a command loads, and no other command needs it.
      const { failStart, serve } = await import('../main.js');
      const { serveWorkers } = await import('../cluster.js');
      await (workers > 1 ? serveWorkers(workers, listen) : serve(listen)).catch(failStart);
    });

  program
    .command('migrate')
    .description('bring the database schema up to date and exit')
    .addHelpText('after', '\nExample:\n  DATABASE_URL=postgres://user@db/crosswalk crosswalk migrate')
    .action(() => withServices(program, async () => console.log('database schema is up to date')));

  const apps = program.command('apps').description('manage apps (each app has its own profiles and keys)');
  apps
    .command('create <name>')
    .description('create an app and a first API key for it')
    .option('--no-key', 'do not create a key')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  crosswalk apps create my-ios-app\n  crosswalk apps create staging --no-key --json')
    .action((name: string, options: { key: boolean; json?: boolean }) =>
      withServices(program, async (services) => {
        const app = await services.apps.create(name, CLI_ACTOR);
        const secret = options.key ? generateApiKey() : undefined;
        // An admin key, as every key was before keys had scopes (see "crosswalk keys create --help").
        if (secret) await services.apps.addKey(app.id, secret, 'created with the app', CLI_ACTOR, { scope: 'admin', generated: true });
        if (options.json) return console.log(JSON.stringify({ ...app, apiKey: secret ?? null }));
        console.log(`created app "${app.name}" with id ${app.id}`);
        if (secret) printKey(secret);
      }),
    );
  apps
    .command('list')
    .description('list apps')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withServices(program, async (services) => {
        const list = await services.apps.list();
        if (options.json) return console.log(JSON.stringify(list));
        printTable(['ID', 'NAME', 'CREATED'], list.map((a) => [a.id, a.name, iso(a.createdAt)]));
      }),
    );

  const data: DataCommandContext = { withServices: (work) => withServices(program, work), resolveApp };
  registerKeysCommand(program, data);
  registerAuditCommand(program, data);
  registerImportCommand(program, data);
  registerExportCommand(program, data);
  registerStatsCommand(program, data);
  registerRulesCommand(program, data);
  registerWebhooksCommand(program, data);
  registerDestinationsCommand(program, data);
  registerRevenueCommand(program, data);
  registerCopyCommand(program);
  return program;
}

function parseWorkers(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || count > 64) throw new CliError(`--workers must be a number from 1 to 64, got "${value}"`);
  return count;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new CliError(`--port must be a number from 0 to 65535, got "${value}"`);
  return port;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const message = error instanceof ConfigError ? `configuration error: ${error.message}` : error instanceof Error ? error.message : String(error);
    process.stderr.write(`crosswalk: ${message}\n`);
    return 1;
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await runCli(process.argv.slice(2));
