import type { Command } from 'commander';
import { CLI_ACTOR } from '../domain/audit.js';
import { DEFAULT_ACCESS_LEVEL, UNKNOWN_ACCESS_LEVEL_MODES, type UnknownAccessLevelMode } from '../domain/revenue.js';
import { ApiError } from '../errors.js';
import type { RevenueConfigService, RevenueSettings } from '../services/revenue-config.js';
import type { App } from '../storage/store.js';
import { DataCommandError, type DataCommandContext } from './import.js';
import { printTable } from './output.js';

const iso = (ms: number) => new Date(ms).toISOString();
const APP_OPTION = 'app id or name (may be left out when there is only one app)';

interface Options {
  app?: string;
  json?: boolean;
}

/**
 * Runs `work`; a refusal of the service becomes one line naming the argument or option at fault,
 * by the field the service names (`labels`).
 */
async function explained<T>(labels: Record<string, string>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const lines = error.items.map((item) => [(item.source !== null && labels[item.source]) || '', item.errors.join(' ')].filter(Boolean).join(': '));
    throw new DataCommandError(lines.join('; '));
  }
}

/** A number as written on a command line (`1.08`, `0.0062`, `6.2e-3`); anything else is NaN, which the service refuses. */
function decimal(text: string): number {
  return /^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
}

const MODE_MEANS: Record<UnknownAccessLevelMode, string> = {
  create: 'an access level id never configured is configured on first use',
  reject: 'an access level id never configured is refused (400 paid_access_level_does_not_exist)',
};

function printSettings(app: App, settings: RevenueSettings, json: boolean | undefined): void {
  if (json) return console.log(JSON.stringify(settings));
  console.log(`unknown access levels of app "${app.name}" (${app.id}): ${settings.unknownAccessLevels}: ${MODE_MEANS[settings.unknownAccessLevels]}`);
}

/** `crosswalk revenue …`: access levels, products, currency rates and settings of an app, straight on the database. */
export function registerRevenueCommand(program: Command, data: DataCommandContext): void {
  /** A subcommand of `group` taking --app (and --json unless `json` is false). */
  const sub = (group: Command, name: string, description: string, json = true) => {
    const command = group.command(name).description(description).option('--app <app>', APP_OPTION);
    return json ? command.option('--json', 'print JSON') : command;
  };
  /** Runs `work` on the revenue configuration of the app named by --app. */
  const run = (options: Options, work: (config: RevenueConfigService, app: App) => Promise<void>) =>
    data.withServices(async (services) => work(services.revenueConfig, await data.resolveApp(services, options.app)));

  const revenue = program
    .command('revenue')
    .description('what the Adapty dashboard configures: access levels, products, currency rates (see docs/revenue.md)');

  const levels = revenue.command('access-levels').description('the access levels transactions and grants may unlock');
  sub(levels, 'list', 'list the configured access levels').action((options: Options) =>
    run(options, async (config, app) => {
      const list = await config.listAccessLevels(app.id);
      if (options.json) return console.log(JSON.stringify(list));
      printTable(['ACCESS LEVEL', 'CREATED'], list.map((level) => [level.id, iso(level.createdAt)]));
    }),
  );
  sub(levels, 'add <access_level_id>', 'configure an access level (nothing changes when it is configured already)')
    .addHelpText('after', '\nExample:\n  crosswalk revenue access-levels add vip --app my-ios-app')
    .action((id: string, options: Options) =>
      run(options, async (config, app) => {
        const added = await explained({ access_level_id: '<access_level_id>' }, () => config.addAccessLevel(app.id, id, CLI_ACTOR));
        if (options.json) return console.log(JSON.stringify(added));
        console.log(added.created ? `added access level "${id}" to app "${app.name}"` : `access level "${id}" was configured already`);
      }),
    );
  sub(levels, 'remove <access_level_id>', 'remove an access level (refused while a product unlocks it; profiles keep it)', false).action(
    (id: string, options: Options) =>
      run(options, async (config, app) => {
        if (!(await explained({ access_level_id: '<access_level_id>' }, () => config.removeAccessLevel(app.id, id, CLI_ACTOR)))) {
          throw new DataCommandError(`app "${app.name}" has no access level "${id}" (see "crosswalk revenue access-levels list")`);
        }
        console.log(`removed access level "${id}"`);
      }),
  );

  const products = revenue
    .command('products')
    .description(`what each store product unlocks; a product not configured unlocks "${DEFAULT_ACCESS_LEVEL}"`);
  sub(products, 'list', 'list the configured products').action((options: Options) =>
    run(options, async (config, app) => {
      const list = await config.listProducts(app.id);
      if (options.json) return console.log(JSON.stringify(list));
      printTable(
        ['STORE PRODUCT ID', 'ACCESS LEVEL', 'CONSUMABLE'],
        list.map((product) => [product.storeProductId, product.accessLevelId ?? '(none)', product.isConsumable ? 'yes' : 'no']),
      );
    }),
  );
  sub(products, 'set <store_product_id>', 'configure what a product unlocks, creating or replacing it')
    .option('--access-level <access_level_id>', 'the access level it unlocks (configured too when it is new)')
    .option('--no-access-level', 'it unlocks nothing (consumables, for instance)')
    .option('--consumable', 'a consumable (one-time purchases marked is_consumable)')
    .addHelpText(
      'after',
      '\nExamples:\n  crosswalk revenue products set pro_monthly --access-level pro --app my-ios-app\n' +
        '  crosswalk revenue products set coins_100 --no-access-level --consumable',
    )
    .action((storeProductId: string, options: Options & { accessLevel?: string | false; consumable?: boolean }) => {
      if (options.accessLevel === undefined) throw new DataCommandError('say what the product unlocks: --access-level <access_level_id> or --no-access-level');
      const product = { storeProductId, accessLevelId: options.accessLevel === false ? null : options.accessLevel, isConsumable: options.consumable === true };
      return run(options, async (config, app) => {
        const labels = { store_product_id: '<store_product_id>', access_level_id: '--access-level' };
        const saved = await explained(labels, () => config.setProduct(app.id, product, CLI_ACTOR));
        if (options.json) return console.log(JSON.stringify(saved));
        const unlocks = product.accessLevelId === null ? 'nothing' : `access level "${product.accessLevelId}"`;
        console.log(`product "${storeProductId}" of app "${app.name}" unlocks ${unlocks}${product.isConsumable ? ' (consumable)' : ''}`);
        if (saved.accessLevelCreated) console.log(`access level "${product.accessLevelId}" was configured with it`);
      });
    });
  sub(products, 'remove <store_product_id>', `remove a product: it unlocks "${DEFAULT_ACCESS_LEVEL}" again`, false).action(
    (storeProductId: string, options: Options) =>
      run(options, async (config, app) => {
        if (!(await explained({ store_product_id: '<store_product_id>' }, () => config.removeProduct(app.id, storeProductId, CLI_ACTOR)))) {
          throw new DataCommandError(`app "${app.name}" has no product "${storeProductId}" (see "crosswalk revenue products list")`);
        }
        console.log(`removed product "${storeProductId}"`);
      }),
  );

  const rates = revenue
    .command('rates')
    .description('US dollars per unit of each currency: how transactions in other currencies count in total_revenue_usd');
  sub(rates, 'list', 'list the currency rates').action((options: Options) =>
    run(options, async (config, app) => {
      const list = await config.listRates(app.id);
      if (options.json) return console.log(JSON.stringify(list));
      printTable(['CURRENCY', 'USD PER UNIT', 'UPDATED'], list.map((rate) => [rate.currency, String(rate.usdPerUnit), iso(rate.updatedAt)]));
    }),
  );
  sub(rates, 'set <currency> <usd_per_unit>', 'set the rate of a currency (ISO 4217 code, any case); transactions recorded later use it')
    .addHelpText('after', '\nExamples:\n  crosswalk revenue rates set EUR 1.08 --app my-ios-app\n  crosswalk revenue rates set jpy 0.0067')
    .action((currency: string, usdPerUnit: string, options: Options) =>
      run(options, async (config, app) => {
        const labels = { currency: '<currency>', usd_per_unit: '<usd_per_unit>' };
        const rate = await explained(labels, () => config.setRate(app.id, currency, decimal(usdPerUnit), CLI_ACTOR));
        if (options.json) return console.log(JSON.stringify(rate));
        console.log(`1 ${rate.currency} = ${rate.usdPerUnit} USD for app "${app.name}"`);
      }),
    );
  sub(rates, 'remove <currency>', 'remove the rate of a currency (production transactions in it are then refused)', false).action(
    (currency: string, options: Options) =>
      run(options, async (config, app) => {
        if (!(await explained({ currency: '<currency>' }, () => config.removeRate(app.id, currency, CLI_ACTOR)))) {
          throw new DataCommandError(`app "${app.name}" has no rate for ${currency.toUpperCase()} (see "crosswalk revenue rates list")`);
        }
        console.log(`removed the rate of ${currency.toUpperCase()}`);
      }),
  );

  sub(revenue, 'unknown-access-levels [mode]', `show, or set, what happens to an access level id never configured: ${UNKNOWN_ACCESS_LEVEL_MODES.join(', ')}`)
    .addHelpText('after', `\nModes:\n  create (default): ${MODE_MEANS.create}\n  reject: ${MODE_MEANS.reject}\n\nExample:\n  crosswalk revenue unknown-access-levels reject --app my-ios-app`)
    .action((mode: string | undefined, options: Options) =>
      run(options, async (config, app) => {
        const settings =
          mode === undefined
            ? await config.settings(app.id)
            : await explained({ unknown_access_levels: '<mode>' }, () => config.setSettings(app.id, { unknownAccessLevels: mode as UnknownAccessLevelMode }, CLI_ACTOR));
        printSettings(app, settings, options.json);
      }),
    );
}
