/**
 * The wire types of Adapty's server-side API for profiles and integration identifiers, as
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

/** The `data` object of a profile answer. */
export interface Profile {
  app_id: string;
  /** The profile's UUID, in lower case. */
  profile_id: string;
  customer_user_id: string | null;
  /** Always 0 on Crosswalk, which does not handle purchases. */
  total_revenue_usd: number;
  /** Changes whenever the profile's attributes change. */
  segment_hash: string;
  /** The time of the answer, epoch milliseconds. */
  timestamp: number;
  /** Sorted by key on Crosswalk. */
  custom_attributes: CustomAttribute[];
  /** Always empty on Crosswalk; Adapty's access level objects otherwise. */
  access_levels: Record<string, unknown>[];
  /** Always empty on Crosswalk; Adapty's subscription objects otherwise. */
  subscriptions: Record<string, unknown>[];
  /** Always empty on Crosswalk; Adapty's purchase objects otherwise. */
  non_subscriptions: Record<string, unknown>[];
}

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
