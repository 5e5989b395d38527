import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { hasOptionalBody } from './json-body.js';

/**
 * @fastify/swagger marks every request body `required: true` (a Fastify route with a body schema
 * needs a body), which is not so on the routes whose hook reads no body as `{}`. `transform` tags
 * those operations with this extension (@fastify/swagger copies a schema's `x-` keys into the
 * operation) and `transformObject` turns the tag into `requestBody.required: false`.
 */
const OPTIONAL_BODY = 'x-crosswalk-optional-body';

type Operation = { [OPTIONAL_BODY]?: boolean; requestBody?: { required?: boolean } };

function markOptionalBodies(paths: Record<string, Record<string, unknown> | undefined> = {}): void {
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item ?? {}) as Operation[]) {
      if (typeof operation !== 'object' || operation === null || !(OPTIONAL_BODY in operation)) continue;
      delete operation[OPTIONAL_BODY];
      if (operation.requestBody) operation.requestBody.required = false;
    }
  }
}

/** The tab's icon: two paths crossing. */
const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f4e79"/>' +
  '<path d="M7 9h18M7 23h18M11 5v22M21 5v22" stroke="#fff" stroke-width="3" stroke-linecap="round"/></svg>';

/**
 * The scope an operation needs (given to every API route as it is registered, see routeScopes in
 * auth.ts) as the operation's `x-api-key-scope`, and the 403 a key without it gets.
 */
function withScope(schema: FastifySchema, route: RouteOptions): FastifySchema {
  const scope = route.config?.scope;
  if (schema === undefined || scope === undefined) return schema;
  const documented: Record<string, unknown> = { ...schema, 'x-api-key-scope': scope };
  const response = schema.response as Record<string, unknown> | undefined;
  if (scope !== 'read' && response?.[401] !== undefined) documented.response = { ...response, 403: response[401] };
  return documented as FastifySchema;
}

/**
 * The OpenAPI 3.1 document, generated from the route schemas (the same TypeBox schemas that
 * validate requests, see validation.ts), at /openapi.json, and an interactive reference at /docs
 * where requests can be tried.
 */
export async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Crosswalk',
        version,
        description:
          'Integration identifiers on user profiles. The `/api/v2/server-side-api/` operations speak the ' +
          "wire format of Adapty's server-side API; every error uses one envelope.",
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: 'The value is `Api-Key <your key>`.',
          },
        },
      },
    },
    // Health, metrics and the documents themselves are not API operations.
    hideUntagged: true,
    transform: ({ schema, url, route }) => ({
      schema: withScope(schema?.body !== undefined && hasOptionalBody(route) ? ({ ...schema, [OPTIONAL_BODY]: true } as FastifySchema) : schema, route),
      url,
    }),
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      markOptionalBodies(document.openapiObject.paths as Record<string, Record<string, unknown> | undefined>);
      return document.openapiObject;
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { tryItOutEnabled: true, deepLinking: true },
    // The page is Crosswalk's: its name in the title and the tab's icon, no framework logo or top bar.
    logo: { type: 'image/svg+xml', content: Buffer.from(ICON), href: '/docs' },
    theme: {
      title: 'Crosswalk API reference',
      css: [{ filename: 'crosswalk.css', content: '.swagger-ui .topbar { display: none; }' }],
      favicon: [{ filename: 'crosswalk.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: Buffer.from(ICON) }],
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
