/** Webhook endpoints and deliveries as the services and storage speak of them. */
import type { EventType } from './events.js';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

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
  endpointId?: string;
  limit: number;
  /** Only deliveries older than this id (the cursor of the previous page). */
  before?: number;
}


/** Each change writes one delivery per subscribed endpoint in its transaction: keep that bounded. */
export const MAX_ENDPOINTS_PER_APP = 20;
