import cluster, { type Worker } from 'node:cluster';
import { bootstrap } from './bootstrap.js';
import { AppService } from './services/apps.js';
import { loadConfig } from './config.js';
import { announceKey, serve, type ServeOptions } from './main.js';
import { KyselyStore } from './storage/kysely-store.js';

const RESTART_DELAY_MS = 1000;

function log(level: number, msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, role: 'primary', msg, ...extra })}\n`);
}

/**
 * Runs `count` server processes that share one listening port (node:cluster). The primary
 * migrates and does the first-start set-up once, then forks the workers, restarts any that die,
 * and on SIGTERM or SIGINT stops them all gracefully before exiting.
 */
export async function serveWorkers(count: number, options: ServeOptions): Promise<void> {
  if (cluster.isWorker) {
    await serve(options);
    return;
  }
  const config = loadConfig();
  const store = KyselyStore.open(config.database);
  try {
    await store.migrate();
    const start = await bootstrap(new AppService(store), config.bootstrapApiKey);
    if (start.generatedKey) announceKey(start.generatedKey, start.app.id);
    if (start.warning) log(40, start.warning);
  } finally {
    await store.close();
  }

  let stopping = false;
  const fork = () => cluster.fork();
  cluster.on('exit', (worker: Worker, code, signal) => {
    if (stopping) return;
    log(50, 'worker died; starting another', { worker: worker.process.pid, code, signal });
    setTimeout(fork, RESTART_DELAY_MS);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(30, 'shutting down workers', { signal });
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let failed = false;
    let left = workers.length;
    if (left === 0) process.exit(0);
    for (const worker of workers) {
      worker.once('exit', (code, signal) => {
        // A worker still starting up when the signal came ends by the signal itself: that is fine too.
        failed ||= code !== 0 && !(code === null && signal === 'SIGTERM');
        if (--left === 0) process.exit(failed ? 1 : 0);
      });
      worker.process.kill('SIGTERM');
    }
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  for (let i = 0; i < count; i++) fork();
  log(30, `started ${count} workers`, { database: config.database.kind });
}
