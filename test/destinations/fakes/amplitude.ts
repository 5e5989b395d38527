import { createHash } from 'node:crypto';
import { type CountedEvent, type FakeAnswer, type FakeRequest, isJsonObject, jsonAnswer, startToolFake, type ToolFake, withRetryAfter } from './fake.js';

/**
 * Amplitude's HTTP V2 API (POST /2/httpapi), as its documentation describes it (sources in
 * docs/destinations/amplitude.md): a JSON body with `api_key` and `events`; each event needs an
 * `event_type` and a `user_id` or `device_id` of at least `min_id_length` (5) characters; a request
 * with any bad event is refused whole with a 400 naming the fields; over 2000 events or 1 MB is a
 * 413. An event repeating an `insert_id` seen for the same device in the last 7 days is dropped.
 */

const API_KEY = 'fake-amplitude-api-key-0123456789';
const MAX_BYTES = 1_000_000;
const MAX_EVENTS = 2000;
const DEDUP_WINDOW_MS = 7 * 24 * 3_600_000;
const RESERVED = new Set(['[Amplitude] Start Session', '[Amplitude] End Session', '[Amplitude] Revenue', '[Amplitude] Revenue (Verified)', '[Amplitude] Revenue (Unverified)', '[Amplitude] Merged User']);
/** Id values Amplitude documents as invalid (placeholders an app sends by mistake). */
const INVALID_IDS = new Set(['anonymous', 'nil', 'none', 'null', 'n/a', 'na', 'undefined', 'unknown', '""', '00000000-0000-0000-0000-000000000000', '{}', 'lmy47d', '0', '-1']);

type Json = Record<string, unknown>;

const invalid = (error: string, extra: Json = {}) => jsonAnswer(400, { code: 400, error, ...extra });

/** `now` is the fake's clock, for the 7-day deduplication window. */
export async function startAmplitudeFake(options: { now?: () => number } = {}): Promise<ToolFake> {
  const now = options.now ?? Date.now;
  const counted: CountedEvent[] = [];
  /** When each (device, insert_id) was first counted. */
  const seen = new Map<string, number>();

  function handle(request: FakeRequest): FakeAnswer {
    if (request.url.pathname !== '/2/httpapi') return invalid('Invalid request path');
    if (request.method !== 'POST') return { status: 405, body: 'Method Not Allowed' };
    if (Buffer.byteLength(request.body) > MAX_BYTES) return jsonAnswer(413, { code: 413, error: 'Payload too large' });
    // The content type is checked (its message is not documented); a body that is not JSON is refused.
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) return invalid('Invalid JSON request body');
    if (request.body.trim() === '') return invalid('Missing request body');
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      return invalid('Invalid JSON request body');
    }
    if (!isJsonObject(body)) return invalid('Invalid JSON request body');
    if (typeof body.api_key !== 'string' || body.api_key === '') return invalid('Request missing required field', { missing_field: 'api_key' });
    if (!Array.isArray(body.events) || body.events.length === 0) return invalid('Request missing required field', { missing_field: 'events' });
    if (body.api_key !== API_KEY) return invalid('Invalid API key');
    if (body.events.length > MAX_EVENTS) return jsonAnswer(413, { code: 413, error: 'Payload too large' });
    if (!body.events.every(isJsonObject)) return invalid('Invalid event JSON');
    const minLength = isJsonObject(body.options) && Number.isInteger(body.options.min_id_length) ? (body.options.min_id_length as number) : 5;

    const missing: Record<string, number[]> = {};
    const bad: Record<string, number[]> = {};
    const note = (into: Record<string, number[]>, field: string, index: number) => (into[field] ??= []).push(index);
    const events = (body.events as Json[]).map((event, index) => {
      // An id that is too short is removed from the event; an event left without one is refused.
      const ids: { user_id?: string; device_id?: string } = {};
      for (const field of ['user_id', 'device_id'] as const) {
        const value = event[field];
        if (value === undefined || value === null) continue;
        if (typeof value !== 'string' || INVALID_IDS.has(value.toLowerCase())) note(bad, field, index);
        else if (value.length >= minLength) ids[field] = value;
      }
      if (!ids.user_id && !ids.device_id && !bad.user_id?.includes(index) && !bad.device_id?.includes(index)) note(missing, 'user_id', index);
      if (typeof event.event_type !== 'string' || event.event_type === '') note(missing, 'event_type', index);
      else if (RESERVED.has(event.event_type)) note(bad, 'event_type', index);
      if (event.time !== undefined && !Number.isInteger(event.time)) note(bad, 'time', index);
      if (event.insert_id !== undefined && typeof event.insert_id !== 'string') note(bad, 'insert_id', index);
      for (const field of ['price', 'revenue']) if (event[field] !== undefined && typeof event[field] !== 'number') note(bad, field, index);
      if (event.quantity !== undefined && !Number.isInteger(event.quantity)) note(bad, 'quantity', index);
      for (const field of ['event_properties', 'user_properties']) if (event[field] !== undefined && !isJsonObject(event[field])) note(bad, field, index);
      return { event, ...ids };
    });
    if (Object.keys(missing).length > 0) return invalid('Request missing required field', { events_with_missing_fields: missing });
    if (Object.keys(bad).length > 0) return invalid('Invalid field values on some events', { events_with_invalid_fields: bad });

    for (const { event, user_id, device_id } of events) {
      const insertId = typeof event.insert_id === 'string' ? event.insert_id : null;
      // Without a device_id, Amplitude files the event under a hash of the user_id.
      const device = device_id ?? `user:${createHash('sha256').update(user_id!).digest('hex')}`;
      if (insertId !== null) {
        const key = `${device}\n${insertId}`;
        const first = seen.get(key);
        if (first !== undefined && now() - first < DEDUP_WINDOW_MS) continue;
        seen.set(key, now());
      }
      counted.push({
        userId: user_id ?? device_id!,
        eventName: event.event_type as string,
        revenue: revenueOf(event),
        currency: typeof event.currency === 'string' ? event.currency : null,
        dedupKey: insertId,
        raw: event,
      });
    }
    return jsonAnswer(200, { code: 200, events_ingested: events.length, payload_size_bytes: Buffer.byteLength(request.body), server_upload_time: now() });
  }

  return startToolFake(handle, failure, { config: { api_key: API_KEY }, counted: () => [...counted] });
}

/** Revenue as Amplitude reads it: price × quantity (1 by default) when a price is sent, else `revenue`. */
function revenueOf(event: Json): number | null {
  if (typeof event.price === 'number') return event.price * (typeof event.quantity === 'number' ? event.quantity : 1);
  return typeof event.revenue === 'number' ? event.revenue : null;
}

/**
 * Amplitude's documented body for a forced status. It documents no Retry-After header; one is sent
 * only when a test asks for it, so that a worker's handling of the header can be exercised here too.
 */
function failure(status: number, retryAfterSeconds: number | undefined): FakeAnswer {
  let result: FakeAnswer;
  if (status === 400) result = invalid('Invalid field values on some events', { events_with_invalid_fields: { time: [0] } });
  else if (status === 413) result = jsonAnswer(413, { code: 413, error: 'Payload too large' });
  else if (status === 429) {
    result = jsonAnswer(429, { code: 429, error: 'Too many requests for some devices and users', eps_threshold: 30, throttled_devices: {}, throttled_users: {}, throttled_events: [0] });
  } else result = { status, body: status >= 500 ? 'Server Error' : `HTTP ${status}` };
  return withRetryAfter(result, retryAfterSeconds);
}
