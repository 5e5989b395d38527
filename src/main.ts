import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, buildMetricsApp } from './app.js';
import { bootstrap } from './bootstrap.js';
import { AppService } from './services/apps.js';
import { HistoryRetention, IdentifierService } from './services/identifiers.js';
import { RevenueService } from './services/revenue.js';
import { ConfigError, loadConfig } from './config.js';
import { isEntryPoint } from './entry-point.js';
import { flushLogs } from './logger.js';
import { createMetrics } from './metrics.js';
import { KyselyStore } from './storage/kysely-store.js';
import { createDeliveryWorker } from './webhooks/worker.js';

export interface ServeOptions {
  host?: string;
  port?: number;
}

/** Shows a generated key once, in a block that stands out from the JSON log lines. */
export function announceKey(key: string, appId: string): void {
  const line = '='.repeat(72);
  process.stdout.write(
    `${line}\nCrosswalk created an API key for app ${appId}. It is shown only this once:\n\n` +
      `    ${key}\n\nSend it as the header "Authorization: Api-Key ${key}".\n` +
      `Set CROSSWALK_API_KEY to choose your own key instead.\n${line}\n`,
  );
}

/** Starts the server: config, store, migrations, first-start set-up, HTTP, graceful shutdown. */
export async function serve(options: ServeOptions = {}): Promise<FastifyInstance> {
  const config = loadConfig();
  const metrics = createMetrics(config);
  const store = KyselyStore.open(config.database, metrics && ((ms, failed) => metrics.observeQuery(ms, failed)));
  await store.migrate();
  const start = await bootstrap(new AppService(store), config.bootstrapApiKey);
  const app = await buildApp({ config, store, metrics });
  const metricsApp = metrics && config.metricsPort !== undefined ? await buildMetricsApp(config, metrics) : undefined;
  if (start.generatedKey) announceKey(start.generatedKey, start.app.id);
  if (start.warning) app.log.warn(start.warning);
  // Each server process delivers webhooks; the queue in the database is shared (see src/webhooks/).
  // At every poll it also runs the access-level clock, whose started and expired events it delivers,
  // and, with HISTORY_RETENTION_DAYS set, a slice of the identifier-history purge (hourly).
  const revenue = new RevenueService(store);
  const historyRetention = config.historyRetentionDays > 0
    ? new HistoryRetention(new IdentifierService(store), config.historyRetentionDays * 86_400_000)
    : undefined;
  const onPoll = async () => {
    const failed = (await Promise.allSettled([revenue.runClock(), historyRetention?.onPoll()])).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const worker = config.webhooks.enabled
    ? createDeliveryWorker(store, config.webhooks, app.log, onPoll, metrics && ((type, outcome) => metrics.countDestinationDelivery(type, outcome)))
    : undefined;

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing requests in flight');
    try {
      await app.close();
      await metricsApp?.close();
      await worker?.stop();
      await store.close();
      app.log.info('stopped');
      await flushLogs(app.log as Logger);
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: options.host ?? config.host, port: options.port ?? config.port });
  if (metricsApp) {
    const address = await metricsApp.listen({ host: config.metricsHost, port: config.metricsPort });
    app.log.info({ address }, 'metrics served on a port of their own');
  }
  worker?.start();
  return app;
}

/** Reports a start-up failure in one clear line and exits non-zero. */
export function failStart(error: unknown): never {
  const message = error instanceof ConfigError ? `configuration error: ${error.message}` : String(error instanceof Error ? error.message : error);
  process.stderr.write(`crosswalk: cannot start: ${message}\n`);
  process.exit(1);
}

if (isEntryPoint(import.meta.url)) serve().catch(failStart);
