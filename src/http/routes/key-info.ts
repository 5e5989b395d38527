import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { KEY_SCOPES, type KeyScope } from '../../domain/api-keys.js';
import { errorResponses } from '../schemas/common.js';

export const KEY_INFO_PATH = '/crosswalk/v1/key/';

const keyInfoResponse = Type.Object({
  app_id: Type.String({ format: 'uuid' }),
  key_id: Type.String({ format: 'uuid' }),
  scope: Type.Unsafe<KeyScope>(Type.String({ enum: [...KEY_SCOPES], description: 'read ⊂ write ⊂ admin: what the key may do' })),
});

/** GET /crosswalk/v1/key/: which app and key the request's API key is, and what it may do. Any key may ask. */
export function keyInfoRoutes(app: FastifyInstance): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    KEY_INFO_PATH,
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'getApiKeyInfo',
        summary: 'Name the app and the key of this request, and the key’s scope',
        description: 'Any key may call it: a client (the console, a script) learns what it may do before trying.',
        tags: ['App (Crosswalk)'],
        security: [{ apiKey: [] }],
        response: { 200: keyInfoResponse, ...errorResponses() },
      },
    },
    async (request) => ({ app_id: request.appId, key_id: request.apiKeyId, scope: request.apiKeyScope }),
  );
}
