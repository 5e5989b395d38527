import { createHash } from 'node:crypto';
import {
  accessLevelsToWire,
  nonSubscriptionsToWire,
  type ProfileRevenue,
  subscriptionsToWire,
  totalRevenueUsd,
} from './revenue.js';

/**
 * The stored attributes of a profile. They keep their wire (and column) names because they are
 * copied field for field between the request, the database row and nothing else.
 */
export interface ProfileAttributes {
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
  analytics_disabled: boolean | null;
}

export const ATTRIBUTE_NAMES = [
  'first_name',
  'last_name',
  'gender',
  'email',
  'phone_number',
  'birthday',
  'ip_country',
  'ip_v4_address',
  'store_country',
  'store',
  'store_account_token',
  'att_status',
  'analytics_disabled',
] as const satisfies readonly (keyof ProfileAttributes)[];

export const INSTALLATION_FIELDS = [
  'device',
  'locale',
  'os',
  'platform',
  'timezone',
  'user_agent',
  'app_build',
  'app_version',
  'adapty_sdk_version',
  'idfa',
  'idfv',
  'advertising_id',
  'android_id',
  'android_app_set_id',
] as const;

export type InstallationField = (typeof INSTALLATION_FIELDS)[number];

/** One device of a profile, upserted by `device_id`; omitted fields keep their stored value. */
export type InstallationMeta = { device_id: string } & Partial<Record<InstallationField, string | null>>;

export type CustomAttributeValue = string | number;

export interface CustomAttribute {
  key: string;
  value: CustomAttributeValue;
}

/** A custom attribute write: a null value deletes the key. */
export interface CustomAttributeChange {
  key: string;
  value: CustomAttributeValue | null;
}

/** How a request names a profile: by its id, by the customer's own user id, or by both. */
export interface ProfileAddress {
  profileId?: string;
  customerUserId?: string;
}

/** The customer user id's maximum length, in characters, wherever one is given. */
export const MAX_CUSTOMER_USER_ID_LENGTH = 256;

/** A validated create or update: only what the request named. */
export interface ProfilePatch {
  attributes: Partial<ProfileAttributes>;
  /** Changes merged by key; `null` removes every custom attribute; undefined leaves them alone. */
  customAttributes?: CustomAttributeChange[] | null;
  installation?: InstallationMeta;
}

export const MAX_CUSTOM_ATTRIBUTES = 30;

/** A profile as storage returns it. */
export interface ProfileRecord {
  appId: string;
  profileId: string;
  customerUserId: string | null;
  attributes: ProfileAttributes;
  customAttributes: CustomAttribute[];
  /** Transactions and grants; empty for a profile that has none. */
  revenue: ProfileRevenue;
}

/**
 * 16 hex characters derived from everything the profile's owner can set, so the value changes
 * exactly when the profile's attributes do.
 */
export function segmentHash(record: ProfileRecord): string {
  const attributes = ATTRIBUTE_NAMES.map((name) => record.attributes[name]);
  const custom = record.customAttributes.map(({ key, value }) => [key, value]);
  return createHash('sha256')
    .update(JSON.stringify([record.customerUserId, attributes, custom]))
    .digest('hex')
    .slice(0, 16);
}

/** The vendor's `Profile` object; access levels are active or not as of `now`. */
export function profileToWire(record: ProfileRecord, now: number) {
  const { transactions } = record.revenue;
  return {
    app_id: record.appId,
    profile_id: record.profileId,
    customer_user_id: record.customerUserId,
    total_revenue_usd: totalRevenueUsd(transactions),
    segment_hash: segmentHash(record),
    timestamp: now,
    custom_attributes: record.customAttributes,
    access_levels: accessLevelsToWire(record.revenue, now),
    subscriptions: subscriptionsToWire(transactions, now),
    non_subscriptions: nonSubscriptionsToWire(transactions),
  };
}
