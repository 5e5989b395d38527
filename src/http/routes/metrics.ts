import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';

/** The per-request measurements behind /metrics: every answer of `app` is counted and timed. */
export function measureRequests(app: FastifyInstance, metrics: Metrics): void {
  // Each series' counter and histogram, found once: prom-client would otherwise sort and join the
  // labels into a key on every call. Routes, methods and statuses are few, so this stays small.
  const series = new Map<string, { requests: { inc(): void }; duration: { observe(seconds: number): void } }>();
  app.addHook('onResponse', (request, reply, done) => {
    // The route template, never the raw URL, so that labels stay few.
    const route = request.routeOptions.url ?? 'unmatched';
    const name = `${route} ${request.method} ${reply.statusCode}`;
    let measured = series.get(name);
    if (!measured) {
      const labels = { route, method: request.method, status: String(reply.statusCode) };
      measured = { requests: metrics.httpRequests.labels(labels), duration: metrics.httpDuration.labels(labels) };
      series.set(name, measured);
    }
    measured.requests.inc();
    measured.duration.observe(reply.elapsedTime / 1000);
    done();
  });
}

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time. */
function hasToken(request: FastifyRequest, token: Buffer): boolean {
  const match = /^bearer +(\S+)$/i.exec(request.headers.authorization?.trim() ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!, 'utf8');
  return given.length === token.length && timingSafeEqual(given, token);
}

/** GET /metrics in Prometheus text format; with a token set, only for requests that carry it. */
export function metricsRoutes(app: FastifyInstance, metrics: Metrics, token?: string): void {
  const expected = token === undefined ? undefined : Buffer.from(token, 'utf8');
  app.get('/metrics', async (request, reply) => {
    if (expected && !hasToken(request, expected)) {
      throw new ApiError(
        'not_authenticated',
        [{ source: 'non_field_errors', errors: ['GET /metrics needs the header "Authorization: Bearer <METRICS_TOKEN>".'] }],
        { 'www-authenticate': 'Bearer realm="metrics"' },
      );
    }
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
