import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from './config.js';
import { authenticate, routeScopes } from './http/auth.js';
import { registerDocs } from './http/docs.js';
import { frameworkErrorHandler, registerErrorHandling } from './http/error-handler.js';
import { BODY_LIMIT_BYTES, registerJsonBody } from './http/json-body.js';
import { KeyCache } from './http/key-cache.js';
import { KeyUsage } from './http/key-usage.js';
import { applyConnectionLimit, clientErrorHandler, serverLimits } from './http/limits.js';
import { AuthFailureLimiter, RateLimiter } from './http/rate-limit.js';
import { RESPONSE_ID_HEADER, requestId } from './http/request-id.js';
import { validatorCompiler } from './http/validation.js';
import { auditRoutes } from './http/routes/audit.js';
import { consoleRoutes } from './http/routes/console.js';
import { healthRoutes } from './http/routes/health.js';
import { crosswalkRoutes } from './http/routes/crosswalk.js';
import { integrationIdentifierRoutes } from './http/routes/integration-identifiers.js';
import { keyInfoRoutes } from './http/routes/key-info.js';
import { measureRequests, metricsRoutes } from './http/routes/metrics.js';
import { profileRoutes } from './http/routes/profile.js';
import { purchaseRoutes } from './http/routes/purchase.js';
import { MAX_ENCODED_ID_LENGTH, revenueConfigRoutes } from './http/routes/revenue-config.js';
import { statsRoutes } from './http/routes/stats.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import { destinationRoutes } from './http/routes/destinations.js';
import { createLogger } from './logger.js';
import type { Metrics } from './metrics.js';
import { createServices } from './services/index.js';
import type { Store } from './storage/store.js';
import { CROSSWALK_VERSION } from './version.js';
import { PolicySender } from './webhooks/destination-sender.js';
import { type HostResolver, NetworkPolicy } from './webhooks/network-policy.js';

export interface AppDeps {
  config: Config;
  store: Store;
  metrics?: Metrics;
  /** How webhook host names are resolved when an endpoint is added (default: the system resolver). */
  resolveHost?: HostResolver;
}

/** Fastify's `trustProxy` for TRUST_PROXY; a number of hops as the function proxy-addr makes of one. */
function proxyTrust(setting: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return typeof setting === 'boolean' ? setting : [...setting];
}

/** Builds the HTTP application with every production option; `main.ts` and the tests both use it. */
export async function buildApp({ config, store, metrics, resolveHost }: AppDeps): Promise<FastifyInstance> {
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
    // Whose X-Forwarded-For gives request.ip, by which failed authentications are counted.
    trustProxy: proxyTrust(config.trustProxy),
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
  // The hooks that run on every request take a callback rather than returning a promise: one
  // microtask and one promise less per hook on the hot paths.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header(RESPONSE_ID_HEADER, request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
    done();
  });
  app.decorateRequest('appId', '');
  app.decorateRequest('apiKeyId', '');
  app.decorateRequest('apiKeyScope', 'read');
  app.decorateRequest('profileHeaders', null);
  registerErrorHandling(app);
  registerJsonBody(app);
  // Every route's TypeBox schema is validated at run time (see http/validation.ts).
  app.setValidatorCompiler(validatorCompiler);

  const network = new NetworkPolicy(config.webhooks, resolveHost);
  const destinationSender = new PolicySender(network, config.webhooks.timeoutMs);
  app.addHook('onClose', async () => destinationSender.close());
  const services = createServices(store, { webhookTargets: network, destinationSender });
  if (metrics) store.onEventsRecorded((counts) => metrics.countEvents(counts));
  await registerDocs(app, CROSSWALK_VERSION);
  healthRoutes(app, services.ping);
  // The console's files need no key: the page asks for one and calls the routes below with it.
  consoleRoutes(app);
  if (metrics) {
    measureRequests(app, metrics);
    // With METRICS_PORT, /metrics is served by buildMetricsApp on a port of its own instead.
    if (config.metricsPort === undefined) metricsRoutes(app, metrics, config.metricsToken);
  }
  await app.register(async (api) => {
    // Every route below gets its scope as it is registered; the hook checks it (see http/auth.ts).
    routeScopes(api);
    const usage = new KeyUsage((keyIds, at) => services.apps.keysUsed(keyIds, at), app.log);
    // Uses noted in the last moments are written before the store closes.
    api.addHook('onClose', () => usage.flush());
    const failures = config.authFailuresPerMinute > 0 ? new AuthFailureLimiter(config.authFailuresPerMinute) : null;
    api.addHook('onRequest', authenticate({ keys: new KeyCache(services.apps, config.apiKeyCacheTtlMs), usage, failures }));
    if (config.rateLimitPerSecond > 0) {
      api.addHook('onRequest', new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst).hook());
    }
    profileRoutes(api, services.profiles);
    integrationIdentifierRoutes(api, services.identifiers, metrics);
    crosswalkRoutes(api, services, metrics);
    webhookRoutes(api, services.webhooks);
    destinationRoutes(api, services.destinations);
    purchaseRoutes(api, services.revenue, metrics);
    revenueConfigRoutes(api, services.revenueConfig);
    auditRoutes(api, services.audit);
    statsRoutes(api, services.stats);
    keyInfoRoutes(api);
  });
  return app;
}

/**
 * The server of METRICS_PORT: GET /metrics (with METRICS_TOKEN when set) and nothing else, so that
 * the metrics can be kept on an address that only the monitoring network reaches.
 */
export async function buildMetricsApp(config: Config, metrics: Metrics): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true, ...serverLimits(config.limits), clientErrorHandler });
  registerErrorHandling(app);
  metricsRoutes(app, metrics, config.metricsToken);
  return app;
}
