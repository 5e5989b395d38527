import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from './config.js';
import { authenticate } from './http/auth.js';
import { registerDocs } from './http/docs.js';
import { frameworkErrorHandler, registerErrorHandling } from './http/error-handler.js';
import { BODY_LIMIT_BYTES, registerJsonBody } from './http/json-body.js';
import { KeyCache } from './http/key-cache.js';
import { applyConnectionLimit, clientErrorHandler, serverLimits } from './http/limits.js';
import { RateLimiter } from './http/rate-limit.js';
import { RESPONSE_ID_HEADER, requestId } from './http/request-id.js';
import { validatorCompiler } from './http/validation.js';
import { healthRoutes } from './http/routes/health.js';
import { crosswalkRoutes } from './http/routes/crosswalk.js';
import { integrationIdentifierRoutes } from './http/routes/integration-identifiers.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { profileRoutes } from './http/routes/profile.js';
import { purchaseRoutes } from './http/routes/purchase.js';
import { MAX_ENCODED_ID_LENGTH, revenueConfigRoutes } from './http/routes/revenue-config.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import { createLogger } from './logger.js';
import type { Metrics } from './metrics.js';
import { createServices } from './services/index.js';
import type { Store } from './storage/store.js';
import { CROSSWALK_VERSION } from './version.js';

export interface AppDeps {
  config: Config;
  store: Store;
  metrics?: Metrics;
}

/** Builds the HTTP application with every production option; `main.ts` and the tests both use it. */
export async function buildApp({ config, store, metrics }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: createLogger(config) as FastifyBaseLogger,
    // One access-log line per request (below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestId,
    frameworkErrors: frameworkErrorHandler,
    bodyLimit: BODY_LIMIT_BYTES,
    // Path parameters as long as the longest id a route takes (Fastify's default is 100 characters).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_ENCODED_ID_LENGTH },
    // Idle keep-alive connections are closed on shutdown so that close() does not wait on them.
    forceCloseConnections: 'idle',
    ...serverLimits(config.limits),
    clientErrorHandler,
  });
  applyConnectionLimit(app, config.limits);
  // Answers given while shutting down close their connection, so that keep-alive clients do not
  // hold the process open until their idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  app.addHook('onRequest', async (request, reply) => {
    void reply.header(RESPONSE_ID_HEADER, request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });
  app.decorateRequest('appId', '');
  app.decorateRequest('apiKeyId', '');
  app.decorateRequest('profileHeaders', null);
  registerErrorHandling(app);
  registerJsonBody(app);
  // Every route's TypeBox schema is validated at run time (see http/validation.ts).
  app.setValidatorCompiler(validatorCompiler);

  const services = createServices(store);
  if (metrics) store.onEventsRecorded((counts) => metrics.countEvents(counts));
  await registerDocs(app, CROSSWALK_VERSION);
  healthRoutes(app, services.ping);
  if (metrics) metricsRoutes(app, metrics);
  await app.register(async (api) => {
    api.addHook('onRequest', authenticate(new KeyCache(services.apps, config.apiKeyCacheTtlMs)));
    if (config.rateLimitPerSecond > 0) {
      api.addHook('onRequest', new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst).hook());
    }
    profileRoutes(api, services.profiles);
    integrationIdentifierRoutes(api, services.identifiers, metrics);
    crosswalkRoutes(api, services, metrics);
    webhookRoutes(api, services.webhooks);
    purchaseRoutes(api, services.revenue, metrics);
    revenueConfigRoutes(api, services.revenueConfig);
  });
  return app;
}
