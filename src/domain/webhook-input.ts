import { charLength, isPlainObject, isUuid, unstorableText } from './formats.js';
import { ApiError, FieldErrors } from '../errors.js';
import { EVENT_TYPES, type EventType, isEventType } from './events.js';
import { DELIVERY_STATUSES, type DeliveryQuery, type DeliveryStatus, type NewEndpoint } from './webhooks.js';

/** Checks of webhook management input, shared by the HTTP API and the CLI; errors in the API's envelope. */

export const MAX_URL_LENGTH = 2048;
export const MIN_SECRET_LENGTH = 16;
export const MAX_SECRET_LENGTH = 256;
export const MAX_DESCRIPTION_LENGTH = 256;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
const MAX_EVENT_TYPES = 20;

/** Why `text` is not a URL Crosswalk can POST to, or null. Loopback and private addresses are allowed. */
export function urlProblem(text: string): string | null {
  if (charLength(text) > MAX_URL_LENGTH) return `Ensure this field has no more than ${MAX_URL_LENGTH} characters.`;
  const unstorable = unstorableText(text);
  if (unstorable) return unstorable;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'Enter an absolute http:// or https:// URL.';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || /\s/.test(text)) {
    return 'Enter an absolute http:// or https:// URL.';
  }
  if (url.username !== '' || url.password !== '') return 'The URL must not contain a user name or password.';
  return null;
}

/** Why `secret` cannot sign deliveries, or null. */
export function secretProblem(secret: string): string | null {
  if (secret.length < MIN_SECRET_LENGTH || secret.length > MAX_SECRET_LENGTH) {
    return `A secret must be ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} characters long.`;
  }
  if (!/^[\x21-\x7e]+$/.test(secret)) return 'A secret may hold only printable ASCII characters, without spaces.';
  return null;
}

/** The event types to subscribe to; every type when left out. */
function eventTypes(value: unknown, errors: FieldErrors): EventType[] {
  if (value === undefined || value === null) return [...EVENT_TYPES];
  if (!Array.isArray(value) || value.length === 0) {
    errors.add('event_types', `Must be a non-empty list of event types: ${EVENT_TYPES.join(', ')}.`);
    return [];
  }
  // One message per unknown entry: a long list would make a huge answer.
  if (value.length > MAX_EVENT_TYPES) {
    errors.add('event_types', `Must list at most ${MAX_EVENT_TYPES} event types.`);
    return [];
  }
  const types = new Set<EventType>();
  for (const item of value) {
    if (typeof item === 'string' && isEventType(item)) types.add(item);
    else errors.add('event_types', `Unknown event type ${JSON.stringify(item)}; expected one of: ${EVENT_TYPES.join(', ')}.`);
  }
  // In catalogue order, so that the same subscription always reads the same.
  return EVENT_TYPES.filter((type) => types.has(type));
}

/** Validates the body of "add an endpoint": `url`, optional `event_types`, `secret`, `description`. */
export function parseNewEndpoint(body: unknown): NewEndpoint {
  if (!isPlainObject(body)) throw ApiError.general('validation_error', 'Expected a JSON object with at least "url".');
  const errors = new FieldErrors();
  let url = '';
  if (body.url === undefined || body.url === null) errors.add('url', 'This field is required.');
  else if (typeof body.url !== 'string') errors.add('url', 'Must be a string.');
  else {
    const problem = urlProblem(body.url);
    if (problem) errors.add('url', problem);
    url = body.url;
  }
  const types = eventTypes(body.event_types, errors);
  const endpoint: NewEndpoint = { url, eventTypes: types };
  if (body.secret !== undefined && body.secret !== null) {
    const problem = typeof body.secret === 'string' ? secretProblem(body.secret) : 'Must be a string or null.';
    if (problem) errors.add('secret', problem);
    else endpoint.secret = body.secret as string;
  }
  if (body.description !== undefined && body.description !== null) {
    if (typeof body.description !== 'string') errors.add('description', 'Must be a string or null.');
    else {
      const problem =
        unstorableText(body.description) ??
        (charLength(body.description) > MAX_DESCRIPTION_LENGTH ? `Ensure this field has no more than ${MAX_DESCRIPTION_LENGTH} characters.` : null);
      if (problem) errors.add('description', problem);
      else endpoint.description = body.description;
    }
  }
  errors.throwIfAny();
  return endpoint;
}

/** A whole positive number written in decimal digits, within the safe integer range, or null. */
export function parsePositiveInteger(text: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

/** Validates the query of "list deliveries": `status`, `endpoint_id`, `limit`, `cursor`. */
export function parseDeliveryQuery(query: unknown): DeliveryQuery {
  const params = isPlainObject(query) ? query : {};
  const errors = new FieldErrors();
  const single = (name: string): string | undefined => {
    const value = params[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      errors.add(name, 'Give this parameter once.');
      return undefined;
    }
    return value;
  };
  const result: DeliveryQuery = { limit: DEFAULT_PAGE_SIZE };
  const status = single('status');
  if (status !== undefined) {
    if ((DELIVERY_STATUSES as readonly string[]).includes(status)) result.status = status as DeliveryStatus;
    else errors.add('status', `Must be one of: ${DELIVERY_STATUSES.join(', ')}.`);
  }
  const endpointId = single('endpoint_id');
  if (endpointId !== undefined) {
    if (!isUuid(endpointId)) errors.add('endpoint_id', 'Must be the id of a webhook endpoint.');
    else result.endpointId = endpointId;
  }
  const limit = single('limit');
  if (limit !== undefined) {
    const value = parsePositiveInteger(limit);
    if (value === null || value > MAX_PAGE_SIZE) errors.add('limit', `Must be a whole number from 1 to ${MAX_PAGE_SIZE}.`);
    else result.limit = value;
  }
  const cursor = single('cursor');
  if (cursor !== undefined) {
    const value = parsePositiveInteger(cursor);
    if (value === null) errors.add('cursor', 'Must be the next_cursor of a previous page.');
    else result.before = value;
  }
  errors.throwIfAny();
  return result;
}
