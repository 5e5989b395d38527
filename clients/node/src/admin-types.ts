/**
 * Types of Crosswalk's management operations (webhooks, destinations, revenue configuration, the
 * app's counts, the key's scope): Crosswalk only, with the wire's field names.
 */

import type { IdentifierKey } from './types.js';

/** The events an endpoint can subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'profile.created',
  'profile.updated',
  'profile.deleted',
  'integration_identifiers.updated',
  'transaction.recorded',
  'access_level.updated',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** What a new endpoint is: where, for which events (all when left out), signed with which secret. */
export interface WebhookEndpointRequest {
  /** An absolute http:// or https:// URL that receives a POST per event. */
  url: string;
  /** The events to send; every type when left out. */
  event_types?: WebhookEventType[];
  /** 16 to 256 printable ASCII characters; generated (`whsec_…`) when left out. */
  secret?: string;
  description?: string | null;
}

/** An endpoint as listings show it: the secret only as a hint. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  event_types: WebhookEventType[];
  /** The start of the secret, to tell secrets apart. */
  secret_hint: string;
  created_at: string;
}

/** The endpoint just added, with its signing secret: the only answer that shows it. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'cancelled';

/** One delivery of one event to one endpoint. */
export interface WebhookDelivery {
  /** Increasing: newer deliveries have larger ids. */
  id: number;
  endpoint_id: string;
  event_id: string;
  event_type: WebhookEventType;
  /** The profile the event is about. */
  profile_id: string;
  status: WebhookDeliveryStatus;
  /** Attempts started so far. */
  attempts: number;
  /** When the next attempt is due; `null` unless pending. */
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  /** Why the last attempt failed (`HTTP 500: …`, a timeout, a refused target), `null` after a success. */
  last_error: string | null;
  created_at: string;
  completed_at: string | null;
}

/** Options of `listWebhookDeliveries`: every filter is optional and they combine. */
export interface WebhookDeliveryQuery {
  status?: WebhookDeliveryStatus;
  endpointId?: string;
  /** Only deliveries of events about this profile. */
  profileId?: string;
  /** 1 to 100; the server's default is 20. */
  limit?: number;
  /** `next_cursor` of the previous page, unchanged. */
  cursor?: string | null;
}

/** One page of deliveries, newest first. */
export interface WebhookDeliveryPage {
  deliveries: WebhookDelivery[];
  /** Pass as `cursor` for the next (older) page; `null` on the last page. */
  next_cursor: string | null;
}

/** The tools a destination can send revenue to, in the server's order. */
export const DESTINATION_TYPES = ['amplitude', 'mixpanel', 'posthog', 'firebase', 'appsflyer', 'adjust'] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/** The events a destination can take: revenue only. */
export const DESTINATION_EVENT_TYPES = ['transaction.recorded', 'access_level.updated'] as const;
export type DestinationEventType = (typeof DESTINATION_EVENT_TYPES)[number];

/** The kinds of event a destination names (`event_names` keys). */
export type DestinationEventNameKind = 'trial' | 'purchase' | 'renewal' | 'refund' | 'access_level';

/** What a new destination is: which tool, its credentials, where and what to send. */
export interface DestinationRequest {
  type: DestinationType;
  /**
   * The tool's credentials and settings under the names the tool uses (Amplitude: `api_key`,
   * `min_id_length`; Mixpanel: `project_token`; …); every value a string of 1 to 1024 characters.
   */
  config: Record<string, string>;
  /** Where requests go (no query or fragment); the tool's ingestion host when left out or `null`. */
  base_url?: string | null;
  /** The events to send; `['transaction.recorded']` when left out or `null`. */
  events?: DestinationEventType[] | null;
  /** Event names (Adjust: event tokens) by kind, over the type's defaults. */
  event_names?: Partial<Record<DestinationEventNameKind, string>> | null;
  /** Send sandbox transactions too; false when left out or `null`. */
  include_sandbox?: boolean | null;
}

/**
 * A destination. `config` holds the credentials in full only in the answer of `createDestination`;
 * listings show each credential as a hint (its first characters at most, then `…`), other settings
 * in full.
 */
export interface Destination {
  id: string;
  type: DestinationType;
  /** Where requests go, without a trailing slash. */
  base_url: string;
  config: Record<string, string>;
  /** The names (Adjust: tokens) it sends: the type's defaults with the destination's own over them. */
  event_names: Partial<Record<DestinationEventNameKind, string>>;
  events: DestinationEventType[];
  include_sandbox: boolean;
  created_at: string;
}

/** What `testDestination` found: how the tool answered one test event, and how Crosswalk reads that answer. */
export interface DestinationTestResult {
  /** `skipped`: nothing was sent (the destination has no name for a purchase, …); `error` says why. */
  status: 'succeeded' | 'failed' | 'skipped';
  /** The tool's HTTP status; `null` when nothing was sent or no answer came. */
  status_code: number | null;
  /** The tool's message, or why nothing was sent or the connection failed; `null` after a success. */
  error: string | null;
  /** The start of the tool's answer body; `null` when there was none. */
  answer: string | null;
}

/** `skipped`: nothing was sent (the profile has no id for the tool, an update carries no revenue, …); `reason` says why. */
export type DestinationDeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** One delivery of one event to one destination. */
export interface DestinationDelivery {
  /** Increasing: newer deliveries have larger ids. */
  id: number;
  destination_id: string;
  event_id: string;
  event_type: DestinationEventType;
  /** The profile the event is about. */
  profile_id: string;
  status: DestinationDeliveryStatus;
  /** Attempts made so far (a skipped delivery counts the one that found nothing to send). */
  attempts: number;
  /** When the next attempt is due; `null` unless pending. */
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  /** Why it was skipped, the tool's message for a failure, or `null`. */
  reason: string | null;
  created_at: string;
  completed_at: string | null;
}

/** Options of `listDestinationDeliveries`: every filter is optional and they combine. */
export interface DestinationDeliveryQuery {
  status?: DestinationDeliveryStatus;
  destinationId?: string;
  /** Only deliveries of events about this profile. */
  profileId?: string;
  /** 1 to 100; the server's default is 20. */
  limit?: number;
  /** `next_cursor` of the previous page, unchanged. */
  cursor?: string | null;
}

/** One page of deliveries to destinations, newest first. */
export interface DestinationDeliveryPage {
  deliveries: DestinationDelivery[];
  /** Pass as `cursor` for the next (older) page; `null` on the last page. */
  next_cursor: string | null;
}

/** A configured access level. */
export interface ConfiguredAccessLevel {
  access_level_id: string;
  created_at: string;
}

/** What a configured product unlocks. */
export interface ConfiguredProduct {
  store_product_id: string;
  /** `null`: nothing. */
  access_level_id: string | null;
  is_consumable: boolean;
}

/** The product configuration `setProduct` sends. */
export interface ProductRequest {
  /** What the product unlocks; `null`: nothing. */
  access_level_id: string | null;
  /** Left out: false. */
  is_consumable?: boolean;
}

/** A currency's rate: US dollars for one unit. */
export interface CurrencyRate {
  /** ISO 4217, upper case. */
  currency: string;
  usd_per_unit: number;
  updated_at: string;
}

/**
 * What happens to an access level id never configured: `create` configures it on first use,
 * `reject` refuses it (400 `paid_access_level_does_not_exist`).
 */
export type UnknownAccessLevelMode = 'create' | 'reject';

export interface RevenueSettings {
  unknown_access_levels: UnknownAccessLevelMode;
}

/** What `crosswalk stats` counts of the key's app. */
export interface AppStats {
  app: { id: string; name: string };
  profiles: number;
  /** Profiles holding each of the 16 keys; 0 where none does. */
  identifiers: Record<IdentifierKey, number>;
  api_keys: { active: number; revoked: number };
  revenue: {
    /** Per store and environment. */
    transactions: { store: string; environment: string; count: number; refunded: number; revenue_usd: number }[];
    /** Access levels given without a transaction. */
    grants: number;
    /** Production transactions not refunded, in US dollars. */
    revenue_usd: number;
  };
  /** The whole database, every app included. */
  database: { dialect: 'sqlite' | 'postgres'; bytes: number };
}

/** What a key may do, each level including the one before it. */
export type ApiKeyScope = 'read' | 'write' | 'admin';

/** The app and the key of the client's API key, and the key's scope. */
export interface ApiKeyInfo {
  app_id: string;
  key_id: string;
  scope: ApiKeyScope;
}

/** Every action the audit trail records. */
export const AUDIT_ACTIONS = [
  'app.create',
  'key.create',
  'key.revoke',
  'key.scope',
  'rules.update',
  'webhook_endpoint.add',
  'webhook_endpoint.remove',
  'webhook_delivery.redeliver',
  'destination.add',
  'destination.remove',
  'destination_delivery.redeliver',
  'access_level.add',
  'access_level.remove',
  'product.set',
  'product.remove',
  'currency_rate.set',
  'currency_rate.remove',
  'revenue_settings.set',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One management change of the app: who made it, what it was, when. */
export interface AuditEntry {
  /** Increasing: newer entries have larger ids. */
  id: string;
  /** The id of the API key that made the change, `cli` for the crosswalk command, or `startup` for the server starting. */
  actor: string;
  action: AuditAction;
  /** What changed (a key, an endpoint, a product, a currency…); null when the app's set-up as a whole changed. */
  target_id: string | null;
  /** A small object saying what changed; never a secret. */
  detail: Record<string, unknown>;
  created_at: string;
}

/** Options of `listAuditEntries`. */
export interface AuditQuery {
  /** Entries per page, 1 to 500; the server's default is 50. */
  limit?: number;
  /** `next_cursor` of the previous page, unchanged; left out or `null` for the first (newest) page. */
  cursor?: string | null;
}

/** A page of the audit trail, newest first. */
export interface AuditPage {
  entries: AuditEntry[];
  /** Pass it as `cursor` for the next page; null on the last. */
  next_cursor: string | null;
}
