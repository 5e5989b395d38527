import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { authenticate } from './http/auth.js';
import { registerErrorHandling } from './http/error-handler.js';
import { BODY_LIMIT_BYTES, registerJsonBody } from './http/json-body.js';
import { healthRoutes } from './http/routes/health.js';
import { integrationIdentifierRoutes } from './http/routes/integration-identifiers.js';
import { profileRoutes } from './http/routes/profile.js';
import type { Store } from './storage/store.js';

export interface AppDeps {
  config: Config;
  store: Store;
}

/** Builds the HTTP application with every production option; `main.ts` and the tests both use it. */
export async function buildApp({ config, store }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization'], censor: '[redacted]' },
    },
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: true },
    // Idle keep-alive connections are closed on shutdown so that close() does not wait on them.
    forceCloseConnections: 'idle',
  });
  // Answers given while shutting down close their connection, so that keep-alive clients do not
  // hold the process open until their idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  app.decorateRequest('appId', '');
  app.decorateRequest('apiKeyId', '');
  registerErrorHandling(app);
  registerJsonBody(app);

  healthRoutes(app, store);
  await app.register(async (api) => {
    api.addHook('onRequest', authenticate(store));
    profileRoutes(api, store);
    integrationIdentifierRoutes(api, store);
  });
  return app;
}
