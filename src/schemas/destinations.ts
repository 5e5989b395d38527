import { type Static, Type } from 'typebox';
import {
  DESTINATION_EVENT_TYPES,
  DESTINATION_TYPE_NAMES,
  type DestinationEventType,
  type DestinationTypeName,
  EVENT_NAME_KINDS,
  MAX_CONFIG_VALUE_LENGTH,
  MAX_EVENT_NAME_LENGTH,
} from '../domain/destinations.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_URL_LENGTH, urlProblem } from '../domain/webhook-input.js';
import { DESTINATION_DELIVERY_STATUSES, type DeliveryQuery, type DeliveryStatus } from '../domain/webhooks.js';
import { nullable, OnList, pageCursor, pageLimit, storable, Words } from './kit.js';

/**
 * Destination input, validated alike for the HTTP API and the `crosswalk destinations` commands.
 * The shape is checked here; which config fields a type needs, and their form, is checked by the
 * service against the type (src/destinations/).
 */

const TYPES = `Must be one of: ${DESTINATION_TYPE_NAMES.join(', ')}.`;
const EVENTS = `Must be a non-empty list of: ${DESTINATION_EVENT_TYPES.join(', ')}.`;

export const newDestinationBody = Type.Object(
  {
    type: Type.Unsafe<DestinationTypeName>(Type.String({ enum: [...DESTINATION_TYPE_NAMES], description: 'The tool', [Words]: { '*': TYPES } })),
    config: Type.Record(
      Type.String(),
      storable(Type.String({ minLength: 1, maxLength: MAX_CONFIG_VALUE_LENGTH, [Words]: { '*': `Must be a string of 1 to ${MAX_CONFIG_VALUE_LENGTH} characters.` } })),
      { description: "The tool's credentials and settings, under the names the tool uses (see docs/destinations.md)", [Words]: { '*': 'Must be an object of strings.' } },
    ),
    base_url: Type.Optional(
      nullable(
        Type.Refine(
          Type.String({ maxLength: MAX_URL_LENGTH, description: "Where requests go; the tool's ingestion host when left out", [Words]: { type: 'Must be a string or null.' } }),
          (url) => urlProblem(url) === null,
          (url) => urlProblem(url) ?? '',
        ),
      ),
    ),
    events: Type.Optional(
      nullable(
        Type.Array(
          Type.Unsafe<DestinationEventType>(Type.String({ enum: [...DESTINATION_EVENT_TYPES], [Words]: { '*': EVENTS }, [OnList]: true })),
          { minItems: 1, maxItems: DESTINATION_EVENT_TYPES.length * 2, description: 'The events to send; transaction.recorded when left out', [Words]: { '*': EVENTS } },
        ),
      ),
    ),
    event_names: Type.Optional(
      nullable(
        Type.Record(
          Type.String({ enum: [...EVENT_NAME_KINDS] }),
          storable(Type.String({ minLength: 1, maxLength: MAX_EVENT_NAME_LENGTH, [Words]: { '*': `Must be a string of 1 to ${MAX_EVENT_NAME_LENGTH} characters.` } })),
          {
            description: `Event names (for Adjust: event tokens) by kind, over the type's defaults: ${EVENT_NAME_KINDS.join(', ')}`,
            [Words]: { '*': `Must be an object whose keys are among: ${EVENT_NAME_KINDS.join(', ')}.` },
          },
        ),
      ),
    ),
    include_sandbox: Type.Optional(nullable(Type.Boolean({ description: 'Send sandbox transactions too (false when left out)', [Words]: { '*': 'Must be true, false or null.' } }))),
  },
  {
    example: { type: 'amplitude', config: { api_key: 'your-amplitude-api-key' } },
    [Words]: { type: 'Expected a JSON object with at least "type" and "config".' },
  },
);

export type NewDestinationBody = Static<typeof newDestinationBody>;

export const destinationDeliveriesQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Unsafe<DeliveryStatus>(
        Type.String({ enum: [...DESTINATION_DELIVERY_STATUSES], [Words]: { '*': `Must be one of: ${DESTINATION_DELIVERY_STATUSES.join(', ')}.` } }),
      ),
    ),
    destination_id: Type.Optional(Type.String({ format: 'uuid', [Words]: { '*': 'Must be the id of a destination.' } })),
    profile_id: Type.Optional(
      Type.String({ format: 'uuid', description: 'Only deliveries of events about this profile', [Words]: { '*': 'Must be a profile id (a UUID).' } }),
    ),
    limit: pageLimit(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE),
    cursor: pageCursor('Must be the next_cursor of a previous page.'),
  },
  { [Words]: { repeated: 'Give this parameter once.' } },
);

export function toDestinationDeliveryQuery(query: Static<typeof destinationDeliveriesQuery>): DeliveryQuery {
  const result: DeliveryQuery = { limit: query.limit ?? DEFAULT_PAGE_SIZE };
  if (query.status !== undefined) result.status = query.status;
  if (query.destination_id !== undefined) result.endpointId = query.destination_id.toLowerCase();
  if (query.profile_id !== undefined) result.profileId = query.profile_id.toLowerCase();
  if (query.cursor !== undefined) result.before = query.cursor;
  return result;
}
