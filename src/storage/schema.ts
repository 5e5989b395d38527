import type { ColumnType, Generated } from 'kysely';

/** Table types as Kysely sees them. Times are epoch milliseconds; booleans are 0/1 integers. */
export interface AppsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  app_id: string;
  name: string;
  key_hash: string;
  hint: string;
  created_at: number;
  revoked_at: number | null;
  /** read | write | admin (see KEY_SCOPES). */
  scope: string;
  /** After this time the key is refused like a revoked one; null: never. */
  expires_at: number | null;
  /** When the key last authenticated a request, to the minute (written at most once a minute per process). */
  last_used_at: number | null;
}

/** The audit trail of management changes, newest last. */
export interface AuditLogTable {
  /** Assigned by the database, increasing: the order of the trail. */
  seq: Generated<number>;
  app_id: string;
  /** The API key id, `cli` or `startup`. */
  actor: string;
  action: string;
  target_id: string | null;
  /** A small JSON object; never a secret. */
  detail: string;
  created_at: number;
}

export interface ProfilesTable {
  app_id: string;
  id: string;
  customer_user_id: string | null;
  first_name: string | null;
  last_name: string | null;
  gender: string | null;
  email: string | null;
  phone_number: string | null;
  birthday: string | null;
  ip_country: string | null;
  ip_v4_address: string | null;
  store_country: string | null;
  store: string | null;
  store_account_token: string | null;
  att_status: number | null;
  analytics_disabled: number | null;
  created_at: number;
  updated_at: number;
  /** When the profile first had a transaction or a grant; null: none, the revenue tables need no read. */
  revenue_at: number | null;
}

export interface CustomAttributesTable {
  app_id: string;
  profile_id: string;
  key: string;
  /** The value as text; `is_number` says whether to give it back as a number. */
  value: string;
  is_number: number;
}

export interface InstallationsTable {
  app_id: string;
  profile_id: string;
  device_id: string;
  /** The installation_meta fields other than device_id, as a JSON object. */
  meta: string;
  updated_at: number;
}

export interface IdentifiersTable {
  app_id: string;
  profile_id: string;
  key: string;
  value: string;
  updated_at: number;
}

export interface IdentifierHistoryTable {
  /** Assigned by the database, increasing: the order of the history. */
  seq: Generated<number>;
  app_id: string;
  profile_id: string;
  key: string;
  /** set | change | clear | moved_away | dropped (see HistoryKind). */
  kind: string;
  old_value: string | null;
  new_value: string | null;
  /** For a move: the profile that took the value (kind moved_away) or lost it (set/change). */
  other_profile_id: string | null;
  /** api | batch | import */
  source: string;
  api_key_id: string | null;
  request_id: string | null;
  changed_at: number;
}

export interface AppRulesTable {
  app_id: string;
  placeholder_mode: string;
  /** JSON array of strings, compared like the built-in list. */
  extra_placeholders: string;
  /** JSON object: identifier key -> allow | reject | move. Keys left out allow. */
  conflict_policies: string;
  updated_at: number;
}

export interface WebhookEndpointsTable {
  app_id: string;
  id: string;
  url: string;
  /** Kept as given: it is needed to sign every delivery. */
  secret: string;
  description: string | null;
  /** JSON array of event types. */
  event_types: string;
  created_at: number;
  removed_at: number | null;
  /** `webhook`, or `destination` for a tool revenue is sent to (src/destinations/). */
  kind: ColumnType<string, string | undefined, string>;
  /** For a destination: JSON of its type, config (credentials), event names and options; else null. */
  destination: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface WebhookSubscriptionsTable {
  app_id: string;
  event_type: string;
  endpoint_id: string;
}

export interface WebhookEventsTable {
  app_id: string;
  id: string;
  type: string;
  profile_id: string;
  /** The JSON body sent to endpoints. */
  payload: string;
  created_at: number;
}

export interface WebhookDeliveriesTable {
  seq: Generated<number>;
  app_id: string;
  endpoint_id: string;
  event_id: string;
  profile_id: string;
  /** pending | succeeded | failed | cancelled | skipped (a destination had nothing to send: no id for the tool, ...) */
  status: string;
  attempts: number;
  next_attempt_at: number;
  /** While set and in the future, one worker holds the delivery. */
  lease_until: number | null;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  completed_at: number | null;
}

export interface PaidAccessLevelsTable {
  app_id: string;
  id: string;
  created_at: number;
}

export interface ProductsTable {
  app_id: string;
  store_product_id: string;
  access_level_id: string | null;
  is_consumable: number;
  updated_at: number;
}

export interface RevenueSettingsTable {
  app_id: string;
  /** create | reject (see UnknownAccessLevelMode). */
  unknown_access_levels: string;
  updated_at: number;
}

export interface CurrencyRatesTable {
  app_id: string;
  /** ISO 4217, upper case. */
  currency: string;
  usd_per_unit: number;
  updated_at: number;
}

export interface TransactionsTable {
  app_id: string;
  store: string;
  store_transaction_id: string;
  profile_id: string;
  purchase_id: string;
  purchase_type: string;
  store_product_id: string;
  store_base_plan_id: string | null;
  store_original_transaction_id: string;
  environment: string;
  is_family_shared: number;
  price_country: string;
  price_currency: string;
  price_value: number;
  price_usd: number | null;
  purchased_at: number;
  originally_purchased_at: number | null;
  expires_at: number | null;
  renew_status_changed_at: number | null;
  billing_issue_detected_at: number | null;
  grace_period_expires_at: number | null;
  refunded_at: number | null;
  access_ends_at: number | null;
  renew_status: number | null;
  variation_id: string | null;
  /** The offer as a JSON object, or null. */
  offer: string | null;
  cancellation_reason: string | null;
  access_level_id: string | null;
  is_consumable: number;
  created_at: number;
  updated_at: number;
}

export interface AccessGrantsTable {
  app_id: string;
  profile_id: string;
  access_level_id: string;
  starts_at: number | null;
  expires_at: number | null;
  access_ends_at: number | null;
  granted_at: number;
}

export interface RefundSaverSettingsTable {
  app_id: string;
  profile_id: string;
  consent: number;
  custom_preference: string;
  updated_at: number;
}

export interface AccessLevelClockTable {
  app_id: string;
  profile_id: string;
  access_level_id: string;
  due_at: number;
}

export interface Database {
  apps: AppsTable;
  api_keys: ApiKeysTable;
  profiles: ProfilesTable;
  custom_attributes: CustomAttributesTable;
  installations: InstallationsTable;
  integration_identifiers: IdentifiersTable;
  identifier_history: IdentifierHistoryTable;
  app_rules: AppRulesTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  paid_access_levels: PaidAccessLevelsTable;
  products: ProductsTable;
  revenue_settings: RevenueSettingsTable;
  currency_rates: CurrencyRatesTable;
  transactions: TransactionsTable;
  access_grants: AccessGrantsTable;
  refund_saver_settings: RefundSaverSettingsTable;
  access_level_clock: AccessLevelClockTable;
  audit_log: AuditLogTable;
}
