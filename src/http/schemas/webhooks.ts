import { Type } from 'typebox';
import { EVENT_TYPES } from '../../domain/events.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../domain/webhooks.js';
import { nullable } from '../../schemas/kit.js';
import { eventTypes } from '../../schemas/webhooks.js';
import { data, nullableString } from './common.js';

export { deliveriesQuery, newEndpointBody, toDeliveryQuery, toNewEndpoint } from '../../schemas/webhooks.js';

/** Schemas of /crosswalk/v1/webhooks/: the answers (the request bodies and query are in src/schemas/webhooks.ts). */

/** Ids in paths stay text: one that cannot be an id is simply not found. */
export const idParams = (description: string) => Type.Object({ id: Type.String({ description }) });

const time = Type.String({ format: 'date-time' });
const nullableTime = nullable(Type.String({ format: 'date-time' }));

const endpointProperties = {
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  description: nullableString,
  event_types: eventTypes,
  secret_hint: Type.String({ description: 'The start of the secret, to tell secrets apart' }),
  created_at: time,
};
export const endpointResponse = Type.Object(endpointProperties);
export const createdEndpointResponse = data(
  Type.Object({ ...endpointProperties, secret: Type.String({ description: 'Signs every delivery; shown only in this answer' }) }),
);

export const deliveryResponse = Type.Object({
  id: Type.Integer({ description: 'Increasing: newer deliveries have larger ids' }),
  endpoint_id: Type.String(),
  event_id: Type.String({ format: 'uuid' }),
  event_type: Type.String({ enum: [...EVENT_TYPES] }),
  profile_id: Type.String({ format: 'uuid' }),
  status: Type.Unsafe<DeliveryStatus>(Type.String({ enum: [...DELIVERY_STATUSES] })),
  attempts: Type.Integer({ description: 'Attempts started so far' }),
  next_attempt_at: nullable(Type.String({ format: 'date-time', description: 'When the next attempt is due; null unless pending' })),
  last_attempt_at: nullableTime,
  last_status_code: nullable(Type.Integer()),
  last_error: nullableString,
  created_at: time,
  completed_at: nullableTime,
});

export const deliveriesResponse = Type.Object({
  data: Type.Array(deliveryResponse),
  next_cursor: nullable(Type.String({ description: 'Pass as cursor for the next page; null on the last page' })),
});
