import { type DeliveryQuery, generateSecret, type NewEndpoint } from '../domain/webhooks.js';
import type { Store } from '../storage/store.js';
import type { CreatedEndpoint, Delivery, DeliveryPage, WebhookEndpoint } from '../storage/webhook-store.js';

/** Webhook endpoints of an app and their deliveries, as the API and the CLI manage them. */
export class WebhookService {
  constructor(private readonly store: Store) {}

  /** Adds an endpoint; a secret is generated when none is given. Answers the secret, the only time it is shown. */
  addEndpoint(appId: string, endpoint: NewEndpoint): Promise<CreatedEndpoint> {
    return this.store.webhooks.addEndpoint(appId, { ...endpoint, secret: endpoint.secret ?? generateSecret() });
  }

  listEndpoints(appId: string): Promise<WebhookEndpoint[]> {
    return this.store.webhooks.listEndpoints(appId);
  }

  /** Removes an endpoint and cancels its pending deliveries; false when not found. */
  removeEndpoint(appId: string, endpointId: string): Promise<boolean> {
    return this.store.webhooks.removeEndpoint(appId, endpointId);
  }

  listDeliveries(appId: string, query: DeliveryQuery): Promise<DeliveryPage> {
    return this.store.webhooks.listDeliveries(appId, query);
  }

  /** A new pending delivery of the same event to the same endpoint; null when unknown or the endpoint is removed. */
  redeliver(appId: string, deliveryId: number): Promise<Delivery | null> {
    return this.store.webhooks.redeliver(appId, deliveryId);
  }
}
