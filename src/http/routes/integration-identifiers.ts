import type { FastifyInstance } from 'fastify';
import { profileNotFound } from '../../errors.js';
import { parseIdentifierChanges } from '../../domain/identifiers.js';
import type { Metrics } from '../../metrics.js';
import type { IdentifierService } from '../../services/identifiers.js';
import { readAddress } from '../addressing.js';
import { actorOf, DROPPED_HEADER } from '../actor.js';
import { addressHeaders, errorResponses, identifiersRequest } from '../openapi-schemas.js';
import { identifiersResponse } from '../schemas.js';

export const IDENTIFIERS_PATH = '/api/v2/server-side-api/integration/profile/set/integration-identifiers/';

export function integrationIdentifierRoutes(app: FastifyInstance, identifiers: IdentifierService, metrics?: Metrics): void {
  const tags = ['Integration identifiers (Adapty-compatible)'];
  const security = [{ apiKey: [] }];
  const set = {
    operationId: 'setIntegrationIdentifiers',
    summary: 'Set or clear integration identifiers (merge)',
    tags,
    security,
    headers: addressHeaders(),
    body: identifiersRequest,
    response: {
      200: {
        description: `Stored durably; empty body. Placeholder values left out under the app's rules are named in the ${DROPPED_HEADER} header.`,
        type: 'null',
      },
      ...errorResponses(404, 409),
    },
  };
  const get = {
    operationId: 'getIntegrationIdentifiers',
    summary: 'Get all 16 integration identifiers (null where unset)',
    tags,
    security,
    headers: addressHeaders(),
    response: { 200: identifiersResponse, ...errorResponses(404) },
  };

  app.post(IDENTIFIERS_PATH, { schema: set }, async (request, reply) => {
    const address = readAddress(request);
    const changes = parseIdentifierChanges(request.body);
    const result = await identifiers.set(request.appId, address, changes, actorOf(request, 'api'));
    if (!result) throw profileNotFound();
    metrics?.countIdentifierWrite(result);
    // The body stays empty, as the contract says; placeholders left out are named in a header.
    if (result.dropped.length > 0) void reply.header(DROPPED_HEADER, result.dropped.map((d) => d.key).join(','));
    return reply.code(200).send();
  });

  app.get(IDENTIFIERS_PATH, { schema: get }, async (request) => {
    const set = await identifiers.get(request.appId, readAddress(request));
    if (!set) throw profileNotFound();
    return set;
  });
}
