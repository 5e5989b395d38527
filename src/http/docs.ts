import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
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
      schema: schema?.body !== undefined && hasOptionalBody(route) ? ({ ...schema, [OPTIONAL_BODY]: true } as FastifySchema) : schema,
      url,
    }),
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      markOptionalBodies(document.openapiObject.paths as Record<string, Record<string, unknown> | undefined>);
      return document.openapiObject;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { tryItOutEnabled: true, deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
