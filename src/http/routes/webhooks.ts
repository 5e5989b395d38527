import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';
import { EVENT_TYPES } from '../../domain/events.js';
import type { WebhookService } from '../../services/webhooks.js';
import { DELIVERY_STATUSES } from '../../domain/webhooks.js';
import type { Delivery, WebhookEndpoint } from '../../storage/webhook-store.js';
import {
  DEFAULT_PAGE_SIZE,
  MAX_DESCRIPTION_LENGTH,
  MAX_PAGE_SIZE,
  MAX_SECRET_LENGTH,
  MAX_URL_LENGTH,
  MIN_SECRET_LENGTH,
  parseDeliveryQuery,
  parseNewEndpoint,
  parsePositiveInteger,
} from '../../domain/webhook-input.js';
import { errorResponse } from '../openapi-schemas.js';

export const WEBHOOKS_PATH = '/crosswalk/v1/webhooks/';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

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

function deliveryToWire(delivery: Delivery) {
  return {
    id: delivery.id,
    endpoint_id: delivery.endpointId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    profile_id: delivery.profileId,
    status: delivery.status,
    attempts: delivery.attempts,
    next_attempt_at: iso(delivery.nextAttemptAt),
    last_attempt_at: iso(delivery.lastAttemptAt),
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    created_at: iso(delivery.createdAt),
    completed_at: iso(delivery.completedAt),
  };
}

const endpointNotFound = () => new ApiError('not_found', [{ source: null, errors: ['Webhook endpoint not found'] }]);
const deliveryNotFound = () => new ApiError('not_found', [{ source: null, errors: ['Delivery not found'] }]);

// Schemas: the wire contract of the answers (Fastify serialises with them) and the OpenAPI document.
const nullableString = { type: ['string', 'null'] } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const eventTypes = { type: 'array', items: { type: 'string', enum: [...EVENT_TYPES] } } as const;

const endpointProperties = {
  id: { type: 'string', format: 'uuid' },
  url: { type: 'string' },
  description: nullableString,
  event_types: eventTypes,
  secret_hint: { type: 'string', description: 'The start of the secret, to tell secrets apart' },
  created_at: time,
} as const;
const endpointRequired = ['id', 'url', 'description', 'event_types', 'secret_hint', 'created_at'];
const endpointSchema = { type: 'object', required: endpointRequired, properties: endpointProperties } as const;
const createdEndpointSchema = {
  type: 'object',
  required: [...endpointRequired, 'secret'],
  properties: { ...endpointProperties, secret: { type: 'string', description: 'Signs every delivery; shown only in this answer' } },
} as const;

const deliverySchema = {
  type: 'object',
  required: [
    'id', 'endpoint_id', 'event_id', 'event_type', 'profile_id', 'status', 'attempts', 'next_attempt_at',
    'last_attempt_at', 'last_status_code', 'last_error', 'created_at', 'completed_at',
  ],
  properties: {
    id: { type: 'integer', description: 'Increasing: newer deliveries have larger ids' },
    endpoint_id: { type: 'string' },
    event_id: { type: 'string', format: 'uuid' },
    event_type: { type: 'string', enum: [...EVENT_TYPES] },
    profile_id: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: [...DELIVERY_STATUSES] },
    attempts: { type: 'integer', description: 'Attempts started so far' },
    next_attempt_at: { ...nullableTime, description: 'When the next attempt is due; null unless pending' },
    last_attempt_at: nullableTime,
    last_status_code: { type: ['integer', 'null'] },
    last_error: nullableString,
    created_at: time,
    completed_at: nullableTime,
  },
} as const;

const data = (schema: object) => ({ type: 'object', required: ['data'], properties: { data: schema } });
const errors = (...statuses: number[]) => Object.fromEntries([400, 401, ...statuses, 429].map((status) => [status, errorResponse]));
const tags = ['Webhooks'];
const security = [{ apiKey: [] }];
const idParam = (description: string) => ({ type: 'object', required: ['id'], properties: { id: { type: 'string', description } } });

const newEndpointBody = {
  type: 'object',
  required: ['url'],
  properties: {
    url: { type: 'string', maxLength: MAX_URL_LENGTH, description: 'An absolute http:// or https:// URL that receives a POST per event' },
    event_types: { ...eventTypes, minItems: 1, description: 'The events to send; all of them when left out' },
    secret: {
      type: 'string',
      minLength: MIN_SECRET_LENGTH,
      maxLength: MAX_SECRET_LENGTH,
      description: 'Signs every delivery; generated (whsec_…) when left out',
    },
    description: { type: ['string', 'null'], maxLength: MAX_DESCRIPTION_LENGTH },
  },
  example: { url: 'https://example.com/crosswalk-webhooks', event_types: ['integration_identifiers.updated'] },
} as const;

/** Webhook management under /crosswalk/v1/webhooks/: endpoints of the key's app and their deliveries. */
export function webhookRoutes(app: FastifyInstance, webhooks: WebhookService): void {

  app.post(
    `${WEBHOOKS_PATH}endpoints/`,
    {
      schema: {
        operationId: 'createWebhookEndpoint',
        summary: 'Subscribe an endpoint to events (answers the signing secret, once)',
        tags,
        security,
        body: newEndpointBody,
        response: { 201: data(createdEndpointSchema), ...errors(413, 415) },
      },
    },
    async (request, reply) => {
      const endpoint = parseNewEndpoint(request.body);
      const created = await webhooks.addEndpoint(request.appId, endpoint);
      return reply.code(201).send({ data: { ...endpointToWire(created), secret: created.secret } });
    },
  );

  app.get(
    `${WEBHOOKS_PATH}endpoints/`,
    {
      schema: {
        operationId: 'listWebhookEndpoints',
        summary: 'List the webhook endpoints (secrets are shown only as hints)',
        tags,
        security,
        response: { 200: data({ type: 'array', items: endpointSchema }), ...errors() },
      },
    },
    async (request) => ({ data: (await webhooks.listEndpoints(request.appId)).map(endpointToWire) }),
  );

  app.delete<{ Params: { id: string } }>(
    `${WEBHOOKS_PATH}endpoints/:id/`,
    {
      schema: {
        operationId: 'deleteWebhookEndpoint',
        summary: 'Remove an endpoint; its pending deliveries are cancelled',
        tags,
        security,
        params: idParam('The endpoint id'),
        response: { 204: { description: 'Removed; empty body', type: 'null' }, ...errors(404) },
      },
    },
    async (request, reply) => {
      if (!(await webhooks.removeEndpoint(request.appId, request.params.id))) throw endpointNotFound();
      return reply.code(204).send();
    },
  );

  app.get(
    `${WEBHOOKS_PATH}deliveries/`,
    {
      schema: {
        operationId: 'listWebhookDeliveries',
        summary: 'List deliveries, newest first',
        tags,
        security,
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: [...DELIVERY_STATUSES] },
            endpoint_id: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE },
            cursor: { type: 'string', description: 'next_cursor of the previous page' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['data', 'next_cursor'],
            properties: {
              data: { type: 'array', items: deliverySchema },
              next_cursor: { ...nullableString, description: 'Pass as cursor for the next page; null on the last page' },
            },
          },
          ...errors(),
        },
      },
    },
    async (request) => {
      const page = await webhooks.listDeliveries(request.appId, parseDeliveryQuery(request.query));
      return { data: page.deliveries.map(deliveryToWire), next_cursor: page.next === null ? null : String(page.next) };
    },
  );

  app.post<{ Params: { id: string } }>(
    `${WEBHOOKS_PATH}deliveries/:id/redeliver/`,
    {
      schema: {
        operationId: 'redeliverWebhook',
        summary: 'Send a delivery’s event to its endpoint again, as a new delivery',
        tags,
        security,
        params: idParam('The delivery id'),
        response: { 202: data(deliverySchema), ...errors(404) },
      },
    },
    async (request, reply) => {
      const id = parsePositiveInteger(request.params.id);
      const delivery = id === null ? null : await webhooks.redeliver(request.appId, id);
      if (!delivery) throw deliveryNotFound();
      return reply.code(202).send({ data: deliveryToWire(delivery) });
    },
  );
}
