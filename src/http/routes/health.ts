import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';


const READY_TIMEOUT_MS = 2000;

/** Liveness and readiness probes; neither needs an API key. */
export function healthRoutes(app: FastifyInstance, ping: () => Promise<void>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('database did not answer in time')), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([ping(), timeout]);
    } catch (error) {
      app.log.warn({ err: error }, 'readiness check failed');
      throw ApiError.general('service_unavailable', 'The database is not answering.');
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ready' };
  });
}
