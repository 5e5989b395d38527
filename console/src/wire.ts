/** The answers the console reads, as the API sends them (only the fields it shows). */

/**
 * The 16 integration identifier keys, in the order the API answers them. The console is built
 * apart from the server, so the list is written here; a test compares it with the server's.
 */
export const IDENTIFIER_KEYS = [
  'adjust_device_id',
  'airbridge_device_id',
  'amplitude_device_id',
  'amplitude_user_id',
  'appmetrica_device_id',
  'appmetrica_profile_id',
  'appsflyer_id',
  'branch_id',
  'facebook_anonymous_id',
  'firebase_app_instance_id',
  'mixpanel_user_id',
  'one_signal_player_id',
  'one_signal_subscription_id',
  'posthog_distinct_user_id',
  'pushwoosh_hwid',
  'tenjin_analytics_installation_id',
] as const;
export type IdentifierKey = (typeof IDENTIFIER_KEYS)[number];

/** The event types an endpoint can subscribe to (compared with the server's by the same test). */
export const EVENT_TYPES = [
  'profile.created',
  'profile.updated',
  'profile.deleted',
  'integration_identifiers.updated',
  'transaction.recorded',
  'access_level.updated',
] as const;

export type Identifiers = Record<IdentifierKey, string | null>;

export interface AccessLevel {
  access_level_id: string;
  is_active: boolean;
  is_lifetime: boolean;
  store: string;
  store_product_id: string;
  starts_at: string | null;
  purchased_at: string;
  expires_at: string | null;
  renewal_cancelled_at: string | null;
  cancellation_reason: string | null;
}

export interface Subscription {
  store: string;
  store_product_id: string;
  store_transaction_id: string;
  environment: string;
  purchased_at: string;
  expires_at: string | null;
  cancellation_reason: string | null;
  is_active: boolean;
}

export interface OneTimePurchase {
  purchase_id: string;
  store: string;
  store_product_id: string;
  store_transaction_id: string;
  environment: string;
  purchased_at: string;
  is_refund: boolean;
  is_consumable: boolean;
}

export interface Profile {
  app_id: string;
  profile_id: string;
  customer_user_id: string | null;
  total_revenue_usd: number;
  segment_hash: string;
  timestamp: number;
  custom_attributes: { key: string; value: string | number }[];
  access_levels: AccessLevel[];
  subscriptions: Subscription[];
  non_subscriptions: OneTimePurchase[];
}

export interface HistoryEntry {
  id: string;
  key: IdentifierKey;
  kind: 'set' | 'change' | 'clear' | 'moved_away' | 'dropped';
  old_value: string | null;
  new_value: string | null;
  other_profile_id: string | null;
  source: 'api' | 'batch' | 'import';
  api_key_id: string | null;
  request_id: string | null;
  changed_at: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Holder {
  profile_id: string;
  customer_user_id: string | null;
  /** The key under which the profile holds the value. */
  key: string;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'cancelled';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed', 'cancelled'];

export interface Delivery {
  id: number;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  profile_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  event_types: string[];
  secret_hint: string;
  created_at: string;
}

export interface Stats {
  app: { id: string; name: string };
  profiles: number;
  identifiers: Record<IdentifierKey, number>;
  api_keys: { active: number; revoked: number };
  revenue: {
    transactions: { store: string; environment: string; count: number; refunded: number; revenue_usd: number }[];
    grants: number;
    revenue_usd: number;
  };
  database: { dialect: string; bytes: number };
}

/** The tools revenue can be sent to (compared with the server's by the console test). */
export const DESTINATION_TYPES = ['amplitude', 'mixpanel', 'posthog', 'firebase', 'appsflyer', 'adjust'] as const;

/** A destination's delivery can also be skipped: nothing to send (no id for the tool, a sandbox transaction, ...). */
export type DestinationDeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export const DESTINATION_DELIVERY_STATUSES: readonly DestinationDeliveryStatus[] = ['pending', 'succeeded', 'failed', 'skipped', 'cancelled'];

export interface Destination {
  id: string;
  type: string;
  base_url: string;
  /** Credentials as hints (their first characters and `…`); other settings in full. */
  config: Record<string, string>;
  /** Event names (Adjust: event tokens) by kind: the type's defaults with the destination's own over them. */
  event_names: Record<string, string>;
  events: string[];
  include_sandbox: boolean;
  created_at: string;
}

export interface DestinationDelivery {
  id: number;
  destination_id: string;
  event_id: string;
  event_type: string;
  profile_id: string;
  status: DestinationDeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  /** Why it was skipped, the tool's message for a failure, or null. */
  reason: string | null;
  created_at: string;
  completed_at: string | null;
}

/** What a test send found. */
export interface DestinationTest {
  status: 'succeeded' | 'failed' | 'skipped';
  status_code: number | null;
  error: string | null;
  /** The start of the tool's answer. */
  answer: string | null;
}
