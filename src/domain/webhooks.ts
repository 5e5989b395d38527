/** Webhook endpoints and deliveries as the services and storage speak of them. */
import { randomBytes } from 'node:crypto';
import type { EventType } from './events.js';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'cancelled'] as const;
/** A destination's deliveries can also be `skipped`: there was nothing to send (no id for the tool, ...). */
export const DESTINATION_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type DeliveryStatus = (typeof DESTINATION_DELIVERY_STATUSES)[number];

/** What an outbox endpoint is: a webhook endpoint, or a destination (a tool revenue is sent to). */
export type EndpointKind = 'webhook' | 'destination';

/** An endpoint to add, as validated from the API or the CLI. */
export interface NewEndpoint {
  url: string;
  eventTypes: readonly EventType[];
  /** Generated (`whsec_…`) when left out. */
  secret?: string;
  description?: string | null;
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  /** The webhook endpoint's, or the destination's, id. */
  endpointId?: string;
  /** Only deliveries of events about this profile. */
  profileId?: string;
  limit: number;
  /** Only deliveries older than this id (the cursor of the previous page). */
  before?: number;
}


/** Each change writes one delivery per subscribed endpoint in its transaction: keep that bounded. */
export const MAX_ENDPOINTS_PER_APP = 20;

export const SECRET_PREFIX = 'whsec_';

/** A new signing secret: `whsec_` and 32 random bytes in base64url (43 characters). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** What listings show of a secret: enough to tell two apart, never enough to sign. */
export function secretHint(secret: string): string {
  return secret.startsWith(SECRET_PREFIX) ? `${secret.slice(0, SECRET_PREFIX.length + 4)}…` : `${secret.slice(0, 4)}…`;
}
