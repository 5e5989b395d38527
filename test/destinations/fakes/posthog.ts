import { type CountedEvent, type FakeAnswer, type FakeRequest, isJsonObject, jsonAnswer, startToolFake, type ToolFake, withRetryAfter } from './fake.js';

/**
 * PostHog's capture endpoint (POST /i/v0/e/), as its documentation describes it (sources in
 * docs/destinations/posthog.md): a JSON body with the project API key in `api_key`, answered
 * `{"status":1}` once the payload and key are accepted. That answer does not mean the event is
 * kept: one without a name or a distinct id, or with a `uuid` that is not a UUID, or over 1 MB, is
 * dropped after it. Events with the same day, name, distinct id and uuid are stored once.
 */

const API_KEY = 'phc_fakePostHogProjectKey0123456789';
const MAX_EVENT_BYTES = 1_000_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Json = Record<string, unknown>;


/** PostHog's documented error bodies. */
const INVALID_PAYLOAD = { type: 'validation_error', code: 'invalid_payload', detail: 'Malformed request data', attr: null };
const INVALID_API_KEY = {
  type: 'authentication_error',
  code: 'invalid_api_key',
  detail: 'Project API key invalid. You can find your project API key in PostHog project settings.',
};

export async function startPostHogFake(): Promise<ToolFake> {
  const counted: CountedEvent[] = [];
  /** The keys PostHog's storage collapses duplicates on: day, event, distinct id, uuid. */
  const stored = new Set<string>();

  function handle(request: FakeRequest): FakeAnswer {
    if (!['/i/v0/e/', '/i/v0/e'].includes(request.url.pathname)) return { status: 404, body: 'Not Found' };
    if (request.method !== 'POST') return { status: 405, body: 'Method Not Allowed' };
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      return jsonAnswer(400, INVALID_PAYLOAD);
    }
    if (!isJsonObject(body)) return jsonAnswer(400, INVALID_PAYLOAD);
    if (body.api_key !== API_KEY) return jsonAnswer(401, INVALID_API_KEY);
    accept(body, Buffer.byteLength(request.body));
    return jsonAnswer(200, { status: 1 });
  }

  /** What happens after the 200: the checks that drop an event silently, then storage. */
  function accept(event: Json, bytes: number): void {
    const properties = isJsonObject(event.properties) ? event.properties : {};
    const name = event.event;
    const distinctId = event.distinct_id ?? properties.distinct_id;
    if (typeof name !== 'string' || name === '') return;
    if (distinctId === undefined || distinctId === null || String(distinctId) === '') return;
    if (event.uuid !== undefined && (typeof event.uuid !== 'string' || !UUID.test(event.uuid))) return;
    if (bytes > MAX_EVENT_BYTES) return;
    // An invalid timestamp is ignored (the event keeps the time it was received).
    const parsed = typeof event.timestamp === 'string' ? Date.parse(event.timestamp) : NaN;
    const day = new Date(Number.isNaN(parsed) ? Date.now() : parsed).toISOString().slice(0, 10);
    const uuid = typeof event.uuid === 'string' ? event.uuid.toLowerCase() : null;
    if (uuid !== null) {
      const key = [day, name, String(distinctId), uuid].join('\n');
      if (stored.has(key)) return;
      stored.add(key);
    }
    counted.push({
      userId: String(distinctId),
      eventName: name,
      revenue: typeof properties.revenue === 'number' ? properties.revenue : null,
      currency: typeof properties.currency === 'string' ? properties.currency : null,
      dedupKey: uuid,
      raw: event,
    });
  }

  return startToolFake(handle, failure, { config: { api_key: API_KEY }, counted: () => [...counted] });
}

/**
 * The body for a forced status: PostHog's documented ones for 400, 401 and 503; for the others,
 * which capture does not document, its error shape. Retry-After is sent only when a test asks for
 * it (PostHog documents none for capture), so that a worker's handling of it can be exercised.
 */
function failure(status: number, retryAfterSeconds: number | undefined): FakeAnswer {
  const bodies: Record<number, Json> = {
    400: INVALID_PAYLOAD,
    401: INVALID_API_KEY,
    503: { type: 'server_error', code: 'fetch_team_fail', detail: 'Unable to fetch team from database.' },
    413: { type: 'validation_error', code: 'payload_too_large', detail: 'Request body is too large.', attr: null },
    429: { type: 'throttled_error', code: 'throttled', detail: 'Too many requests.' },
  };
  const body = bodies[status] ?? { type: 'server_error', code: 'error', detail: `HTTP ${status}` };
  return withRetryAfter(jsonAnswer(status, body), retryAfterSeconds);
}
