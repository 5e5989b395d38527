#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { isEntryPoint } from '../entry-point.js';
import { apiKeyProblem, generateApiKey } from '../domain/api-keys.js';
import { serveWorkers } from '../cluster.js';
import { failStart, serve } from '../main.js';
import { KyselyStore } from '../storage/kysely-store.js';
import { createServices, type Services } from '../services/index.js';
import type { App } from '../storage/store.js';
import { printTable } from './output.js';
import { registerExportCommand } from './export.js';
import { type DataCommandContext, registerImportCommand } from './import.js';
import { registerRevenueCommand } from './revenue.js';
import { registerRulesCommand } from './rules.js';
import { registerStatsCommand } from './stats.js';
import { registerWebhooksCommand } from './webhooks.js';

/** A failure the operator can fix; printed as one line, exit code 1. */
class CliError extends Error {}

interface GlobalOptions {
  databaseUrl?: string;
}

/** Opens the store named by --database-url or DATABASE_URL, migrated, and closes it afterwards. */
async function withServices<T>(program: Command, work: (services: Services) => Promise<T>): Promise<T> {
  const { databaseUrl } = program.opts<GlobalOptions>();
  const env = databaseUrl === undefined ? process.env : { ...process.env, DATABASE_URL: databaseUrl };
  const store = KyselyStore.open(loadConfig(env).database);
  try {
    await store.migrate();
    return await work(createServices(store));
  } finally {
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

function printKey(secret: string): void {
  process.stdout.write(`\nAPI key (shown only now; store it safely):\n\n    ${secret}\n\n`);
}

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
        const app = await services.apps.create(name);
        const secret = options.key ? generateApiKey() : undefined;
        if (secret) await services.apps.addKey(app.id, secret, 'created with the app');
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

  const keys = program.command('keys').description('manage API keys (stored only as hashes)');
  keys
    .command('create')
    .description('create an API key for an app, or register one you supply')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--name <name>', 'a label for the key', 'created with the CLI')
    .option('--key <secret>', 'register this exact key instead of generating one (16-256 printable ASCII)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  crosswalk keys create --app my-ios-app --name backend\n  crosswalk keys create --key "$MY_SECRET"')
    .action((options: { app?: string; name: string; key?: string; json?: boolean }) =>
      withServices(program, async (services) => {
        const app = await resolveApp(services, options.app);
        const secret = options.key ?? generateApiKey();
        const problem = apiKeyProblem(secret);
        if (problem) throw new CliError(problem);
        const { key, created } = await services.apps.addKey(app.id, secret, options.name);
        if (!created) throw new CliError(`that key is already registered (id ${key.id})`);
        if (options.json) return console.log(JSON.stringify({ ...key, apiKey: secret }));
        console.log(`created key ${key.id} for app "${app.name}"`);
        if (!options.key) printKey(secret);
      }),
    );
  keys
    .command('list')
    .description('list API keys (hints only: the keys themselves are not stored)')
    .option('--app <app>', 'only the keys of this app (id or name)')
    .option('--json', 'print JSON')
    .action((options: { app?: string; json?: boolean }) =>
      withServices(program, async (services) => {
        const appId = options.app === undefined ? undefined : (await resolveApp(services, options.app)).id;
        const list = await services.apps.listKeys(appId);
        if (options.json) return console.log(JSON.stringify(list));
        printTable(
          ['ID', 'APP', 'NAME', 'HINT', 'CREATED', 'REVOKED'],
          list.map((k) => [k.id, k.appId, k.name, k.hint, iso(k.createdAt), iso(k.revokedAt)]),
        );
      }),
    );
  keys
    .command('revoke <keyId>')
    .description('revoke an API key; requests with it are refused from then on')
    .addHelpText('after', '\nExample:\n  crosswalk keys revoke 0b7c6a1e-3f0e-4c55-9a63-5a4c1e2f9d10')
    .action((keyId: string) =>
      withServices(program, async (services) => {
        if (!(await services.apps.revokeKey(keyId))) throw new CliError(`no key has the id "${keyId}" (see "crosswalk keys list")`);
        console.log(`revoked key ${keyId}`);
      }),
    );

  const data: DataCommandContext = { withServices: (work) => withServices(program, work), resolveApp };
  registerImportCommand(program, data);
  registerExportCommand(program, data);
  registerStatsCommand(program, data);
  registerRulesCommand(program, data);
  registerWebhooksCommand(program, data);
  registerRevenueCommand(program, data);
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
