import type { Command } from 'commander';
import { ApiError } from '../errors.js';
import { auditQuery, AUDIT_DEFAULT_LIMIT } from '../schemas/audit.js';
import { compile, parse } from '../schemas/validate.js';
import { DataCommandError, type DataCommandContext } from './import.js';
import { printTable } from './output.js';

// Option values are text, like a query string's, and are read the same way.
const checkQuery = compile(auditQuery, { coerce: true });

/** `crosswalk audit`: the audit trail of an app's management changes, newest first. */
export function registerAuditCommand(program: Command, data: DataCommandContext): void {
  program
    .command('audit')
    .description("show an app's audit trail of management changes, newest first: who (a key id, cli or startup), what and when")
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .option('--limit <count>', 'at most this many (1-500)', String(AUDIT_DEFAULT_LIMIT))
    .option('--cursor <cursor>', 'the page after this cursor (printed under a full page)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  crosswalk audit --app my-ios-app\n  crosswalk audit --limit 500 --json')
    .action((options: { app?: string; limit: string; cursor?: string; json?: boolean }) =>
      data.withServices(async (services) => {
        let query;
        try {
          query = parse(checkQuery, options.cursor === undefined ? { limit: options.limit } : { limit: options.limit, cursor: options.cursor });
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          throw new DataCommandError(error.items.map((item) => `--${item.source}: ${item.errors.join(' ')}`).join('; '));
        }
        const app = await data.resolveApp(services, options.app);
        const page = await services.audit.list(app.id, { limit: query.limit ?? AUDIT_DEFAULT_LIMIT, before: query.cursor });
        if (options.json) return console.log(JSON.stringify(page));
        printTable(
          ['ID', 'TIME', 'ACTOR', 'ACTION', 'TARGET', 'DETAIL'],
          page.entries.map((entry) => [
            String(entry.id), new Date(entry.createdAt).toISOString(), entry.actor, entry.action, entry.targetId ?? '', JSON.stringify(entry.detail),
          ]),
        );
        if (page.next !== null) console.log(`\nmore: --cursor ${page.next}`);
      }),
    );
}
