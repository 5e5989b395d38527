import { randomUUID } from 'node:crypto';
import type { EventType } from '../domain/events.js';
import type { DeliveryQuery } from '../domain/webhooks.js';
import type { Kysely, Selectable } from 'kysely';
import type { Database, WebhookEndpointsTable } from './schema.js';
import { type Delivery, type DeliveryPage, KyselyWebhookStore } from './webhook-store.js';

/** Each revenue event writes one delivery per destination in its transaction: keep that bounded. */
export const MAX_DESTINATIONS_PER_APP = 20;

/** A destination to add, as validated by the service. */
export interface NewDestination {
  type: string;
  baseUrl: string;
  /** The tool's credentials and settings, under the tool's names. */
  config: Record<string, string>;
  /** The destination's own event names (or Adjust event tokens) by kind, over the type's defaults. */
  eventNames: Record<string, string>;
  eventTypes: readonly EventType[];
  includeSandbox: boolean;
}

/** A destination as stored, credentials included (the service decides what is shown). */
export interface StoredDestination extends NewDestination {
  id: string;
  appId: string;
  createdAt: number;
}

/** What the `destination` column holds (the rest is in the endpoint's own columns). */
export interface DestinationColumn {
  type: string;
  config: Record<string, string>;
  event_names: Record<string, string>;
  include_sandbox: boolean;
}

/** Destinations of an app: outbox endpoints of kind `destination` (see migration 0007). */
export interface DestinationStore {
  addDestination(appId: string, destination: NewDestination): Promise<StoredDestination>;
  /** The app's destinations that are not removed, oldest first. */
  listDestinations(appId: string): Promise<StoredDestination[]>;
  getDestination(appId: string, destinationId: string): Promise<StoredDestination | null>;
  /** Removes a destination and cancels its pending deliveries; false when not found. */
  removeDestination(appId: string, destinationId: string): Promise<boolean>;
  /** A page of the app's deliveries to destinations, newest first. */
  listDestinationDeliveries(appId: string, query: DeliveryQuery): Promise<DeliveryPage>;
  /** A new pending delivery of the same event to the same destination; null when unknown or the destination is removed. */
  redeliverToDestination(appId: string, deliveryId: number): Promise<Delivery | null>;
}

function toDestination(row: Selectable<WebhookEndpointsTable>): StoredDestination {
  const column = JSON.parse(row.destination ?? '{}') as DestinationColumn;
  return {
    id: row.id,
    appId: row.app_id,
    type: column.type,
    baseUrl: row.url,
    config: column.config,
    eventNames: column.event_names,
    eventTypes: JSON.parse(row.event_types) as EventType[],
    includeSandbox: column.include_sandbox,
    createdAt: row.created_at,
  };
}

/** The destinations half of the outbox: the same tables, queue and worker as webhook endpoints. */
export class KyselyDestinationStore extends KyselyWebhookStore implements DestinationStore {
  async addDestination(appId: string, destination: NewDestination): Promise<StoredDestination> {
    const column: DestinationColumn = {
      type: destination.type,
      config: destination.config,
      event_names: destination.eventNames,
      include_sandbox: destination.includeSandbox,
    };
    const row = {
      app_id: appId,
      id: randomUUID(),
      url: destination.baseUrl,
      // Credentials are in `destination`; nothing is signed.
      secret: '',
      description: null,
      event_types: JSON.stringify(destination.eventTypes),
      created_at: Date.now(),
      removed_at: null,
      kind: 'destination',
      destination: JSON.stringify(column),
    };
    await this.insertEndpoint(row, destination.eventTypes, MAX_DESTINATIONS_PER_APP);
    return toDestination(row);
  }

  private destinations(appId: string) {
    return this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('app_id', '=', appId)
      .where('kind', '=', 'destination')
      .where('removed_at', 'is', null);
  }

  async listDestinations(appId: string): Promise<StoredDestination[]> {
    const rows = await this.destinations(appId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toDestination);
  }

  async getDestination(appId: string, destinationId: string): Promise<StoredDestination | null> {
    const row = await this.destinations(appId).where('id', '=', destinationId).executeTakeFirst();
    return row ? toDestination(row) : null;
  }

  removeDestination(appId: string, destinationId: string): Promise<boolean> {
    return this.removeOutboxEndpoint(appId, destinationId, 'destination');
  }

  async listDestinationDeliveries(appId: string, query: DeliveryQuery): Promise<DeliveryPage> {
    const page = await this.listDeliveries(appId, query, 'destination');
    return { ...page, deliveries: await this.withTypes(this.db, appId, page.deliveries) };
  }

  async redeliverToDestination(appId: string, deliveryId: number): Promise<Delivery | null> {
    const delivery = await this.redeliver(appId, deliveryId, 'destination');
    if (!delivery) return null;
    // Read through `write`: within a management transaction that is the transaction itself (on
    // SQLite, the store's own connection would wait for it).
    return (await this.write((trx) => this.withTypes(trx, appId, [delivery])))[0]!;
  }

  /** The deliveries with their destination's type, removed destinations included. */
  private async withTypes(db: Kysely<Database>, appId: string, deliveries: Delivery[]): Promise<Delivery[]> {
    const ids = [...new Set(deliveries.map((delivery) => delivery.endpointId))];
    if (ids.length === 0) return deliveries;
    const rows = await db.selectFrom('webhook_endpoints').select(['id', 'destination']).where('app_id', '=', appId).where('id', 'in', ids).execute();
    const types = new Map(rows.map((row) => [row.id, (JSON.parse(row.destination ?? '{}') as DestinationColumn).type]));
    return deliveries.map((delivery) => ({ ...delivery, destinationType: types.get(delivery.endpointId) ?? null }));
  }
}
