/** Destinations (tools revenue is sent to) as the API and the CLI speak of them; the tools themselves are in src/destinations/. */

/** Every destination type there is (src/destinations/index.ts has one module per name; a test checks they agree). */
export const DESTINATION_TYPE_NAMES = ['amplitude', 'mixpanel', 'posthog', 'firebase', 'appsflyer', 'adjust'] as const;
export type DestinationTypeName = (typeof DESTINATION_TYPE_NAMES)[number];

/** The events a destination can take: revenue only. */
export const DESTINATION_EVENT_TYPES = ['transaction.recorded', 'access_level.updated'] as const;
export type DestinationEventType = (typeof DESTINATION_EVENT_TYPES)[number];

/** The kinds an event name can be set for (`event_names` keys). */
export const EVENT_NAME_KINDS = ['trial', 'purchase', 'renewal', 'refund', 'access_level'] as const;

export const MAX_CONFIG_VALUE_LENGTH = 1024;
export const MAX_EVENT_NAME_LENGTH = 100;

/** What listings show of a credential: its first four characters at most, never all of a short one. */
export function credentialHint(value: string): string {
  const shown = value.length >= 12 ? 4 : value.length >= 8 ? 2 : 0;
  return `${value.slice(0, shown)}…`;
}
