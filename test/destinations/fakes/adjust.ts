import { type CountedEvent, type FakeAnswer, type FakeFailure, type FakeHandler, jsonAnswer, startToolFake, type ToolFake, withRetryAfter } from './fake.js';

/**
 * Adjust's S2S event endpoint (POST /event), as its documentation describes it
 * (dev.adjust.com/en/api/s2s-api, .../s2s-api/events, .../s2s-api/security):
 *
 * - parameters in the query or a form-encoded body: s2s=1, app_token, event_token, a device id,
 *   optional revenue (at least 0.001, at most 100,000,000,000) with currency, created_at_unix,
 *   environment (production by default, sandbox kept apart), callback_params (JSON of strings);
 * - S2S authentication on: `Authorization: Bearer <token>` is required;
 * - answers 200 `OK`, or a status and `{"error": "Event request failed (<reason>)"}`;
 * - no deduplication id; a "unique" event token counts once per device (a repeat is answered 400);
 *   events of one device and token must come in time order, and none older than 58 days.
 *
 * Cases the documentation does not give an answer for (no device id at all, s2s or environment
 * wrong, revenue without currency) are answered with the documented reason closest to them.
 */

const APP_TOKEN = 'f4kead1ust00';
const S2S_TOKEN = 'fakeadjusts2stoken0123456789abcd';
const EVENT_TOKENS = { trial: 'tr1a1x', purchase: 'pu7c4s', renewal: 'rn3w4l', refund: 'rf5u6d' };
const DEVICE_ID = /^[0-9a-f]{32}$/;
const MAX_AGE_SECONDS = 58 * 86_400;

const DOCUMENTED: Record<number, string> = {
  400: 'Bad event state',
  401: 'Failed to authorize request',
  403: 'App is inactive',
  404: 'App token not found',
  413: 'Request size too large',
  451: 'Device is opted out',
  500: 'Internal error, contact support@adjust.com',
};

const error = (status: number, reason: string): FakeAnswer => jsonAnswer(status, { error: `Event request failed (${reason})` });

export interface AdjustFakeOptions {
  /** Event tokens set as "unique" in the dashboard: counted once per device. */
  uniqueEventTokens?: readonly string[];
}

export async function startAdjustFake(options: AdjustFakeOptions = {}): Promise<ToolFake> {
  const counted: CountedEvent[] = [];
  const unique = new Set(options.uniqueEventTokens ?? []);
  const known = new Set<string>(Object.values(EVENT_TOKENS));
  /** The latest created_at per device and event token (per environment, which Adjust keeps apart). */
  const latest = new Map<string, number>();

  const handle: FakeHandler = ({ method, url, headers, body }) => {
    if (url.pathname !== '/event' || (method !== 'POST' && method !== 'GET')) return { status: 404, body: 'Not Found' };
    if (Buffer.byteLength(body) + url.search.length > 1_000_000) return error(413, 'Request size too large');
    if (headers.authorization !== `Bearer ${S2S_TOKEN}`) return error(401, 'Failed to authorize request');
    if (body !== '' && !String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return error(400, 'Bad event state');
    // Query parameters and body parameters are both read.
    const params = new URLSearchParams(url.search);
    for (const [name, value] of new URLSearchParams(body)) params.set(name, value);
    const get = (name: string) => params.get(name) ?? '';

    if (get('s2s') !== '1') return error(400, 'Bad event state');
    if (!/^[A-Za-z0-9]+$/.test(get('app_token'))) return error(400, 'Invalid app token');
    if (get('app_token') !== APP_TOKEN) return error(404, 'App token not found');
    const eventToken = get('event_token');
    if (!known.has(eventToken)) return error(400, 'Invalid event token');
    const adid = get('adid');
    if (!DEVICE_ID.test(adid)) return error(404, 'Device not found');
    const environment = params.get('environment') ?? 'production';
    if (environment !== 'production' && environment !== 'sandbox') return error(400, 'Bad event state');

    let revenue: number | null = null;
    let currency: string | null = null;
    if (params.has('revenue')) {
      revenue = Number(get('revenue'));
      currency = get('currency');
      if (!/^\d+(\.\d+)?$/.test(get('revenue')) || revenue < 0.001 || revenue > 100_000_000_000 || !/^[A-Z]{3}$/.test(currency)) {
        return error(400, 'Invalid revenue');
      }
    }
    let callback: Record<string, string> = {};
    if (params.has('callback_params')) {
      try {
        callback = JSON.parse(get('callback_params')) as Record<string, string>;
        if (typeof callback !== 'object' || callback === null || Array.isArray(callback) || Object.values(callback).some((v) => typeof v !== 'string')) throw new Error('not string pairs');
      } catch {
        return error(400, 'Invalid callback parameters');
      }
    }
    const now = Math.floor(Date.now() / 1000);
    const createdAt = params.has('created_at_unix') ? Number(get('created_at_unix')) : now;
    if (!Number.isInteger(createdAt) || createdAt < now - MAX_AGE_SECONDS) return error(400, 'Bad event state');

    const stream = `${environment}:${adid}:${eventToken}`;
    if (unique.has(eventToken) && latest.has(stream)) return error(400, 'Ignoring event, earlier unique event tracked');
    // Events of one device and token must arrive in time order; an equal time is not earlier.
    if ((latest.get(stream) ?? -Infinity) > createdAt) return error(400, 'Bad event state');
    latest.set(stream, createdAt);

    counted.push({
      userId: adid,
      eventName: eventToken,
      revenue,
      currency,
      dedupKey: null,
      raw: { ...Object.fromEntries(params), callback_params: callback, environment },
    });
    return { status: 200, body: 'OK' };
  };

  const failure: FakeFailure = (status, retryAfterSeconds) =>
    withRetryAfter(error(status, DOCUMENTED[status] ?? (status === 429 ? 'Too many requests' : 'Service unavailable')), retryAfterSeconds);

  return startToolFake(handle, failure, { config: { app_token: APP_TOKEN, s2s_token: S2S_TOKEN }, eventNames: { ...EVENT_TOKENS }, counted: () => [...counted] });
}
