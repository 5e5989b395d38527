import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { notFound } from '../../errors.js';
import { parsePositiveInteger } from '../../domain/webhook-input.js';
import type { WebhookService } from '../../services/webhooks.js';
import type { Delivery, WebhookEndpoint } from '../../storage/webhook-store.js';
import { data, errorResponse, noBody } from '../schemas/common.js';
import {
  createdEndpointResponse,
  deliveriesQuery,
  deliveriesResponse,
  deliveryResponse,
  endpointResponse,
  idParams,
  newEndpointBody,
  toDeliveryQuery,
  toNewEndpoint,
} from '../schemas/webhooks.js';

export const WEBHOOKS_PATH = '/crosswalk/v1/webhooks/';

export const iso = (ms: number) => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

function endpointToWire(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    event_types: endpoint.eventTypes,
    secret_hint: endpoint.secretHint,
    created_at: iso(endpoint.createdAt),
  };
}

export function deliveryToWire(delivery: Delivery) {
  return {
    id: delivery.id,
    endpoint_id: delivery.endpointId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    profile_id: delivery.profileId,
    status: delivery.status,
    attempts: delivery.attempts,
    next_attempt_at: isoOrNull(delivery.nextAttemptAt),
    last_attempt_at: isoOrNull(delivery.lastAttemptAt),
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    created_at: iso(delivery.createdAt),
    completed_at: isoOrNull(delivery.completedAt),
  };
}

const errors = (...statuses: number[]): Record<number, typeof errorResponse> =>
  Object.fromEntries([400, 401, ...statuses, 429].map((status) => [status, errorResponse]));
const tags = ['Webhooks'];
const security = [{ apiKey: [] }];
/** Changing webhooks needs an admin key; listing them, any key (see routeScopes in http/auth.ts). */
const ADMIN = { scope: 'admin' } as const;

/** Webhook management under /crosswalk/v1/webhooks/: endpoints of the key's app and their deliveries. */
export function webhookRoutes(app: FastifyInstance, webhooks: WebhookService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    `${WEBHOOKS_PATH}endpoints/`,
    {
      config: ADMIN,
      schema: {
        operationId: 'createWebhookEndpoint',
        summary: 'Subscribe an endpoint to events (answers the signing secret, once)',
        tags,
        security,
        body: newEndpointBody,
        response: { 201: createdEndpointResponse, ...errors(413, 415) },
      },
    },
    async (request, reply) => {
      const endpoint = toNewEndpoint(request.body);
      const created = await webhooks.addEndpoint(request.appId, endpoint, request.apiKeyId);
      return reply.code(201).send({ data: { ...endpointToWire(created), secret: created.secret } });
    },
  );

  api.get(
    `${WEBHOOKS_PATH}endpoints/`,
    {
      schema: {
        operationId: 'listWebhookEndpoints',
        summary: 'List the webhook endpoints (secrets are shown only as hints)',
        tags,
        security,
        response: { 200: data(Type.Array(endpointResponse)), ...errors() },
      },
    },
    async (request) => ({ data: (await webhooks.listEndpoints(request.appId)).map(endpointToWire) }),
  );

  api.delete(
    `${WEBHOOKS_PATH}endpoints/:id/`,
    {
      config: ADMIN,
      schema: {
        operationId: 'deleteWebhookEndpoint',
        summary: 'Remove an endpoint; its pending deliveries are cancelled',
        tags,
        security,
        params: idParams('The endpoint id'),
        response: { 204: noBody('Removed; empty body'), ...errors(404) },
      },
    },
    async (request, reply) => {
      if (!(await webhooks.removeEndpoint(request.appId, request.params.id, request.apiKeyId))) throw notFound('Webhook endpoint not found');
      return reply.code(204).send();
    },
  );

  api.get(
    `${WEBHOOKS_PATH}deliveries/`,
    {
      schema: {
        operationId: 'listWebhookDeliveries',
        summary: 'List deliveries, newest first',
        tags,
        security,
        querystring: deliveriesQuery,
        response: { 200: deliveriesResponse, ...errors() },
      },
    },
    async (request) => {
      const page = await webhooks.listDeliveries(request.appId, toDeliveryQuery(request.query));
      return { data: page.deliveries.map(deliveryToWire), next_cursor: page.next === null ? null : String(page.next) };
    },
  );

  api.post(
    `${WEBHOOKS_PATH}deliveries/:id/redeliver/`,
    {
      config: ADMIN,
      schema: {
        operationId: 'redeliverWebhook',
        summary: 'Send a delivery’s event to its endpoint again, as a new delivery',
        tags,
        security,
        params: idParams('The delivery id'),
        response: { 202: data(deliveryResponse), ...errors(404) },
      },
    },
    async (request, reply) => {
      const id = parsePositiveInteger(request.params.id);
      const delivery = id === null ? null : await webhooks.redeliver(request.appId, id, request.apiKeyId);
      if (!delivery) throw notFound('Delivery not found');
      return reply.code(202).send({ data: deliveryToWire(delivery) });
    },
  );
}
