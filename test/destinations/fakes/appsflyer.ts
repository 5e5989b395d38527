import { type CountedEvent, type FakeAnswer, type FakeFailure, type FakeHandler, startToolFake, type ToolFake, withRetryAfter } from './fake.js';

/**
 * AppsFlyer's S2S-mobile events API (POST /inappevent/{app_id}), as its documentation describes it
 * (dev.appsflyer.com/hc/reference/s2s-events-api3-overview; support.appsflyer.com article 207034486):
 *
 * - the app's S2S key in the `authentication` header; JSON with appsflyer_id, eventName and
 *   eventValue (a string holding JSON, or ""); eventTime as `yyyy-MM-dd HH:mm:ss.SSS`; at most 1 KB;
 * - answers 200 `OK`, or 400 / 401 / 403 / 500 with a plain-text message from the documented table;
 * - an iOS app id without its `id` prefix is answered 200 OK and the event is not recorded;
 * - no deduplication: every accepted event is counted.
 *
 * Where the documentation lists a message without saying which case gives it, the choice is noted.
 */

const APP_ID = 'com.example.crosswalk';
const S2S_KEY = 'fake-appsflyer-s2s-key-4f1c9a';
const EVENT_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;

const DOCUMENTED: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  500: 'Internal Server Error',
};

const text = (status: number, body: string): FakeAnswer => ({ status, body, headers: { 'content-type': 'application/json' } });

export async function startAppsFlyerFake(): Promise<ToolFake> {
  const counted: CountedEvent[] = [];

  const handle: FakeHandler = ({ method, url, headers, body }) => {
    const path = /^\/inappevent\/([^/]+)$/.exec(url.pathname);
    if (method !== 'POST' || !path) return text(404, 'Not Found');
    const appId = decodeURIComponent(path[1]!);
    // Which of the two documented authentication answers comes when is not said: a missing key is
    // taken as 400 "Failed to Authenticate", a key that is not this app's as 401 "Unauthorized".
    const key = headers.authentication;
    if (typeof key !== 'string' || key === '') return text(400, 'Failed to Authenticate');
    if (key !== S2S_KEY) return text(401, 'Unauthorized');
    if (!String(headers['content-type'] ?? '').startsWith('application/json')) return text(400, 'Payload is missing or failed to parse');
    // The limit is documented, the answer to a request over it is not: "Bad request" here.
    if (Buffer.byteLength(body) > 1024) return text(400, 'Bad request');
    let event: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not one event');
      event = parsed as Record<string, unknown>;
    } catch {
      return text(400, 'Payload is missing or failed to parse');
    }
    if (typeof event.appsflyer_id !== 'string' || event.appsflyer_id === '') return text(400, 'appsflyer_id is a mandatory field');
    if (typeof event.eventName !== 'string' || event.eventName === '') return text(400, 'Bad request');
    if (typeof event.eventValue !== 'string') return text(400, 'Bad request');
    let value: Record<string, unknown> = {};
    if (event.eventValue !== '') {
      try {
        value = JSON.parse(event.eventValue) as Record<string, unknown>;
      } catch {
        return text(400, 'Payload is missing or failed to parse');
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return text(400, 'Bad request');
    }
    if (event.eventTime !== undefined && (typeof event.eventTime !== 'string' || !EVENT_TIME.test(event.eventTime))) return text(400, 'Bad request');
    if (value.af_revenue !== undefined && !/^-?\d+(\.\d+)?$/.test(String(value.af_revenue))) return text(400, 'Bad request');
    // The key belongs to one app: another app id in the path is refused (documented as "app_id").
    const iosWithoutPrefix = /^\d+$/.test(appId);
    if (appId !== APP_ID && !iosWithoutPrefix) return text(400, 'app_id');
    // Documented: an iOS id without `id` is answered OK but the event is not recorded.
    if (iosWithoutPrefix) return text(200, 'OK');
    const currency = typeof value.af_currency === 'string' ? value.af_currency : typeof event.eventCurrency === 'string' ? event.eventCurrency : null;
    counted.push({
      userId: event.appsflyer_id,
      eventName: event.eventName,
      revenue: value.af_revenue === undefined ? null : Number(value.af_revenue),
      currency,
      dedupKey: null,
      raw: { ...event, eventValue: value },
    });
    return text(200, 'OK');
  };

  const failure: FakeFailure = (status, retryAfterSeconds) =>
    withRetryAfter(text(status, DOCUMENTED[status] ?? (status === 429 ? 'Too Many Requests' : status >= 500 ? 'Service Unavailable' : 'Bad request')), retryAfterSeconds);

  return startToolFake(handle, failure, { config: { app_id: APP_ID, s2s_key: S2S_KEY }, counted: () => [...counted] });
}
