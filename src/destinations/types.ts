/**
 * Destinations: analytics and attribution tools that Crosswalk sends revenue to, each in the tool's
 * own format and under the id the tool gave the user. One module per tool implements
 * DestinationType; the delivery worker does the rest (queue, retries, order, the network policy).
 */

/** What happened, as the tools are told: one transaction's revenue, or an access level's change. */
export type RevenueKind = 'trial' | 'purchase' | 'renewal' | 'refund' | 'access_level';

export const REVENUE_KINDS: readonly RevenueKind[] = ['trial', 'purchase', 'renewal', 'refund', 'access_level'];

/** The transaction a revenue event is about, as the event carries it (see docs/webhooks.md). */
export interface RevenueTransaction {
  purchaseId: string;
  purchaseType: 'subscription' | 'one_time_purchase';
  store: string;
  storeProductId: string;
  storeTransactionId: string;
  storeOriginalTransactionId: string;
  environment: 'Production' | 'Sandbox';
  /** The price paid, in the store's currency (0 for a free trial). */
  price: { value: number; currency: string; country: string };
  /** The price in US dollars when it was recorded; null for a sandbox price without a rate. */
  priceUsd: number | null;
  purchasedAt: number;
  expiresAt: number | null;
  refundedAt: number | null;
  offerType: string | null;
}

/** One event to send, read from a stored `transaction.recorded` or `access_level.updated` event. */
export interface RevenueEvent {
  /** The Crosswalk event's id. */
  eventId: string;
  kind: RevenueKind;
  /** When it happened (ms): the purchase, the refund, or the access level's change. */
  occurredAt: number;
  /** When the change was committed (ms). */
  recordedAt: number;
  profileId: string;
  customerUserId: string | null;
  /** The profile's 16 integration identifiers as they stood when the change committed. */
  identifiers: Readonly<Record<string, string | null>>;
  /**
   * Revenue in `currency`: the price for trial, purchase and renewal, minus the price for a refund;
   * null for an access level's change.
   */
  revenue: number | null;
  currency: string | null;
  transaction: RevenueTransaction | null;
  /** For `access_level`: the level and how it changed (granted, revoked, started, expired, updated). */
  accessLevel: { id: string; change: string; isActive: boolean; expiresAt: number | null } | null;
  /**
   * The same for every attempt and every resend of this revenue (a UUID derived from the purchase
   * and the kind; the event id for an access level): what each tool deduplicates by.
   */
  dedupKey: string;
}

/** A destination as the worker sends to it. */
export interface DestinationSettings {
  id: string;
  type: string;
  /** The tool's credentials and settings, under the names the tool uses. */
  config: Readonly<Record<string, string>>;
  /** Where requests go: the tool's ingestion host unless changed (a proxy, another region, a test fake). */
  baseUrl: string;
  /** The event name (or, for Adjust, the event token) per kind: the type's defaults with the destination's own over them. */
  eventNames: Readonly<Partial<Record<RevenueKind, string>>>;
}

/** The request to send: always a POST. */
export interface ToolRequest {
  /** The whole URL, query included. */
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What to do with one event: send this request, or record the delivery as skipped with a reason. */
export type Built = { request: ToolRequest } | { skip: string };

/** What the tool answered. */
export interface ToolAnswer {
  statusCode: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The start of the body (at most a few kilobytes), decoded as UTF-8. */
  body: string;
}

/**
 * How an answer is taken: `succeeded`; `retry` (429, 5xx: the tool may take it later; `retryAfterMs`
 * when it said when); `failed` for good (an answer the tool documents as permanent), with the
 * tool's message.
 */
export type Verdict =
  | { status: 'succeeded' }
  | { status: 'retry'; error: string; retryAfterMs?: number }
  | { status: 'failed'; error: string };

/** One field of a type's `config`. */
export interface ConfigField {
  name: string;
  required: boolean;
  /** A credential: shown once when the destination is added, then only as a hint. */
  secret: boolean;
  description: string;
  /** What a valid value looks like, checked when the destination is added. */
  pattern?: RegExp;
}

export interface DestinationType {
  /** `amplitude`, `mixpanel`, `posthog`, `firebase`, `appsflyer`, `adjust`. */
  type: string;
  /** The tool's documented ingestion host (scheme and host, no path). */
  defaultBaseUrl: string;
  config: readonly ConfigField[];
  /** The event names sent unless the destination names its own; a kind without a name is not sent. */
  defaultEventNames: Readonly<Partial<Record<RevenueKind, string>>>;
  /** The event types a destination of this type can take (`transaction.recorded`, and `access_level.updated` where the tool has a use for it). */
  eventTypes: readonly ('transaction.recorded' | 'access_level.updated')[];
  /**
   * Whether the tool drops a second copy of an event by its dedup key. When it does not, an attempt
   * whose outcome is unknown (a timeout, a connection lost after sending, a process killed during
   * it) is not sent again automatically: that could count revenue twice.
   */
  deduplicates: boolean;
  /** The integration identifier keys it sends the user under, in order of preference. */
  identifierKeys: readonly string[];
  /** Builds the tool's request for one event, or says why it is skipped (no id for this tool, ...). */
  build(event: RevenueEvent, destination: DestinationSettings): Built;
  /** Reads the tool's answer. */
  judge(answer: ToolAnswer): Verdict;
}
