import { type CountedEvent, jsonAnswer, startToolFake, type ToolFake } from './fake.js';

/**
 * Mixpanel's Import API as its reference describes it (docs/destinations/mixpanel.md): POST /import,
 * Basic auth with the project token as user name and an empty password (a project_id would mean a
 * service account, which this fake does not model: 401), a JSON array or NDJSON of events. With
 * strict=1 every record is validated and any failure makes the answer a 400 listing
 * `failed_records`; the valid records of the batch are imported all the same. Events with the same
 * (event, distinct_id, time, $insert_id) count once, the latest one kept, as Mixpanel's queries show.
 */

const TOKEN = 'fakeprojecttoken0123456789abcdef';
/** The request size limit of the reference (2 MB uncompressed), with the message of its 413 example. */
const MAX_BYTES = 2_097_152;
const MAX_EVENTS = 2000;
/** Values Mixpanel refuses for distinct_id and $insert_id. */
const INVALID_IDS = new Set([
  '00000000-0000-0000-0000-000000000000', 'anon', 'anonymous', 'nil', 'none', 'null', 'n/a', 'na', 'undefined', 'unknown',
  '<nil>', '0', '-1', 'true', 'false', '[]', '{}',
]);
const YEAR_1971 = Date.UTC(1971, 0, 1);

/** Mixpanel's documented error bodies. */
const UNAUTHORIZED = () => jsonAnswer(401, { code: 401, error: 'Invalid credentials', status: 'Unauthorized' });
const TOO_LARGE = () => jsonAnswer(413, { code: 413, error: `request exceeds max limit of ${MAX_BYTES} bytes`, status: 'Request Entity Too Large' });
const RATE_LIMITED = () => jsonAnswer(429, { code: 429, error: 'Project exceeded rate limits. Please retry the request with exponential backoff.', status: 'Too Many Requests' });
/** A 400 for a body that is not a batch at all (its text is the fake's; Mixpanel documents only the shape). */
const BAD_REQUEST = (error: string) => jsonAnswer(400, { code: 400, error, status: 'Bad Request' });

interface FailedRecord {
  index: number;
  insert_id: string | null;
  field: string;
  message: string;
}

/** Why one record fails strict validation, or null when it passes. */
function invalid(record: unknown): Omit<FailedRecord, 'index' | 'insert_id'> | null {
  if (!record || typeof record !== 'object' || Array.isArray(record)) return { field: 'event', message: 'each record must be an object' };
  const { event, properties } = record as { event?: unknown; properties?: unknown };
  if (typeof event !== 'string' || event === '') return { field: 'event', message: "'event' must be a non-empty string" };
  if (!properties || typeof properties !== 'object' || Array.isArray(properties)) return { field: 'properties', message: "'properties' must be an object" };
  const p = properties as Record<string, unknown>;
  if (Object.keys(p).length >= 255) return { field: 'properties', message: 'an event must have fewer than 255 properties' };
  if (typeof p.time !== 'number' || !Number.isInteger(p.time)) return { field: 'properties.time', message: "'properties.time' is required: seconds or milliseconds since epoch" };
  const timeMs = toMs(p.time);
  if (timeMs < YEAR_1971) return { field: 'properties.time', message: "'properties.time' is before 1971-01-01" };
  if (timeMs > Date.now() + 3_600_000) return { field: 'properties.time', message: "'properties.time' is more than 1 hour in the future" };
  if (typeof p.distinct_id !== 'string') return { field: 'properties.distinct_id', message: "'properties.distinct_id' is required and must be a string" };
  if (INVALID_IDS.has(p.distinct_id.toLowerCase())) return { field: 'properties.distinct_id', message: `'properties.distinct_id' value ${p.distinct_id} is not allowed` };
  const insertId = p.$insert_id;
  if (typeof insertId !== 'string' || insertId === '') return { field: 'properties.$insert_id', message: "'properties.$insert_id' is required" };
  if (Buffer.byteLength(insertId) > 36) return { field: 'properties.$insert_id', message: "'properties.$insert_id' must be at most 36 bytes" };
  if (!/^[A-Za-z0-9-]+$/.test(insertId) || INVALID_IDS.has(insertId.toLowerCase())) {
    return { field: 'properties.$insert_id', message: "'properties.$insert_id' must contain only alphanumeric characters and '-'" };
  }
  return null;
}

/** Mixpanel takes `time` in seconds or milliseconds; a value this large can only be milliseconds. */
const toMs = (time: number) => (time > 100_000_000_000 ? time : time * 1000);

/** Reads the batch: a JSON array, or NDJSON (one event per line). */
function parseBatch(contentType: string, body: string): unknown[] | null {
  try {
    if (contentType === 'application/x-ndjson') {
      return body.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown);
    }
    const parsed = JSON.parse(body) as unknown;
    return Array.isArray(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export async function startMixpanelFake(): Promise<ToolFake> {
  // Keyed by Mixpanel's dedup key; a later duplicate replaces the earlier one in place.
  const events = new Map<string, CountedEvent>();

  return startToolFake(
    ({ method, url, headers, body }) => {
      if (method !== 'POST' || url.pathname !== '/import') return jsonAnswer(404, { error: 'not found' });
      const expected = `Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}`;
      if (headers.authorization !== expected || url.searchParams.has('project_id')) return UNAUTHORIZED();
      if (Buffer.byteLength(body) > MAX_BYTES) return TOO_LARGE();
      const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (contentType !== 'application/json' && contentType !== 'application/x-ndjson') return BAD_REQUEST('Content-Type must be application/json or application/x-ndjson');
      if (headers['content-encoding'] !== undefined) return BAD_REQUEST('this fake takes no Content-Encoding');
      const batch = parseBatch(contentType, body);
      if (!batch || batch.length === 0) return BAD_REQUEST('the body must be a JSON array (or NDJSON) of events');
      if (batch.length > MAX_EVENTS) return BAD_REQUEST(`at most ${MAX_EVENTS} events per request`);

      const failed: FailedRecord[] = [];
      let imported = 0;
      batch.forEach((record, index) => {
        const problem = invalid(record);
        const properties = (record as { properties?: Record<string, unknown> })?.properties ?? {};
        if (problem) {
          failed.push({ index, insert_id: typeof properties.$insert_id === 'string' ? properties.$insert_id : null, ...problem });
          return;
        }
        imported += 1;
        const { event } = record as { event: string };
        const distinctId = properties.distinct_id as string;
        const insertId = properties.$insert_id as string;
        const key = [event, distinctId, toMs(properties.time as number), insertId].join('\u0000');
        events.set(key, {
          userId: distinctId,
          eventName: event,
          // Mixpanel has no revenue field of its own: the fake reads the properties Crosswalk sends.
          revenue: typeof properties.revenue === 'number' ? properties.revenue : null,
          currency: typeof properties.currency === 'string' ? properties.currency : null,
          dedupKey: insertId,
          raw: properties,
        });
      });
      // Without strict=1 Mixpanel does not report failed records; the valid ones are imported either way.
      if (failed.length > 0 && url.searchParams.get('strict') === '1') {
        return jsonAnswer(400, { code: 400, error: 'some data points in the request failed validation', failed_records: failed, num_records_imported: imported, status: 'Bad Request' });
      }
      return jsonAnswer(200, { code: 200, num_records_imported: imported, status: 'OK' });
    },
    (status) => {
      // Mixpanel's 429 carries no Retry-After, so none is sent here whatever the test asks.
      if (status === 429) return RATE_LIMITED();
      if (status === 401) return UNAUTHORIZED();
      if (status === 413) return TOO_LARGE();
      if (status === 400) {
        return jsonAnswer(400, {
          code: 400,
          error: 'some data points in the request failed validation',
          failed_records: [{ index: 0, insert_id: null, field: 'properties.time', message: "'properties.time' is invalid: must be specified as seconds since epoch" }],
          num_records_imported: 0,
          status: 'Bad Request',
        });
      }
      // Mixpanel documents no body for its 5xx answers.
      return { status, body: '' };
    },
    { config: { project_token: TOKEN }, counted: () => [...events.values()] },
  );
}
