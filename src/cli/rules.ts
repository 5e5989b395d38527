import type { Command } from 'commander';
import { CLI_ACTOR } from '../domain/audit.js';
import { IDENTIFIER_KEYS, type IdentifierKey, isIdentifierKey } from '../domain/identifiers.js';
import {
  type AppRules,
  BUILT_IN_PLACEHOLDERS,
  CONFLICT_POLICIES,
  type ConflictPolicy,
  isConflictPolicy,
  isPlaceholderMode,
  MAX_EXTRA_PLACEHOLDERS,
  PLACEHOLDER_MODES,
  placeholderForm,
} from '../domain/rules.js';
import type { App } from '../storage/store.js';
import type { DataCommandContext } from './import.js';
import { printTable } from './output.js';

/** A mistake in the command line; printed as one line, exit code 1. */
class RulesError extends Error {}

function printRules(app: App, rules: AppRules, json: boolean | undefined): void {
  const conflicts = Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, rules.conflictPolicies[key] ?? 'allow']));
  if (json) {
    console.log(JSON.stringify({
      app: { id: app.id, name: app.name },
      placeholder_mode: rules.placeholderMode,
      built_in_placeholders: BUILT_IN_PLACEHOLDERS,
      extra_placeholders: rules.extraPlaceholders,
      conflict_policies: conflicts,
    }));
    return;
  }
  console.log(`identifier rules of app "${app.name}" (${app.id})\n`);
  console.log(`placeholder mode: ${rules.placeholderMode}`);
  console.log(`built-in placeholders: ${BUILT_IN_PLACEHOLDERS.map((v) => JSON.stringify(v)).join(' ')}`);
  console.log(`extra placeholders: ${rules.extraPlaceholders.length === 0 ? '(none)' : rules.extraPlaceholders.map((v) => JSON.stringify(v)).join(' ')}\n`);
  printTable(['KEY', 'CONFLICT POLICY'], Object.entries(conflicts));
}

export function registerRulesCommand(program: Command, data: DataCommandContext): void {
  const rules = program
    .command('rules')
    .description("per-app rules for identifier writes: placeholder values and values shared between profiles")
    .addHelpText(
      'after',
      '\nPlaceholder modes: drop (default: the value is left out, the rest of the write is kept), ' +
        'reject (the write is refused with a validation error), accept (stored as sent).\n' +
        'Conflict policies, per key, when another profile of the app holds the value: allow (default), ' +
        'reject (409 identifier_conflict), move (the other profile loses the value).',
    );

  /** Reads the app's rules, lets `change` edit them, stores and prints the result. */
  const edit = (appName: string | undefined, json: boolean | undefined, change: (current: AppRules) => AppRules) =>
    data.withServices(async (services) => {
      const app = await data.resolveApp(services, appName);
      const updated = await services.apps.changeRules(app.id, change, CLI_ACTOR);
      printRules(app, updated, json);
    });

  rules
    .command('show')
    .description("show an app's identifier rules")
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--json', 'print JSON')
    .action((options: { app?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        const app = await data.resolveApp(services, options.app);
        printRules(app, await services.apps.rules(app.id), options.json);
      }),
    );

  rules
    .command('placeholder-mode <mode>')
    .description(`what to do with placeholder values: ${PLACEHOLDER_MODES.join(', ')}`)
    .option('--app <app>', 'app id or name')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  crosswalk rules placeholder-mode reject --app my-ios-app')
    .action((mode: string, options: { app?: string; json?: boolean }) => {
      if (!isPlaceholderMode(mode)) throw new RulesError(`the placeholder mode must be one of ${PLACEHOLDER_MODES.join(', ')}, got "${mode}"`);
      return edit(options.app, options.json, (current) => ({ ...current, placeholderMode: mode }));
    });

  rules
    .command('placeholder-add <values...>')
    .description("add values to the app's own placeholder list (compared trimmed and case-insensitively)")
    .option('--app <app>', 'app id or name')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  crosswalk rules placeholder-add "not-set" "IDFA_UNAVAILABLE" --app my-ios-app')
    .action((values: string[], options: { app?: string; json?: boolean }) => {
      const added = values.map(placeholderForm);
      if (added.some((value) => value === '')) throw new RulesError('a placeholder value must not be blank');
      return edit(options.app, options.json, (current) => {
        const extra = [...new Set([...current.extraPlaceholders, ...added])];
        if (extra.length > MAX_EXTRA_PLACEHOLDERS) throw new RulesError(`an app can have at most ${MAX_EXTRA_PLACEHOLDERS} extra placeholder values`);
        return { ...current, extraPlaceholders: extra };
      });
    });

  rules
    .command('placeholder-remove <values...>')
    .description("remove values from the app's own placeholder list")
    .option('--app <app>', 'app id or name')
    .option('--json', 'print JSON')
    .action((values: string[], options: { app?: string; json?: boolean }) => {
      const removed = new Set(values.map(placeholderForm));
      return edit(options.app, options.json, (current) => {
        const missing = [...removed].filter((value) => !current.extraPlaceholders.includes(value));
        if (missing.length > 0) throw new RulesError(`not in the app's own list: ${missing.map((v) => JSON.stringify(v)).join(', ')} (built-in values cannot be removed; use placeholder-mode accept)`);
        return { ...current, extraPlaceholders: current.extraPlaceholders.filter((value) => !removed.has(value)) };
      });
    });

  rules
    .command('conflict <key> <policy>')
    .description(`what to do when another profile holds the value: ${CONFLICT_POLICIES.join(', ')}; key "all" sets every key`)
    .option('--app <app>', 'app id or name')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  crosswalk rules conflict appsflyer_id reject\n  crosswalk rules conflict all move --app my-ios-app')
    .action((key: string, policy: string, options: { app?: string; json?: boolean }) => {
      if (key !== 'all' && !isIdentifierKey(key)) throw new RulesError(`unknown identifier key "${key}"; one of: all, ${IDENTIFIER_KEYS.join(', ')}`);
      if (!isConflictPolicy(policy)) throw new RulesError(`the conflict policy must be one of ${CONFLICT_POLICIES.join(', ')}, got "${policy}"`);
      const keys: readonly IdentifierKey[] = key === 'all' ? IDENTIFIER_KEYS : [key as IdentifierKey];
      return edit(options.app, options.json, (current) => {
        const policies: Partial<Record<IdentifierKey, ConflictPolicy>> = { ...current.conflictPolicies };
        for (const name of keys) {
          if (policy === 'allow') delete policies[name];
          else policies[name] = policy;
        }
        return { ...current, conflictPolicies: policies };
      });
    });
}
