import type {
  ApiKeyInfo,
  AppStats,
  AuditEntry,
  AuditPage,
  AuditQuery,
  ConfiguredAccessLevel,
  ConfiguredProduct,
  CreatedWebhookEndpoint,
  CurrencyRate,
  Destination,
  DestinationDelivery,
  DestinationDeliveryPage,
  DestinationDeliveryQuery,
  DestinationRequest,
  DestinationTestResult,
  ProductRequest,
  RevenueSettings,
  WebhookDelivery,
  WebhookDeliveryPage,
  WebhookDeliveryQuery,
  WebhookEndpoint,
  WebhookEndpointRequest,
} from './admin-types.js';
import {
  CrosswalkError,
  CrosswalkNetworkError,
  CrosswalkTimeoutError,
  errorFromResponse,
} from './errors.js';
import type {
  BatchItemResult,
  BatchResult,
  GrantAccessLevelRequest,
  IdentifierBatchItem,
  IdentifierHistoryEntry,
  IdentifierHistoryPage,
  IdentifierHolder,
  IdentifierKey,
  IntegrationIdentifiers,
  IntegrationIdentifiersUpdate,
  Platform,
  Profile,
  ProfileAddress,
  ProfileRefundSaverSettings,
  ProfileRequest,
  RefundSaverSettingsRequest,
  RevokeAccessLevelRequest,
  TransactionRequest,
} from './types.js';

/** The path prefix of Adapty's server-side API v2, served by Crosswalk at the same place. */
export const API_PREFIX = '/api/v2/server-side-api';
const PROFILE_PATH = `${API_PREFIX}/profile/`;
const IDENTIFIERS_PATH = `${API_PREFIX}/integration/profile/set/integration-identifiers/`;
const TRANSACTION_PATH = `${API_PREFIX}/purchase/set/transaction/`;
const GRANT_PATH = `${API_PREFIX}/purchase/profile/grant/access-level/`;
const REVOKE_PATH = `${API_PREFIX}/purchase/profile/revoke/access-level/`;
const REFUND_SAVER_PATH = `${API_PREFIX}/purchase/profile/refund-saver/settings/`;
/** The path prefix of Crosswalk's own operations, which Adapty does not have. */
export const CROSSWALK_PREFIX = '/crosswalk/v1';
const LOOKUP_PATH = `${CROSSWALK_PREFIX}/integration-identifiers/lookup/`;
const HISTORY_PATH = `${CROSSWALK_PREFIX}/integration-identifiers/history/`;
const BATCH_PATH = `${CROSSWALK_PREFIX}/integration-identifiers/batch/`;
const ENDPOINTS_PATH = `${CROSSWALK_PREFIX}/webhooks/endpoints/`;
const DELIVERIES_PATH = `${CROSSWALK_PREFIX}/webhooks/deliveries/`;
const DESTINATIONS_PATH = `${CROSSWALK_PREFIX}/destinations/`;
const DESTINATION_DELIVERIES_PATH = `${DESTINATIONS_PATH}deliveries/`;
const REVENUE_PATH = `${CROSSWALK_PREFIX}/revenue/`;
const STATS_PATH = `${CROSSWALK_PREFIX}/stats/`;
const KEY_PATH = `${CROSSWALK_PREFIX}/key/`;
const AUDIT_PATH = `${CROSSWALK_PREFIX}/audit/`;

/** One path segment: an id as the path carries it, percent-encoded. */
function segment(name: string, value: string | number): string {
  const text = String(value);
  if (text === '') throw new TypeError(`${name} must not be empty`);
  return `${encodeURIComponent(text)}/`;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** How to reach the server. */
export interface CrosswalkClientOptions {
  /** The server's origin, without the API path: `http://127.0.0.1:8080` or `https://api.adapty.io`. */
  baseUrl: string;
  /** The secret API key; sent as `Authorization: Api-Key <key>`. */
  apiKey: string;
  /** A `fetch` to use instead of the global one (for proxies, tests, instrumentation). */
  fetch?: typeof globalThis.fetch;
  /** How long one call may take, answer body included, before it fails with `CrosswalkTimeoutError`. Default 30 s. */
  timeoutMs?: number;
}

/** Options of the calls that write a profile. */
export interface ProfileWriteOptions {
  /** Sent as `adapty-platform`; fills in `installation_meta.platform` when the body leaves it out. */
  platform?: Platform;
}

/** Options of `getIdentifierHistory`. */
export interface IdentifierHistoryOptions {
  /** Only the entries of this key. */
  key?: IdentifierKey;
  /** Entries per page, 1 to 500; the server's default is 50. */
  limit?: number;
  /** `next_cursor` of the previous page, unchanged; left out or `null` for the first (newest) page. */
  cursor?: string | null;
}

/** Options of `batchSetIntegrationIdentifiers`. */
export interface IdentifierBatchOptions {
  /**
   * Create the profile of an item addressed by `customerUserId` alone when there is none
   * (its result says `created: true`). Default false: such an item fails with 404.
   */
  createMissing?: boolean;
}

/** Marks the calls whose route names no profile in the headers (the lookup and batch routes). */
const NO_PROFILE: unique symbol = Symbol('no profile');

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** The profile the call is about, sent as headers (and checked first); `NO_PROFILE` for routes without one. */
  address: ProfileAddress | typeof NO_PROFILE;
  body?: unknown;
  platform?: Platform | undefined;
}

/**
 * HTTP header values are bytes. A non-ASCII value is sent as its UTF-8 bytes (which the server
 * decodes as UTF-8); fetch takes header values as byte strings, one character per byte.
 */
function headerValue(name: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new TypeError(`${name} must not contain line breaks or NUL characters`);
  if (value !== value.trim()) {
    throw new TypeError(`${name} must not start or end with white space: HTTP would strip it`);
  }
  return Buffer.from(value, 'utf8').toString('latin1');
}

function addressHeaders(address: ProfileAddress): Record<string, string> {
  const headers: Record<string, string> = {};
  if (address.customerUserId) headers['adapty-customer-user-id'] = headerValue('customerUserId', address.customerUserId);
  if (address.profileId) headers['adapty-profile-id'] = headerValue('profileId', address.profileId);
  if (Object.keys(headers).length === 0) throw new TypeError('Give customerUserId, profileId or both');
  return headers;
}

/** `?name=value&…` of the parameters that are given, each URL-encoded; '' when none is. */
function queryString(params: Record<string, string | undefined>): string {
  const pairs = Object.entries(params).flatMap(([name, value]) =>
    value === undefined ? [] : [`${encodeURIComponent(name)}=${encodeURIComponent(value)}`],
  );
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
}

interface WireBatchItemResult {
  index: number;
  status: number;
  profile_id?: string;
  customer_user_id?: string | null;
  created?: boolean;
  changed?: IdentifierKey[];
  dropped?: IdentifierKey[];
  error?: unknown;
}

/** A result of the batch answer, with a failed item's envelope made into its typed error. */
function batchItemResult(item: WireBatchItemResult): BatchItemResult {
  if (item.status === 200 && item.error === undefined) {
    return {
      ok: true,
      index: item.index,
      status: 200,
      profile_id: item.profile_id!,
      customer_user_id: item.customer_user_id ?? null,
      created: item.created ?? false,
      changed: item.changed ?? [],
      dropped: item.dropped ?? [],
    };
  }
  return { ok: false, index: item.index, status: item.status, error: errorFromResponse({ status: item.status, body: item.error }) };
}

function parseBody(text: string): unknown {
  if (text === '') return '';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** fetch's message ("fetch failed") with the underlying reason (e.g. "connect ECONNREFUSED …"). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

function retryAfter(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

/**
 * A client for Crosswalk, or for Adapty's server-side API: only the base URL differs.
 * Every method throws a `CrosswalkError` (or a subclass) when the server answers with an error,
 * and a `CrosswalkNetworkError` (or `CrosswalkTimeoutError`) when it does not answer.
 */
export class CrosswalkClient {
  private readonly baseUrl: string;
  private readonly authorization: string;
  private readonly fetch: typeof globalThis.fetch;
  private readonly timeoutMs: number;

  constructor(options: CrosswalkClientOptions) {
    if (!options.apiKey) throw new TypeError('apiKey is required');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new TypeError('timeoutMs must be a positive number');
    this.baseUrl = new URL(options.baseUrl).toString().replace(/\/+$/, '');
    this.authorization = `Api-Key ${options.apiKey}`;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Makes sure the profile exists, with these attributes, and returns it. Idempotent on
   * Crosswalk: an existing profile gets the body applied as an update. With both a profile id
   * and a customer user id, the customer user id is attached to that profile.
   */
  async createProfile(address: ProfileAddress, body: ProfileRequest = {}, options: ProfileWriteOptions = {}): Promise<Profile> {
    return this.profileAnswer({ method: 'POST', path: PROFILE_PATH, address, body, platform: options.platform });
  }

  /** The profile; `CrosswalkNotFoundError` (`profile_does_not_exist`) when there is none. */
  async getProfile(address: ProfileAddress): Promise<Profile> {
    return this.profileAnswer({ method: 'GET', path: PROFILE_PATH, address });
  }

  /** Changes the fields given (`null` clears one) and returns the profile. */
  async updateProfile(address: ProfileAddress, body: ProfileRequest, options: ProfileWriteOptions = {}): Promise<Profile> {
    return this.profileAnswer({ method: 'PATCH', path: PROFILE_PATH, address, body, platform: options.platform });
  }

  /** Deletes the profile with its identifiers, attributes and devices. */
  async deleteProfile(address: ProfileAddress): Promise<void> {
    await this.call({ method: 'DELETE', path: PROFILE_PATH, address });
  }

  /**
   * Sets (a string or number) or clears (`null`) the identifiers given; the others are kept.
   * Does not create the profile: `CrosswalkNotFoundError` (`profile_not_found`) when there is none.
   */
  async setIntegrationIdentifiers(address: ProfileAddress, identifiers: IntegrationIdentifiersUpdate): Promise<void> {
    await this.call({ method: 'POST', path: IDENTIFIERS_PATH, address, body: identifiers });
  }

  /** All 16 identifiers of the profile, `null` where unset. */
  async getIntegrationIdentifiers(address: ProfileAddress): Promise<IntegrationIdentifiers> {
    return (await this.call({ method: 'GET', path: IDENTIFIERS_PATH, address })) as IntegrationIdentifiers;
  }

  /**
   * Records a transaction (a one-time purchase or a subscription period) and returns the profile
   * with its access levels, subscriptions, purchases and revenue. Idempotent: the same `store`
   * and `store_transaction_id` again updates that transaction, and its revenue counts once.
   * `CrosswalkTransactionError` when a rule on its fields is broken; `CrosswalkNotFoundError`
   * (400 `profile_does_not_exist`) when there is no such profile.
   */
  async setTransaction(address: ProfileAddress, transaction: TransactionRequest): Promise<Profile> {
    return this.profileAnswer({ method: 'POST', path: TRANSACTION_PATH, address, body: transaction });
  }

  /**
   * Gives the profile an access level without a transaction: from now or `starts_at`, until
   * `expires_at` or for life. A new grant of the same level replaces the earlier one. Returns the profile.
   */
  async grantAccessLevel(address: ProfileAddress, grant: GrantAccessLevelRequest): Promise<Profile> {
    return this.profileAnswer({ method: 'POST', path: GRANT_PATH, address, body: grant });
  }

  /**
   * Ends an access level now, or at `revoke_at`, whatever gives it; a later transaction or grant
   * gives it again. Returns the profile. `CrosswalkAccessLevelError` for a level the app or the
   * profile does not have, or a `revoke_at` after it expires; `CrosswalkValidationError`
   * (`value_error`) for a `revoke_at` in the past.
   */
  async revokeAccessLevel(address: ProfileAddress, revoke: RevokeAccessLevelRequest): Promise<Profile> {
    return this.profileAnswer({ method: 'POST', path: REVOKE_PATH, address, body: revoke });
  }

  /** The profile's Refund Saver settings (`false` and `no_preference` when it set none). */
  async getRefundSaverSettings(address: ProfileAddress): Promise<ProfileRefundSaverSettings> {
    return (await this.call({ method: 'GET', path: REFUND_SAVER_PATH, address })) as ProfileRefundSaverSettings;
  }

  /** Changes the settings given (one or both; `null` keeps a setting) and returns them as they now stand. */
  async setRefundSaverSettings(address: ProfileAddress, settings: RefundSaverSettingsRequest): Promise<ProfileRefundSaverSettings> {
    return (await this.call({ method: 'POST', path: REFUND_SAVER_PATH, address, body: settings })) as ProfileRefundSaverSettings;
  }

  /**
   * The profiles of the app whose `key` is exactly `value` (after trimming, as writes store it;
   * numbers are stored as their decimal text), ordered by profile id, at most 1,000; `[]` when
   * none. With `key` null every key is searched: a profile holding the value under two keys is
   * listed once per key, ordered by key then profile id. A Crosswalk operation: Adapty does not have it.
   */
  async lookupIntegrationIdentifier(key: IdentifierKey | null, value: string): Promise<IdentifierHolder[]> {
    const path = LOOKUP_PATH + queryString(key === null ? { value } : { key, value });
    const answer = await this.call({ method: 'GET', path, address: NO_PROFILE });
    return (answer as { data: IdentifierHolder[] }).data;
  }

  /**
   * One page of the profile's identifier history, newest first; pass `next_cursor` as `cursor`
   * for the next page until it is `null`. `CrosswalkNotFoundError` (`profile_not_found`) when
   * there is no such profile. A Crosswalk operation: Adapty does not have it.
   */
  async getIdentifierHistory(address: ProfileAddress, options: IdentifierHistoryOptions = {}): Promise<IdentifierHistoryPage> {
    const path =
      HISTORY_PATH +
      queryString({
        key: options.key,
        limit: options.limit === undefined ? undefined : String(options.limit),
        cursor: options.cursor ?? undefined,
      });
    const answer = (await this.call({ method: 'GET', path, address })) as { data: IdentifierHistoryEntry[]; next_cursor: string | null };
    return { entries: answer.data, next_cursor: answer.next_cursor };
  }

  /**
   * Sets or clears identifiers of up to 1,000 profiles in one request (one transaction). Each
   * item is validated and applied on its own: a bad item is a failed result, with the typed error
   * it would have had alone, and does not stop the others. Throws, as the other calls do, only
   * for the request as a whole: refused (no items, over 1,000, a bad key, …; then nothing is
   * written) or unanswered. A Crosswalk operation: Adapty does not have it.
   */
  async batchSetIntegrationIdentifiers(items: IdentifierBatchItem[], options: IdentifierBatchOptions = {}): Promise<BatchResult> {
    const body = {
      ...(options.createMissing === undefined ? {} : { create_missing: options.createMissing }),
      items: items.map((item) => ({ profile_id: item.profileId, customer_user_id: item.customerUserId, identifiers: item.identifiers })),
    };
    const answer = (await this.call({ method: 'POST', path: BATCH_PATH, address: NO_PROFILE, body })) as {
      data: WireBatchItemResult[];
      succeeded: number;
      failed: number;
    };
    return { results: answer.data.map(batchItemResult), succeeded: answer.succeeded, failed: answer.failed };
  }

  /**
   * Subscribes an endpoint to events (every type when `event_types` is left out) and answers it
   * with its signing secret, the only time the secret is shown. Needs an admin key.
   */
  async createWebhookEndpoint(endpoint: WebhookEndpointRequest): Promise<CreatedWebhookEndpoint> {
    return this.dataAnswer<CreatedWebhookEndpoint>({ method: 'POST', path: ENDPOINTS_PATH, address: NO_PROFILE, body: endpoint });
  }

  /** The app's endpoints, oldest first; secrets only as hints. */
  async listWebhookEndpoints(): Promise<WebhookEndpoint[]> {
    return this.dataAnswer<WebhookEndpoint[]>({ method: 'GET', path: ENDPOINTS_PATH, address: NO_PROFILE });
  }

  /** Removes an endpoint; its pending deliveries are cancelled. `CrosswalkError` 404 `not_found` when unknown. Needs an admin key. */
  async deleteWebhookEndpoint(endpointId: string): Promise<void> {
    await this.call({ method: 'DELETE', path: ENDPOINTS_PATH + segment('endpointId', endpointId), address: NO_PROFILE });
  }

  /**
   * One page of deliveries, newest first, filtered by status, endpoint and profile (each
   * optional); pass `next_cursor` as `cursor` for the next page until it is `null`.
   */
  async listWebhookDeliveries(query: WebhookDeliveryQuery = {}): Promise<WebhookDeliveryPage> {
    const path =
      DELIVERIES_PATH +
      queryString({
        status: query.status,
        endpoint_id: query.endpointId,
        profile_id: query.profileId,
        limit: query.limit === undefined ? undefined : String(query.limit),
        cursor: query.cursor ?? undefined,
      });
    const answer = (await this.call({ method: 'GET', path, address: NO_PROFILE })) as { data: WebhookDelivery[]; next_cursor: string | null };
    return { deliveries: answer.data, next_cursor: answer.next_cursor };
  }

  /**
   * Sends a delivery's event to its endpoint again, as a new pending delivery, and answers that
   * delivery. `CrosswalkError` 404 `not_found` when unknown or its endpoint was removed. Needs an admin key.
   */
  async redeliverWebhook(deliveryId: number | string): Promise<WebhookDelivery> {
    const path = `${DELIVERIES_PATH}${segment('deliveryId', deliveryId)}redeliver/`;
    return this.dataAnswer<WebhookDelivery>({ method: 'POST', path, address: NO_PROFILE });
  }

  /**
   * Sends the app's revenue to a tool (Amplitude, Mixpanel, PostHog, Firebase, AppsFlyer, Adjust)
   * and answers the destination with its credentials in full, the only time they are shown.
   * `CrosswalkValidationError` names what is wrong (`config.api_key`, `base_url`, …). Needs an admin key.
   */
  async createDestination(destination: DestinationRequest): Promise<Destination> {
    return this.dataAnswer<Destination>({ method: 'POST', path: DESTINATIONS_PATH, address: NO_PROFILE, body: destination });
  }

  /** The app's destinations; credentials only as hints. Needs an admin key. */
  async listDestinations(): Promise<Destination[]> {
    return this.dataAnswer<Destination[]>({ method: 'GET', path: DESTINATIONS_PATH, address: NO_PROFILE });
  }

  /** Removes a destination; its pending deliveries are cancelled. `CrosswalkError` 404 `not_found` when unknown. Needs an admin key. */
  async deleteDestination(destinationId: string): Promise<void> {
    await this.call({ method: 'DELETE', path: DESTINATIONS_PATH + segment('destinationId', destinationId), address: NO_PROFILE });
  }

  /**
   * Sends one test event (a sandbox purchase of 0.01 USD under made-up ids) to the destination now,
   * outside the queue, and answers how the tool took it. A tool refusing it is a result with
   * status `failed`, not an error; `CrosswalkError` 404 `not_found` when the destination is unknown.
   * Needs an admin key.
   */
  async testDestination(destinationId: string): Promise<DestinationTestResult> {
    const path = `${DESTINATIONS_PATH}${segment('destinationId', destinationId)}test/`;
    return this.dataAnswer<DestinationTestResult>({ method: 'POST', path, address: NO_PROFILE });
  }

  /**
   * One page of deliveries to destinations, newest first, filtered by status, destination and
   * profile (each optional), each with the reason of a skip or failure; pass `next_cursor` as
   * `cursor` for the next page until it is `null`. Needs an admin key.
   */
  async listDestinationDeliveries(query: DestinationDeliveryQuery = {}): Promise<DestinationDeliveryPage> {
    const path =
      DESTINATION_DELIVERIES_PATH +
      queryString({
        status: query.status,
        destination_id: query.destinationId,
        profile_id: query.profileId,
        limit: query.limit === undefined ? undefined : String(query.limit),
        cursor: query.cursor ?? undefined,
      });
    const answer = (await this.call({ method: 'GET', path, address: NO_PROFILE })) as { data: DestinationDelivery[]; next_cursor: string | null };
    return { deliveries: answer.data, next_cursor: answer.next_cursor };
  }

  /**
   * Sends a delivery's event to its destination again, as a new pending delivery with the same
   * dedup key, and answers that delivery. `CrosswalkError` 404 `not_found` when unknown or its
   * destination was removed. Needs an admin key.
   */
  async redeliverToDestination(deliveryId: number | string): Promise<DestinationDelivery> {
    const path = `${DESTINATION_DELIVERIES_PATH}${segment('deliveryId', deliveryId)}redeliver/`;
    return this.dataAnswer<DestinationDelivery>({ method: 'POST', path, address: NO_PROFILE });
  }

  /** The configured access levels. */
  async listAccessLevels(): Promise<ConfiguredAccessLevel[]> {
    return this.dataAnswer<ConfiguredAccessLevel[]>({ method: 'GET', path: `${REVENUE_PATH}access-levels/`, address: NO_PROFILE });
  }

  /** Configures an access level (nothing changes when it is configured already). Needs an admin key. */
  async setAccessLevel(accessLevelId: string): Promise<ConfiguredAccessLevel> {
    const path = `${REVENUE_PATH}access-levels/${segment('accessLevelId', accessLevelId)}`;
    return this.dataAnswer<ConfiguredAccessLevel>({ method: 'PUT', path, address: NO_PROFILE });
  }

  /** Removes an access level from the configuration (refused while a product unlocks it). Needs an admin key. */
  async deleteAccessLevel(accessLevelId: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `${REVENUE_PATH}access-levels/${segment('accessLevelId', accessLevelId)}`, address: NO_PROFILE });
  }

  /** The configured products and what each unlocks. */
  async listProducts(): Promise<ConfiguredProduct[]> {
    return this.dataAnswer<ConfiguredProduct[]>({ method: 'GET', path: `${REVENUE_PATH}products/`, address: NO_PROFILE });
  }

  /** Configures what a product unlocks (an access level, or nothing), creating or replacing it. Needs an admin key. */
  async setProduct(storeProductId: string, product: ProductRequest): Promise<ConfiguredProduct> {
    const path = `${REVENUE_PATH}products/${segment('storeProductId', storeProductId)}`;
    return this.dataAnswer<ConfiguredProduct>({ method: 'PUT', path, address: NO_PROFILE, body: product });
  }

  /** Removes a product from the configuration (it unlocks premium again). Needs an admin key. */
  async deleteProduct(storeProductId: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `${REVENUE_PATH}products/${segment('storeProductId', storeProductId)}`, address: NO_PROFILE });
  }

  /** The currency rates, US dollars per unit. */
  async listCurrencyRates(): Promise<CurrencyRate[]> {
    return this.dataAnswer<CurrencyRate[]>({ method: 'GET', path: `${REVENUE_PATH}currency-rates/`, address: NO_PROFILE });
  }

  /** Sets a currency's rate (US dollars for one unit); transactions recorded from then on use it. Needs an admin key. */
  async setCurrencyRate(currency: string, usdPerUnit: number): Promise<CurrencyRate> {
    const path = `${REVENUE_PATH}currency-rates/${segment('currency', currency)}`;
    return this.dataAnswer<CurrencyRate>({ method: 'PUT', path, address: NO_PROFILE, body: { usd_per_unit: usdPerUnit } });
  }

  /** Removes a currency's rate. Needs an admin key. */
  async deleteCurrencyRate(currency: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `${REVENUE_PATH}currency-rates/${segment('currency', currency)}`, address: NO_PROFILE });
  }

  /** The revenue settings: what happens to access level ids never configured. */
  async getRevenueSettings(): Promise<RevenueSettings> {
    return this.dataAnswer<RevenueSettings>({ method: 'GET', path: `${REVENUE_PATH}settings/`, address: NO_PROFILE });
  }

  /** Changes the revenue settings and answers them as they now stand. Needs an admin key. */
  async setRevenueSettings(settings: RevenueSettings): Promise<RevenueSettings> {
    return this.dataAnswer<RevenueSettings>({ method: 'PUT', path: `${REVENUE_PATH}settings/`, address: NO_PROFILE, body: settings });
  }

  /** What `crosswalk stats` counts of the key's app: profiles, identifiers per key, keys, transactions, revenue, database size. Needs an admin key. */
  async getAppStats(): Promise<AppStats> {
    return this.dataAnswer<AppStats>({ method: 'GET', path: STATS_PATH, address: NO_PROFILE });
  }

  /** The app and the key this client's API key stands for, and what the key may do. Any key may ask. */
  async getApiKeyInfo(): Promise<ApiKeyInfo> {
    return (await this.call({ method: 'GET', path: KEY_PATH, address: NO_PROFILE })) as ApiKeyInfo;
  }

  /**
   * One page of the app's audit trail of management changes, newest first; pass `next_cursor` as
   * `cursor` for the next page until it is `null`. Needs an admin key (`CrosswalkForbiddenError`
   * otherwise). A Crosswalk operation: Adapty does not have it.
   */
  async listAuditEntries(query: AuditQuery = {}): Promise<AuditPage> {
    const path =
      AUDIT_PATH +
      queryString({ limit: query.limit === undefined ? undefined : String(query.limit), cursor: query.cursor ?? undefined });
    const answer = (await this.call({ method: 'GET', path, address: NO_PROFILE })) as { data: AuditEntry[]; next_cursor: string | null };
    return { entries: answer.data, next_cursor: answer.next_cursor };
  }

  /** Sends one request whose answer is wrapped in `data`, and returns what is inside. */
  private async dataAnswer<T>(call: Call): Promise<T> {
    return ((await this.call(call)) as { data: T }).data;
  }

  /** Sends one request whose answer is a profile in `data`, and returns the profile. */
  private async profileAnswer(call: Call): Promise<Profile> {
    return ((await this.call(call)) as { data: Profile }).data;
  }

  /** Sends one request and returns the parsed success body (undefined when empty). */
  private async call({ method, path, address, body, platform }: Call): Promise<unknown> {
    const headers: Record<string, string> = {
      authorization: this.authorization,
      'content-type': 'application/json',
      accept: 'application/json',
      ...(address === NO_PROFILE ? {} : addressHeaders(address)),
    };
    if (platform !== undefined) headers['adapty-platform'] = platform;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(this.baseUrl + path, { ...init, signal: controller.signal });
      text = await response.text();
    } catch (error) {
      if (timedOut) throw new CrosswalkTimeoutError(this.timeoutMs);
      throw new CrosswalkNetworkError(`${method} ${this.baseUrl + path} failed: ${describe(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }

    const parsed = parseBody(text);
    if (!response.ok) {
      throw errorFromResponse({ status: response.status, body: parsed, retryAfter: retryAfter(response.headers) });
    }
    if (text === '') return undefined;
    if (typeof parsed !== 'object' || parsed === null) {
      throw new CrosswalkError({ status: response.status, body: parsed }, 'unknown', [
        { source: null, errors: ['The server answered with a body that is not JSON.'] },
      ]);
    }
    return parsed;
  }
}
