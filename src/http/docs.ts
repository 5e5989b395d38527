import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

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
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { tryItOutEnabled: true, deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
