/**
 * The wire types of Adapty's server-side API for profiles, purchases and integration identifiers, as
 * Crosswalk serves them, and of Crosswalk's own identifier operations (`/crosswalk/v1/`). Field
 * names are the wire names (snake_case), so a value can be sent or read as it is.
 */

import type { CrosswalkError } from './errors.js';

/** Values of the `adapty-platform` header and of `installation_meta.platform`. */
export type Platform = 'iOS' | 'macOS' | 'iPadOS' | 'visionOS' | 'Android' | 'web';

/** `f`, `m` or `o`. */
export type Gender = 'f' | 'm' | 'o';

/** The store the user buys in. */
export type Store = 'app_store' | 'play_store' | 'stripe' | 'adapty' | 'paddle';

/** Apple App Tracking Transparency status: 0 not determined, 1 restricted, 2 denied, 3 authorized. */
export type AttStatus = 0 | 1 | 2 | 3;

/**
 * Names a profile: its customer user id (your own user id, 1 to 256 characters), its profile id
 * (a UUID), or both (then the profile must match both). At least one is required.
 */
export type ProfileAddress =
  | { customerUserId: string; profileId?: string }
  | { customerUserId?: string; profileId: string };

/** A custom attribute as a profile answer carries it. */
export interface CustomAttribute {
  /** 1 to 30 letters, digits, `.`, `_` or `-`. */
  key: string;
  /** A string of at most 50 characters, or a finite number (answered as a number). */
  value: string | number;
}

/** A custom attribute in a request: a `null` or `""` value deletes the key. */
export interface CustomAttributeInput {
  key: string;
  value: string | number | null;
}

/**
 * One device of the profile, upserted by `device_id`: fields left out keep their stored value,
 * `null` clears one.
 */
export interface InstallationMeta {
  /** A UUID identifying the device. */
  device_id: string;
  device?: string | null;
  locale?: string | null;
  os?: string | null;
  /** When left out, the `platform` option of the call (the `adapty-platform` header) is used. */
  platform?: Platform | null;
  timezone?: string | null;
  user_agent?: string | null;
  app_build?: string | null;
  app_version?: string | null;
  adapty_sdk_version?: string | null;
  idfa?: string | null;
  idfv?: string | null;
  advertising_id?: string | null;
  android_id?: string | null;
  android_app_set_id?: string | null;
}

/**
 * The body of create and update. Every field is optional: a field left out keeps its value and
 * `null` clears it. Crosswalk keeps these fields but, like Adapty, does not return them.
 */
export interface ProfileRequest {
  first_name?: string | null;
  last_name?: string | null;
  gender?: Gender | null;
  email?: string | null;
  phone_number?: string | null;
  /** `YYYY-MM-DD`. */
  birthday?: string | null;
  /** ISO 3166-1 alpha-2, e.g. `FR`. */
  ip_country?: string | null;
  ip_v4_address?: string | null;
  /** ISO 3166-1 alpha-2, e.g. `US`. */
  store_country?: string | null;
  store?: Store | null;
  /** A UUID. */
  store_account_token?: string | null;
  att_status?: AttStatus | null;
  analytics_disabled?: boolean | null;
  /** Merged by key into the stored attributes (at most 30 in all); `null` removes them all. */
  custom_attributes?: CustomAttributeInput[] | null;
  /** Adapty's schema requires it; Crosswalk does not. */
  installation_meta?: InstallationMeta | null;
}

/** The `data` object of a profile answer (of the profile and the purchase operations). */
export interface Profile {
  app_id: string;
  /** The profile's UUID, in lower case. */
  profile_id: string;
  customer_user_id: string | null;
  /** Production transactions that are not refunded, in US dollars, rounded to cents. */
  total_revenue_usd: number;
  /** Changes whenever the profile's attributes change. */
  segment_hash: string;
  /** The time of the answer, epoch milliseconds. */
  timestamp: number;
  /** Sorted by key on Crosswalk. */
  custom_attributes: CustomAttribute[];
  /** One per access level the profile has or had, active or not; sorted by id on Crosswalk. */
  access_levels: AccessLevel[];
  /** The latest transaction of each subscription. */
  subscriptions: Subscription[];
  /** Every one-time purchase, newest first. */
  non_subscriptions: NonSubscription[];
}

// ---------------------------------------------------------------------------------------------
// Purchases: transactions, access levels and Refund Saver settings. Times are RFC 3339 date-times
// (`2024-01-15T10:30:00Z`; one without an offset is read as UTC); answers give them in UTC with
// milliseconds (`2024-01-15T10:30:00.000Z`).

/** What a transaction is: a one-time purchase or a period of a subscription. */
export type PurchaseType = 'one_time_purchase' | 'subscription';

/** Where a transaction happened; `Production` when left out. Only production revenue counts. */
export type Environment = 'Production' | 'Sandbox';

/** The stores Adapty names; any other non-empty text is a store of your own. */
export type TransactionStore = 'app_store' | 'play_store' | 'stripe' | 'paddle' | (string & {});

/** Why a purchase ended. `refund` goes with `refunded_at`; `adapty_revoked` is answered for a revoked access level. */
export type CancellationReason =
  | 'billing_error'
  | 'cancelled_by_developer'
  | 'new_subscription_replace'
  | 'price_increase'
  | 'product_was_not_available'
  | 'refund'
  | 'unknown'
  | 'upgraded'
  | 'voluntarily_cancelled'
  | 'adapty_revoked';

export type OfferCategory = 'introductory' | 'promotional' | 'offer_code' | 'win_back';
export type OfferType = 'free_trial' | 'pay_as_you_go' | 'pay_up_front';

/** An offer applied to a purchase, as answered. */
export interface Offer {
  category: OfferCategory;
  type: OfferType;
  id: string | null;
}

/** An offer in a transaction: its id is required unless the category is `introductory`. */
export interface OfferInput {
  category: OfferCategory;
  type: OfferType;
  id?: string | null;
}

/** What the user paid, in the store's currency. */
export interface Price {
  /** ISO 3166-1 alpha-2, e.g. `US`. */
  country: string;
  /** ISO 4217, e.g. `USD`. On Crosswalk, a production price in another currency needs an exchange rate set on the server. */
  currency: string;
  /** Zero or more. */
  value: number;
}

/** The fields both kinds of transaction have. */
interface TransactionFields {
  store: TransactionStore;
  /** Default `Production`. */
  environment?: Environment;
  store_product_id: string;
  /** Google Play base plan; a Crosswalk extension (Adapty does not take it). */
  store_base_plan_id?: string | null;
  /**
   * At most 50 characters. With `store`, it is the transaction: sent again, the same transaction
   * is updated (its revenue counts once), never recorded twice.
   */
  store_transaction_id: string;
  store_original_transaction_id: string;
  /** Default false; a family-shared purchase has a price of 0. */
  is_family_shared?: boolean;
  price: Price;
  purchased_at: string;
  variation_id?: string | null;
  /** A free trial has a price of 0. */
  offer?: OfferInput | null;
  /** Given with `cancellation_reason: 'refund'`, and only then; the revenue then no longer counts. */
  refunded_at?: string | null;
  cancellation_reason?: CancellationReason | null;
}

/** A one-time purchase: its `store_transaction_id` equals its `store_original_transaction_id`. */
export interface OneTimePurchaseTransaction extends TransactionFields {
  purchase_type: 'one_time_purchase';
}

/** One period of a subscription. */
export interface SubscriptionTransaction extends TransactionFields {
  purchase_type: 'subscription';
  /** Not later than `purchased_at`. */
  originally_purchased_at: string;
  /** Later than `purchased_at`. */
  expires_at: string;
  /** Whether it renews at `expires_at`. */
  renew_status: boolean;
  renew_status_changed_at?: string | null;
  billing_issue_detected_at?: string | null;
  /** Needs `billing_issue_detected_at`; not earlier than `expires_at`. */
  grace_period_expires_at?: string | null;
}

/** The body of `setTransaction`, by `purchase_type`. */
export type TransactionRequest = OneTimePurchaseTransaction | SubscriptionTransaction;

/** The body of `grantAccessLevel`. */
export interface GrantAccessLevelRequest {
  access_level_id: string;
  /** When access starts (may be in the future); left out or null: now. */
  starts_at?: string | null;
  /** When it ends (may be in the past); left out or null: for life. Later than `starts_at`. */
  expires_at?: string | null;
}

/** The body of `revokeAccessLevel`. */
export interface RevokeAccessLevelRequest {
  access_level_id: string;
  /** When access ends: in the future, and not after the access level expires; left out or null: now. */
  revoke_at?: string | null;
}

/** The store, product and transaction fields the answers' purchase objects share. */
interface StoreFields {
  /** `adapty` for an access level granted without a transaction. */
  store: string;
  store_product_id: string;
  store_base_plan_id: string | null;
  store_transaction_id: string;
  store_original_transaction_id: string;
}

/** How a subscription (or the access it gives) stands at renewal. */
interface RenewalFields {
  /** The end of access; null for life. */
  expires_at: string | null;
  renewal_cancelled_at: string | null;
  billing_issue_detected_at: string | null;
  is_in_grace_period: boolean;
  /** A known reason, or any other text Adapty may send. */
  cancellation_reason: CancellationReason | (string & {}) | null;
}

/**
 * One access level of the profile: the transaction or grant that gives it longest (for a grant,
 * `store` is `adapty` and the product and transaction ids are empty).
 */
export interface AccessLevel extends StoreFields, RenewalFields {
  access_level_id: string;
  /** Active at the time of the answer. A Crosswalk extension: Adapty leaves it out. */
  is_active?: boolean;
  /** Never expires. A Crosswalk extension: Adapty leaves it out. */
  is_lifetime?: boolean;
  offer: Offer | null;
  starts_at: string | null;
  purchased_at: string;
  originally_purchased_at: string;
}

/** The latest transaction of one subscription. */
export interface Subscription extends StoreFields, RenewalFields {
  offer: Offer | null;
  environment: Environment;
  purchased_at: string;
  originally_purchased_at: string;
  /** Active at the time of the answer. A Crosswalk extension: Adapty leaves it out. */
  is_active?: boolean;
}

/** One one-time purchase. */
export interface NonSubscription extends StoreFields {
  /** A UUID given when the purchase was first recorded. */
  purchase_id: string;
  purchased_at: string;
  environment: Environment;
  is_refund: boolean;
  is_consumable: boolean;
}

/** How a profile's refund requests are answered to the App Store. */
export type RefundPreference = 'grant' | 'no_preference' | 'decline';

/** A profile's Refund Saver settings; a profile that set none has `false` and `no_preference`. */
export interface RefundSaverSettings {
  /** Whether the user agreed that their data may be shared with Apple for a refund request. */
  consent: boolean;
  custom_preference: RefundPreference;
}

/** The answer of the Refund Saver operations (not wrapped in `data`). */
export interface ProfileRefundSaverSettings {
  profile_id: string;
  settings: RefundSaverSettings;
}

/** The body of `setRefundSaverSettings`: one or both settings; null or left out keeps the stored value. */
export type RefundSaverSettingsRequest =
  | { consent: boolean; custom_preference?: RefundPreference | null }
  | { consent?: boolean | null; custom_preference: RefundPreference };

/** The 16 integration identifier keys, in the vendor schema's order (the order of GET answers). */
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

/** One of the 16 integration identifier keys. */
export type IdentifierKey = (typeof IDENTIFIER_KEYS)[number];

/** Every integration identifier of a profile, `null` where unset. */
export interface IntegrationIdentifiers {
  adjust_device_id: string | null;
  airbridge_device_id: string | null;
  amplitude_device_id: string | null;
  amplitude_user_id: string | null;
  appmetrica_device_id: string | null;
  appmetrica_profile_id: string | null;
  appsflyer_id: string | null;
  branch_id: string | null;
  facebook_anonymous_id: string | null;
  firebase_app_instance_id: string | null;
  mixpanel_user_id: string | null;
  one_signal_player_id: string | null;
  one_signal_subscription_id: string | null;
  posthog_distinct_user_id: string | null;
  pushwoosh_hwid: string | null;
  tenjin_analytics_installation_id: string | null;
}

/**
 * A set-integration-identifiers body: each key given is set (a string, or a number stored as its
 * decimal text) or cleared (`null`); keys left out are untouched. At least one key is required.
 */
export type IntegrationIdentifiersUpdate = Partial<Record<IdentifierKey, string | number | null>>;

/** A profile that holds an identifier value, as a reverse lookup answers it. */
export interface IdentifierHolder {
  /** The profile's UUID, in lower case. */
  profile_id: string;
  customer_user_id: string | null;
  /** The key under which the profile holds the value. */
  key: IdentifierKey;
}

/**
 * What a history entry records: `set` (null → value), `change` (old → new), `clear` (old → null),
 * `moved_away` (another profile took the value under conflict policy `move`; value → null) or
 * `dropped` (a placeholder was left out: `old_value` is the value kept, `new_value` the placeholder sent).
 */
export type IdentifierHistoryKind = 'set' | 'change' | 'clear' | 'moved_away' | 'dropped';

/** The write that made a history entry: the set operation, a batch, or `crosswalk import`. */
export type IdentifierHistorySource = 'api' | 'batch' | 'import';

/** One change of one identifier of a profile. */
export interface IdentifierHistoryEntry {
  /** Increases in commit order; also the cursor of the page after it. */
  id: string;
  key: IdentifierKey;
  kind: IdentifierHistoryKind;
  old_value: string | null;
  new_value: string | null;
  /** For moves: the profile that took the value from this one, or that lost it to this one. */
  other_profile_id: string | null;
  source: IdentifierHistorySource;
  /** The id `crosswalk keys list` shows; `null` for imports. */
  api_key_id: string | null;
  /** The request's `request-id`; `null` for imports. */
  request_id: string | null;
  /** ISO 8601, e.g. `2026-11-29T21:40:12.345Z`. */
  changed_at: string;
}

/** One page of a profile's identifier history, newest first. */
export interface IdentifierHistoryPage {
  entries: IdentifierHistoryEntry[];
  /** Pass as `cursor` to get the next (older) page; `null` on the last page. */
  next_cursor: string | null;
}

/**
 * One item of a batch write: the profile, named as an address is (`customerUserId`, `profileId`
 * or both; sent as `customer_user_id` and `profile_id`), and the identifiers to set or clear, with
 * the rules of `setIntegrationIdentifiers`.
 */
export type IdentifierBatchItem = ProfileAddress & { identifiers: IntegrationIdentifiersUpdate };

/** A batch item that was applied. */
export interface BatchItemSuccess {
  ok: true;
  /** The item's position in the request. */
  index: number;
  status: 200;
  profile_id: string;
  customer_user_id: string | null;
  /** Whether the profile was created by this item (`createMissing`). */
  created: boolean;
  /** The keys whose value changed. */
  changed: IdentifierKey[];
  /** The keys whose placeholder value was left out (placeholder mode `drop`). */
  dropped: IdentifierKey[];
}

/** A batch item that failed and wrote nothing; the others were still applied. */
export interface BatchItemFailure {
  ok: false;
  /** The item's position in the request. */
  index: number;
  /** The status the item would have had as a single request (400, 404, 409, …). */
  status: number;
  /**
   * The item's error envelope as the typed error a single request would have thrown
   * (`CrosswalkValidationError`, `CrosswalkNotFoundError`, `CrosswalkConflictError`, …).
   */
  error: CrosswalkError;
}

/** One result per batch item: narrow on `ok`. */
export type BatchItemResult = BatchItemSuccess | BatchItemFailure;

/** The answer of a batch write. */
export interface BatchResult {
  /** One per item, in the order given (`results[i].index === i`). */
  results: BatchItemResult[];
  succeeded: number;
  failed: number;
}

// Compile-time check that the interface and the key list name the same 16 keys.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Same<keyof IntegrationIdentifiers, IdentifierKey>;
