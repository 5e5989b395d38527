import { ConfigError } from './config.js';
import { AppNameTakenError } from './errors.js';
import { apiKeyProblem, generateApiKey } from './domain/api-keys.js';
import { STARTUP_ACTOR } from './domain/audit.js';
import type { AppService } from './services/apps.js';
import type { App } from './storage/store.js';

export const DEFAULT_APP_NAME = 'default';

export interface Bootstrap {
  app: App;
  /** A key generated at this start, to be shown once; undefined when none was made. */
  generatedKey?: string;
  /** Something the operator should hear about, such as a revoked bootstrap key. */
  warning?: string;
}

/** Creates the first app; another process starting at the same moment may win, and that is fine. */
async function createFirstApp(apps: AppService): Promise<App> {
  try {
    return await apps.create(DEFAULT_APP_NAME, STARTUP_ACTOR);
  } catch (error) {
    const first = error instanceof AppNameTakenError ? (await apps.list())[0] : undefined;
    if (!first) throw error;
    return first;
  }
}

/**
 * Makes a database usable on first start: one app, and a key for it. With `CROSSWALK_API_KEY`
 * that exact key is registered (again and again, harmlessly); without it a key is generated only
 * when the database has none at all.
 */
export async function bootstrap(apps: AppService, bootstrapApiKey: string | undefined): Promise<Bootstrap> {
  const app = (await apps.list())[0] ?? (await createFirstApp(apps));
  if (bootstrapApiKey !== undefined) {
    const problem = apiKeyProblem(bootstrapApiKey);
    if (problem) throw new ConfigError(`CROSSWALK_API_KEY is not usable: ${problem}`);
    // An admin key: it was the one key of the first version, which could do everything.
    const { key } = await apps.addKey(app.id, bootstrapApiKey, 'CROSSWALK_API_KEY', STARTUP_ACTOR, { scope: 'admin' });
    if (key.revokedAt !== null) return { app, warning: `CROSSWALK_API_KEY (${key.hint}) is revoked; it is not accepted` };
    if (key.expiresAt !== null && key.expiresAt <= Date.now()) return { app, warning: `CROSSWALK_API_KEY (${key.hint}) has expired; it is not accepted` };
    if (key.appId !== app.id) return { app, warning: `CROSSWALK_API_KEY (${key.hint}) belongs to app ${key.appId}` };
    return { app };
  }
  if ((await apps.listKeys()).length > 0) return { app };
  const generatedKey = generateApiKey();
  await apps.addKey(app.id, generatedKey, 'generated at first start', STARTUP_ACTOR, { scope: 'admin', generated: true });
  return { app, generatedKey };
}
