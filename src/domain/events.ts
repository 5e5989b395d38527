import type { ProfilePatch, ProfileRecord } from './profile.js';

/** The event types a webhook endpoint can subscribe to. */
export const EVENT_TYPES = [
  'profile.created',
  'profile.updated',
  'profile.deleted',
  'integration_identifiers.updated',
  'transaction.recorded',
  'access_level.updated',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (value: string): value is EventType => (EVENT_TYPES as readonly string[]).includes(value);

/** The `data` of every event: the profile it is about, and what the event type adds. */
export type EventData = { profile_id: string; customer_user_id: string | null } & Record<string, unknown>;

/** The JSON body every endpoint receives for one event. */
export interface EventPayload {
  id: string;
  type: EventType;
  created_at: string;
  app_id: string;
  data: EventData;
}

/** The profile fields a patch names, as the wire calls them. */
export function patchFields(patch: ProfilePatch): string[] {
  const fields = Object.keys(patch.attributes);
  if (patch.customAttributes !== undefined) fields.push('custom_attributes');
  if (patch.installation !== undefined) fields.push('installation_meta');
  return fields;
}

/** The data of a profile.created or profile.updated event. */
export function profileEventData(record: Pick<ProfileRecord, 'profileId' | 'customerUserId'>, patch: ProfilePatch): EventData {
  return { profile_id: record.profileId, customer_user_id: record.customerUserId, fields: patchFields(patch) };
}

/** The `changes` of an integration_identifiers.updated event: old and new value per key. */
export const identifierChangesData = (changes: readonly { key: string; oldValue: string | null; newValue: string | null }[]) =>
  Object.fromEntries(changes.map((change) => [change.key, { old: change.oldValue, new: change.newValue }]));

/** Why an access_level.updated event was sent. */
export type AccessLevelChange = 'granted' | 'revoked' | 'started' | 'expired' | 'updated';

/**
 * What is left of a stored event once its profile is deleted: the event's id, type, time and app,
 * and the profile id. No customer user id, no identifier values, no attributes or purchases.
 */
export function erasedEventPayload(event: { id: string; type: string; createdAt: number; appId: string; profileId: string }): EventPayload {
  return {
    id: event.id,
    type: event.type as EventType,
    created_at: new Date(event.createdAt).toISOString(),
    app_id: event.appId,
    data: { profile_id: event.profileId, customer_user_id: null, erased: true },
  };
}

/** The data of a profile.deleted event: ids only, since the event outlives the profile's erasure. */
export const profileDeletedData = (profileId: string): EventData => ({ profile_id: profileId, customer_user_id: null });
