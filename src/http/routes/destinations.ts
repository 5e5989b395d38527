import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DESTINATION_EVENT_TYPES, DESTINATION_TYPE_NAMES } from '../../domain/destinations.js';
import { DESTINATION_DELIVERY_STATUSES, type DeliveryStatus } from '../../domain/webhooks.js';
import { parsePositiveInteger } from '../../domain/webhook-input.js';
import { notFound } from '../../errors.js';
import { destinationDeliveriesQuery, newDestinationBody, toDestinationDeliveryQuery } from '../../schemas/destinations.js';
import { nullable } from '../../schemas/kit.js';
import type { DestinationService, DestinationView } from '../../services/destinations.js';
import type { Delivery } from '../../storage/webhook-store.js';
import { data, errorResponse, noBody, nullableString } from '../schemas/common.js';
import { idParams } from '../schemas/webhooks.js';
import { deliveryToWire as webhookDeliveryToWire, iso } from './webhooks.js';

export const DESTINATIONS_PATH = '/crosswalk/v1/destinations/';

function destinationToWire(destination: DestinationView) {
  return {
    id: destination.id,
    type: destination.type,
    base_url: destination.baseUrl,
    config: destination.config,
    event_names: destination.eventNames,
    events: destination.eventTypes,
    include_sandbox: destination.includeSandbox,
    created_at: iso(destination.createdAt),
  };
}

/** A delivery to a destination: a webhook delivery's fields, with the destination's id and the reason. */
function deliveryToWire(delivery: Delivery) {
  const { endpoint_id: destinationId, last_error: reason, ...rest } = webhookDeliveryToWire(delivery);
  return { ...rest, destination_id: destinationId, destination_type: delivery.destinationType ?? null, reason };
}

const time = Type.String({ format: 'date-time' });
const nullableTime = nullable(time);
const destinationResponse = Type.Object({
  id: Type.String({ format: 'uuid' }),
  type: Type.String({ enum: [...DESTINATION_TYPE_NAMES] }),
  base_url: Type.String(),
  config: Type.Record(Type.String(), Type.String(), { description: 'Credentials in full only in the answer that adds the destination; afterwards as hints' }),
  event_names: Type.Record(Type.String(), Type.String(), { description: "Event names (Adjust: tokens) by kind: the type's defaults with the destination's own over them" }),
  events: Type.Array(Type.String({ enum: [...DESTINATION_EVENT_TYPES] })),
  include_sandbox: Type.Boolean(),
  created_at: time,
});
const deliveryResponse = Type.Object({
  id: Type.Integer({ description: 'Increasing: newer deliveries have larger ids' }),
  destination_id: Type.String(),
  destination_type: nullable(Type.String({ enum: [...DESTINATION_TYPE_NAMES], description: "The destination's type (also for a removed destination)" })),
  event_id: Type.String({ format: 'uuid' }),
  event_type: Type.String(),
  profile_id: Type.String({ format: 'uuid' }),
  status: Type.Unsafe<DeliveryStatus>(Type.String({ enum: [...DESTINATION_DELIVERY_STATUSES] })),
  attempts: Type.Integer({ description: 'Attempts made so far (a skipped delivery counts the one that found nothing to send)' }),
  next_attempt_at: nullableTime,
  last_attempt_at: nullableTime,
  last_status_code: nullable(Type.Integer()),
  reason: nullable(Type.String({ description: "Why it was skipped, the tool's message for a failure, or null" })),
  created_at: time,
  completed_at: nullableTime,
});
const testResponse = Type.Object({
  status: Type.String({ enum: ['succeeded', 'failed', 'skipped'] }),
  status_code: nullable(Type.Integer()),
  error: nullableString,
  answer: nullable(Type.String({ description: "The start of the tool's answer" })),
});

const errors = (...statuses: number[]): Record<number, typeof errorResponse> =>
  Object.fromEntries([400, 401, 403, ...statuses, 429].map((status) => [status, errorResponse]));
const tags = ['Destinations'];
const security = [{ apiKey: [] }];
/** Destinations hold credentials: every operation on them, listing included, needs an admin key. */
const ADMIN = { scope: 'admin' } as const;

/** Destinations under /crosswalk/v1/destinations/: the tools the app's revenue is sent to, and their deliveries. */
export function destinationRoutes(app: FastifyInstance, destinations: DestinationService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    DESTINATIONS_PATH,
    {
      config: ADMIN,
      schema: {
        operationId: 'createDestination',
        summary: 'Send revenue to a tool (answers the credentials, once)',
        tags,
        security,
        body: newDestinationBody,
        response: { 201: data(destinationResponse), ...errors(413, 415) },
      },
    },
    async (request, reply) => {
      const created = await destinations.addDestination(request.appId, request.body, request.apiKeyId);
      return reply.code(201).send({ data: destinationToWire(created) });
    },
  );

  api.get(
    DESTINATIONS_PATH,
    {
      config: ADMIN,
      schema: {
        operationId: 'listDestinations',
        summary: 'List the destinations (credentials as hints)',
        tags,
        security,
        response: { 200: data(Type.Array(destinationResponse)), ...errors() },
      },
    },
    async (request) => ({ data: (await destinations.listDestinations(request.appId)).map(destinationToWire) }),
  );

  api.get(
    `${DESTINATIONS_PATH}deliveries/`,
    {
      config: ADMIN,
      schema: {
        operationId: 'listDestinationDeliveries',
        summary: 'List deliveries to destinations, newest first, with the reason of each skip or failure',
        tags,
        security,
        querystring: destinationDeliveriesQuery,
        response: {
          200: Type.Object({ data: Type.Array(deliveryResponse), next_cursor: nullable(Type.String({ description: 'Pass as cursor for the next page' })) }),
          ...errors(),
        },
      },
    },
    async (request) => {
      const page = await destinations.listDeliveries(request.appId, toDestinationDeliveryQuery(request.query));
      return { data: page.deliveries.map(deliveryToWire), next_cursor: page.next === null ? null : String(page.next) };
    },
  );

  api.post(
    `${DESTINATIONS_PATH}deliveries/:id/redeliver/`,
    {
      config: ADMIN,
      schema: {
        operationId: 'redeliverToDestination',
        summary: 'Send a delivery’s event to its destination again, as a new delivery with the same dedup key',
        tags,
        security,
        params: idParams('The delivery id'),
        response: { 202: data(deliveryResponse), ...errors(404) },
      },
    },
    async (request, reply) => {
      const id = parsePositiveInteger(request.params.id);
      const delivery = id === null ? null : await destinations.redeliver(request.appId, id, request.apiKeyId);
      if (!delivery) throw notFound('Delivery not found');
      return reply.code(202).send({ data: deliveryToWire(delivery) });
    },
  );

  api.delete(
    `${DESTINATIONS_PATH}:id/`,
    {
      config: ADMIN,
      schema: {
        operationId: 'deleteDestination',
        summary: 'Remove a destination; its pending deliveries are cancelled',
        tags,
        security,
        params: idParams('The destination id'),
        response: { 204: noBody('Removed; empty body'), ...errors(404) },
      },
    },
    async (request, reply) => {
      if (!(await destinations.removeDestination(request.appId, request.params.id, request.apiKeyId))) throw notFound('Destination not found');
      return reply.code(204).send();
    },
  );

  api.post(
    `${DESTINATIONS_PATH}:id/test/`,
    {
      config: ADMIN,
      schema: {
        operationId: 'testDestination',
        summary: "Send one test event (a sandbox purchase of 0.01 USD) now and report the tool's answer",
        tags,
        security,
        params: idParams('The destination id'),
        response: { 200: data(testResponse), ...errors(404) },
      },
    },
    async (request) => {
      const result = await destinations.test(request.appId, request.params.id);
      if (!result) throw notFound('Destination not found');
      return { data: { status: result.status, status_code: result.statusCode, error: result.error, answer: result.answer } };
    },
  );
}
