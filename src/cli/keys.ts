import type { Command } from 'commander';
import { apiKeyProblem, DEFAULT_KEY_SCOPE, generateApiKey, isKeyScope, KEY_SCOPES, type KeyScope, parseKeyLifetime } from '../domain/api-keys.js';
import { CLI_ACTOR } from '../domain/audit.js';
import { DataCommandError, type DataCommandContext } from './import.js';
import { printTable } from './output.js';

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

/** Shows a new key once. */
export function printKey(secret: string): void {
  process.stdout.write(`\nAPI key (shown only now; store it safely):\n\n    ${secret}\n\n`);
}

function scopeOption(text: string): KeyScope {
  if (!isKeyScope(text)) throw new DataCommandError(`--scopes must be one of ${KEY_SCOPES.join(', ')}, got "${text}"`);
  return text;
}

const SCOPES_HELP =
  `\nScopes (each includes the one before it):\n` +
  `  read   every GET\n` +
  `  write  also writes to profiles, identifiers, purchases and batches\n` +
  `  admin  also webhooks, revenue configuration and the audit trail (the default)\n`;

/** `crosswalk keys …`: create, list, revoke and rescope the API keys of an app. */
export function registerKeysCommand(program: Command, data: DataCommandContext): void {
  const keys = program.command('keys').description('manage API keys (stored only as hashes)');
  keys
    .command('create')
    .description('create an API key for an app, or register one you supply')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--name <name>', 'a label for the key', 'created with the CLI')
    .option('--key <secret>', 'register this exact key instead of generating one (16-256 printable ASCII)')
    .option('--scopes <scope>', `what the key may do: ${KEY_SCOPES.join(', ')}`, DEFAULT_KEY_SCOPE)
    .option('--expires-in <duration>', 'the key stops working after this long: 90m, 12h, 30d (default: never)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `${SCOPES_HELP}\nExamples:\n  crosswalk keys create --app my-ios-app --name backend --scopes write\n` +
        '  crosswalk keys create --name dashboard --scopes read --expires-in 30d\n  crosswalk keys create --key "$MY_SECRET"',
    )
    .action((options: { app?: string; name: string; key?: string; scopes: string; expiresIn?: string; json?: boolean }) => {
      const scope = scopeOption(options.scopes);
      const lifetime = options.expiresIn === undefined ? null : parseKeyLifetime(options.expiresIn);
      if (lifetime !== null && 'problem' in lifetime) throw new DataCommandError(`--expires-in: ${lifetime.problem}`);
      const secret = options.key ?? generateApiKey();
      const problem = apiKeyProblem(secret);
      if (problem) throw new DataCommandError(problem);
      return data.withServices(async (services) => {
        const app = await data.resolveApp(services, options.app);
        const expiresAt = lifetime === null ? null : Date.now() + lifetime.ms;
        const { key, created } = await services.apps.addKey(app.id, secret, options.name, CLI_ACTOR, { scope, expiresAt, generated: options.key === undefined });
        if (!created) throw new DataCommandError(`that key is already registered (id ${key.id})`);
        if (options.json) return console.log(JSON.stringify({ ...key, apiKey: secret }));
        const until = key.expiresAt === null ? '' : `, until ${iso(key.expiresAt)}`;
        console.log(`created ${key.scope} key ${key.id} for app "${app.name}"${until}`);
        if (!options.key) printKey(secret);
      });
    });
  keys
    .command('list')
    .description('list API keys (hints only: the keys themselves are not stored)')
    .option('--app <app>', 'only the keys of this app (id or name)')
    .option('--json', 'print JSON')
    .action((options: { app?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const appId = options.app === undefined ? undefined : (await data.resolveApp(services, options.app)).id;
        const list = await services.apps.listKeys(appId);
        if (options.json) return console.log(JSON.stringify(list));
        printTable(
          ['ID', 'APP', 'NAME', 'HINT', 'SCOPE', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'],
          list.map((k) => [k.id, k.appId, k.name, k.hint, k.scope, iso(k.createdAt), iso(k.expiresAt), iso(k.lastUsedAt), iso(k.revokedAt)]),
        );
      }),
    );
  keys
    .command('revoke <keyId>')
    .description('revoke an API key; requests with it are refused from then on')
    .addHelpText('after', '\nExample:\n  crosswalk keys revoke 0b7c6a1e-3f0e-4c55-9a63-5a4c1e2f9d10')
    .action((keyId: string) =>
      data.withServices(async (services) => {
        if ((await services.apps.revokeKey(keyId, CLI_ACTOR)) === null) throw new DataCommandError(`no key has the id "${keyId}" (see "crosswalk keys list")`);
        console.log(`revoked key ${keyId}`);
      }),
    );
  keys
    .command('scope <keyId> <scope>')
    .description(`change what an API key may do: ${KEY_SCOPES.join(', ')}`)
    .option('--json', 'print JSON')
    .addHelpText('after', `${SCOPES_HELP}\nExample:\n  crosswalk keys scope 0b7c6a1e-3f0e-4c55-9a63-5a4c1e2f9d10 read`)
    .action((keyId: string, wanted: string, options: { json?: boolean }) => {
      if (!isKeyScope(wanted)) throw new DataCommandError(`the scope must be one of ${KEY_SCOPES.join(', ')}, got "${wanted}"`);
      return data.withServices(async (services) => {
        const key = await services.apps.setKeyScope(keyId, wanted, CLI_ACTOR);
        if (key === null) throw new DataCommandError(`no key has the id "${keyId}" (see "crosswalk keys list")`);
        if (options.json) return console.log(JSON.stringify(key));
        console.log(`key ${keyId} now has the ${key.scope} scope`);
      });
    });
}
