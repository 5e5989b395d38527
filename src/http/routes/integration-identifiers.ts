import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { profileNotFound } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import { identifiersBody, toIdentifierChanges } from '../../schemas/identifiers.js';
import type { IdentifierService } from '../../services/identifiers.js';
import { profileHeaders, profileHeadersOf, readAddress } from '../addressing.js';
import { actorOf, DROPPED_HEADER } from '../actor.js';
import { emptyBodyIsEmptyObject } from '../json-body.js';
import { addressHeaders, errorResponses, noBody } from '../schemas/common.js';
import { identifiersResponse } from '../schemas/identifiers.js';

export const IDENTIFIERS_PATH = '/api/v2/server-side-api/integration/profile/set/integration-identifiers/';

export function integrationIdentifierRoutes(app: FastifyInstance, identifiers: IdentifierService, metrics?: Metrics): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['Integration identifiers (Adapty-compatible)'];
  const security = [{ apiKey: [] }];
  const set = {
    operationId: 'setIntegrationIdentifiers',
    summary: 'Set or clear integration identifiers (merge)',
    tags,
    security,
    headers: addressHeaders(),
    body: identifiersBody,
    response: {
      200: noBody(`Stored durably; empty body. Placeholder values left out under the app's rules are named in the ${DROPPED_HEADER} header.`),
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

  // Header problems first; an empty body is {} ("at least one identifier").
  api.post(IDENTIFIERS_PATH, { schema: set, preValidation: [profileHeaders(), emptyBodyIsEmptyObject] }, async (request, reply) => {
    const changes = toIdentifierChanges(request.body);
    const result = await identifiers.set(request.appId, profileHeadersOf(request).address, changes, actorOf(request, 'api'));
    if (!result) throw profileNotFound();
    metrics?.countIdentifierWrite(result);
    // The body stays empty, as the contract says; placeholders left out are named in a header.
    if (result.dropped.length > 0) void reply.header(DROPPED_HEADER, result.dropped.map((d) => d.key).join(','));
    return reply.code(200).send();
  });

  // Nothing else to validate: the headers are read in the handler, which spares the hot read path a hook.
  api.get(IDENTIFIERS_PATH, { schema: get }, async (request) => {
    const set = await identifiers.get(request.appId, readAddress(request));
    if (!set) throw profileNotFound();
    return set;
  });
}
