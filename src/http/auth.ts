import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { isKeyScope, type KeyScope, scopeAllows } from '../domain/api-keys.js';
import { ApiError } from '../errors.js';
import { headerCount } from './raw-headers.js';
import type { KeyCache } from './key-cache.js';
import type { KeyUsage } from './key-usage.js';
import type { AuthFailureLimiter } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The app the request's API key belongs to; set by the authentication hook. */
    appId: string;
    apiKeyId: string;
    /** What the request's API key may do; set by the authentication hook. */
    apiKeyScope: KeyScope;
  }
  interface FastifyContextConfig {
    /**
     * The least scope a key needs to call the route. Left out: `read` for GET and HEAD, `write`
     * for every other method (see routeScopes); management routes say `admin`.
     */
    scope?: KeyScope;
  }
}

const NOT_PROVIDED = 'Authentication credentials were not provided.';

/** The secret of an `Authorization: Api-Key <secret>` header (scheme case-insensitive), if well formed. */
export function readApiKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^api-key +(\S+)$/i.exec(header.trim());
  return match?.[1] ?? null;
}

/** The scope a route needs when it names none: reading needs `read`, anything else `write`. */
export function defaultScope(method: RouteOptions['method']): KeyScope {
  const methods = [method].flat().map((name) => name.toUpperCase());
  return methods.every((name) => name === 'GET' || name === 'HEAD') ? 'read' : 'write';
}

/**
 * Gives every route registered on `api` from now on its scope, once, as it is registered: the one
 * its `config.scope` names, or its method's default. A route that names something else fails the
 * start, so that no route can be left without a scope or with one the check does not know.
 */
export function routeScopes(api: FastifyInstance): void {
  api.addHook('onRoute', (route) => {
    const named: unknown = route.config?.scope;
    if (named !== undefined && !isKeyScope(named)) {
      throw new Error(`route ${String(route.method)} ${route.url} names the unknown scope ${JSON.stringify(named)}`);
    }
    route.config = { ...route.config, scope: named ?? defaultScope(route.method) };
  });
}

const forbidden = (needed: KeyScope, granted: KeyScope) =>
  ApiError.general('forbidden', `This API key has the ${granted} scope; this operation needs the ${needed} scope.`);

function tooManyFailures(seconds: number): ApiError {
  const retry = String(seconds);
  return new ApiError(
    'rate_limited',
    [{ source: 'non_field_errors', errors: [`Too many failed authentications from this address; retry in ${retry} s.`] }],
    { 'retry-after': retry },
  );
}

export interface AuthenticationParts {
  keys: KeyCache;
  usage: KeyUsage;
  /** Null when failed authentications are not limited (AUTH_FAILURES_PER_MINUTE=0). */
  failures: AuthFailureLimiter | null;
}

/**
 * An onRequest hook: every API route needs a valid key, the key decides the app, and the key's
 * scope must cover the route's. A client address that failed too often is answered 429 before any
 * lookup, unless its key is one this process already knows as valid.
 */
export function authenticate({ keys, usage, failures }: AuthenticationParts) {
  const refuse = (request: FastifyRequest, error: ApiError): never => {
    failures?.failed(request.ip);
    throw error;
  };
  return async (request: FastifyRequest): Promise<void> => {
    // Node keeps only the first of two Authorization headers; two keys are no credentials at all.
    const secret = headerCount(request.raw.rawHeaders, 'authorization') > 1 ? null : readApiKey(request.headers.authorization);
    const probe = secret === null ? null : keys.probe(secret);
    if (probe?.answer == null && !probe?.knownValid) {
      const wait = failures?.blocked(request.ip) ?? null;
      if (wait !== null) throw tooManyFailures(wait);
    }
    if (secret === null || probe === null) return refuse(request, ApiError.general('not_authenticated', NOT_PROVIDED));
    const owner = probe.answer !== undefined ? probe.answer : await keys.lookup(secret, probe);
    if (owner === null) return refuse(request, ApiError.general('unauthorized', 'Invalid API key'));
    request.appId = owner.appId;
    request.apiKeyId = owner.keyId;
    request.apiKeyScope = owner.scope;
    usage.note(owner.keyId);
    const needed = request.routeOptions.config.scope ?? defaultScope(request.method);
    if (!scopeAllows(owner.scope, needed)) throw forbidden(needed, owner.scope);
  };
}
