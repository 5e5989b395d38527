import type { EventPayload } from '../domain/events.js';
import { adjust } from './adjust.js';
import { amplitude } from './amplitude.js';
import { appsflyer } from './appsflyer.js';
import { firebase } from './firebase.js';
import { mixpanel } from './mixpanel.js';
import { posthog } from './posthog.js';
import { readRevenueEvent } from './revenue-event.js';
import type { Built, DestinationSettings, DestinationType, RevenueEvent, RevenueKind } from './types.js';

export type { Built, DestinationSettings, DestinationType, RevenueEvent, RevenueKind, ToolAnswer, ToolRequest, Verdict } from './types.js';
export { REVENUE_KINDS } from './types.js';

/** Every type of destination, by name. */
export const DESTINATION_TYPES: ReadonlyMap<string, DestinationType> = new Map(
  [amplitude, mixpanel, posthog, firebase, appsflyer, adjust].map((type) => [type.type, type]),
);

/** A destination as stored with its deliveries: type, credentials, the destination's own event names, options. */
export interface DestinationDefinition {
  id: string;
  type: string;
  baseUrl: string;
  config: Readonly<Record<string, string>>;
  eventNames: Readonly<Record<string, string>>;
  includeSandbox: boolean;
}

/** The settings a type builds with: the type's event names with the destination's own over them. */
export function settingsOf(type: DestinationType, definition: DestinationDefinition): DestinationSettings {
  return {
    id: definition.id,
    type: definition.type,
    config: definition.config,
    baseUrl: definition.baseUrl,
    eventNames: { ...type.defaultEventNames, ...definition.eventNames } as Partial<Record<RevenueKind, string>>,
  };
}

/**
 * What one stored event becomes for one destination: the tool's request, or the reason it is
 * skipped (an event with nothing for the tools, a sandbox transaction the destination does not
 * take, no id for the tool on the profile, no event name for the kind).
 */
export function buildDelivery(definition: DestinationDefinition, payload: EventPayload): Built & { event?: RevenueEvent } {
  const type = DESTINATION_TYPES.get(definition.type);
  if (!type) return { skip: `unknown destination type ${definition.type}` };
  const event = readRevenueEvent(payload);
  if ('skip' in event) return event;
  if (!definition.includeSandbox && event.transaction?.environment === 'Sandbox') {
    return { skip: 'a sandbox transaction: the destination does not take them (include_sandbox is false)' };
  }
  return { ...type.build(event, settingsOf(type, definition)), event };
}
