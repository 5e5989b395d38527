import { type Static, Type } from 'typebox';
import { EVENT_TYPES, type EventType } from '../domain/events.js';
import {
  DEFAULT_PAGE_SIZE,
  MAX_DESCRIPTION_LENGTH,
  MAX_EVENT_TYPES,
  MAX_PAGE_SIZE,
  MAX_SECRET_LENGTH,
  MAX_URL_LENGTH,
  MIN_SECRET_LENGTH,
  SECRET_PATTERN,
  urlProblem,
} from '../domain/webhook-input.js';
import { DELIVERY_STATUSES, type DeliveryQuery, type DeliveryStatus, type NewEndpoint } from '../domain/webhooks.js';
import { nullable, OnList, pageCursor, pageLimit, storable, Words } from './kit.js';

/** Webhook management input, validated alike for the HTTP API and the `crosswalk webhooks` commands. */

const STRING_OR_NULL = 'Must be a string or null.';
const EVENT_LIST = `Must be a non-empty list of event types: ${EVENT_TYPES.join(', ')}.`;
const SECRET_LENGTH = `A secret must be ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} characters long.`;

const eventType = Type.Unsafe<EventType>(
  Type.String({
    enum: [...EVENT_TYPES],
    // One message per unknown entry, under event_types, naming the entry.
    [Words]: { '*': (value: unknown) => `Unknown event type ${JSON.stringify(value)}; expected one of: ${EVENT_TYPES.join(', ')}.` },
    [OnList]: true,
  }),
);
export const eventTypes = Type.Array(eventType);

export const newEndpointBody = Type.Object(
  {
    url: Type.Refine(
      Type.String({
        maxLength: MAX_URL_LENGTH,
        description: 'An absolute http:// or https:// URL that receives a POST per event',
        [Words]: { type: (value: unknown) => (value === null ? 'This field is required.' : 'Must be a string.') },
      }),
      (url) => urlProblem(url) === null,
      (url) => urlProblem(url) ?? '',
    ),
    event_types: Type.Optional(
      nullable(
        Type.Array(eventType, {
          minItems: 1,
          maxItems: MAX_EVENT_TYPES,
          description: 'The events to send; all of them when left out',
          [Words]: { type: EVENT_LIST, minItems: EVENT_LIST, maxItems: `Must list at most ${MAX_EVENT_TYPES} event types.` },
        }),
      ),
    ),
    secret: Type.Optional(
      nullable(
        Type.String({
          minLength: MIN_SECRET_LENGTH,
          maxLength: MAX_SECRET_LENGTH,
          pattern: SECRET_PATTERN.source,
          description: 'Signs every delivery; generated (whsec_…) when left out',
          [Words]: {
            type: STRING_OR_NULL,
            minLength: SECRET_LENGTH,
            maxLength: SECRET_LENGTH,
            pattern: 'A secret may hold only printable ASCII characters, without spaces.',
          },
        }),
      ),
    ),
    description: Type.Optional(storable(nullable(Type.String({ maxLength: MAX_DESCRIPTION_LENGTH, [Words]: { type: STRING_OR_NULL } })))),
  },
  {
    example: { url: 'https://example.com/crosswalk-webhooks', event_types: ['integration_identifiers.updated'] },
    [Words]: { type: 'Expected a JSON object with at least "url".' },
  },
);

/** The endpoint a valid body asks for: event types deduplicated in catalogue order, every type when left out. */
export function toNewEndpoint(body: Static<typeof newEndpointBody>): NewEndpoint {
  const wanted = new Set(body.event_types ?? EVENT_TYPES);
  const endpoint: NewEndpoint = { url: body.url, eventTypes: EVENT_TYPES.filter((type) => wanted.has(type)) };
  if (typeof body.secret === 'string') endpoint.secret = body.secret;
  if (typeof body.description === 'string') endpoint.description = body.description;
  return endpoint;
}

export const deliveriesQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Unsafe<DeliveryStatus>(Type.String({ enum: [...DELIVERY_STATUSES], [Words]: { '*': `Must be one of: ${DELIVERY_STATUSES.join(', ')}.` } })),
    ),
    endpoint_id: Type.Optional(Type.String({ format: 'uuid', [Words]: { '*': 'Must be the id of a webhook endpoint.' } })),
    profile_id: Type.Optional(
      Type.String({ format: 'uuid', description: 'Only deliveries of events about this profile', [Words]: { '*': 'Must be a profile id (a UUID).' } }),
    ),
    limit: pageLimit(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE),
    cursor: pageCursor('Must be the next_cursor of a previous page.'),
  },
  { [Words]: { repeated: 'Give this parameter once.' } },
);

export function toDeliveryQuery(query: Static<typeof deliveriesQuery>): DeliveryQuery {
  const result: DeliveryQuery = { limit: query.limit ?? DEFAULT_PAGE_SIZE };
  if (query.status !== undefined) result.status = query.status;
  if (query.endpoint_id !== undefined) result.endpointId = query.endpoint_id;
  if (query.profile_id !== undefined) result.profileId = query.profile_id.toLowerCase();
  if (query.cursor !== undefined) result.before = query.cursor;
  return result;
}

