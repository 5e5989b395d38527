import { type AuditActor, urlOrigin } from '../domain/audit.js';
import { type DeliveryQuery, generateSecret, type NewEndpoint } from '../domain/webhooks.js';
import type { Store } from '../storage/store.js';
import type { CreatedEndpoint, Delivery, DeliveryPage, WebhookEndpoint } from '../storage/webhook-store.js';
import { ApiError } from '../errors.js';

/**
 * Whether a URL may be a webhook target, asked when an endpoint is added: null when it may, else
 * why not, worded for the `url` field. Implemented by the network policy (src/webhooks/network-policy.ts),
 * which also checks every delivery attempt.
 */
export interface WebhookTargetCheck {
  urlProblem(url: string): Promise<string | null>;
}

/** Webhook endpoints of an app and their deliveries, as the API and the CLI manage them. */
export class WebhookService {
  constructor(
    private readonly store: Store,
    /** Where endpoints may point; the composition root passes the network policy of its settings. */
    private readonly targets?: WebhookTargetCheck,
  ) {}

  /**
   * Adds an endpoint; a secret is generated when none is given. Answers the secret, the only time it
   * is shown. Recorded in the audit trail as made by `actor` (the URL's origin only, never the secret).
   */
  async addEndpoint(appId: string, endpoint: NewEndpoint, actor: AuditActor): Promise<CreatedEndpoint> {
    const problem = await this.targets?.urlProblem(endpoint.url);
    if (problem) throw new ApiError('validation_error', [{ source: 'url', errors: [problem] }]);
    return this.store.manage(actor, async (tx) => {
      const created = await tx.webhooks.addEndpoint(appId, { ...endpoint, secret: endpoint.secret ?? generateSecret() });
      const detail = { url_origin: urlOrigin(created.url), event_types: created.eventTypes };
      return { result: created, audit: { appId, action: 'webhook_endpoint.add', targetId: created.id, detail } };
    });
  }

  listEndpoints(appId: string): Promise<WebhookEndpoint[]> {
    return this.store.webhooks.listEndpoints(appId);
  }

  /** Removes an endpoint and cancels its pending deliveries; false when not found (and nothing is recorded). */
  removeEndpoint(appId: string, endpointId: string, actor: AuditActor): Promise<boolean> {
    return this.store.manage(actor, async (tx) => {
      const removed = await tx.webhooks.removeEndpoint(appId, endpointId);
      return { result: removed, audit: removed ? { appId, action: 'webhook_endpoint.remove', targetId: endpointId, detail: {} } : null };
    });
  }

  listDeliveries(appId: string, query: DeliveryQuery): Promise<DeliveryPage> {
    return this.store.webhooks.listDeliveries(appId, query);
  }

  /** A new pending delivery of the same event to the same endpoint; null when unknown or the endpoint is removed. */
  redeliver(appId: string, deliveryId: number, actor: AuditActor): Promise<Delivery | null> {
    return this.store.manage(actor, async (tx) => {
      const delivery = await tx.webhooks.redeliver(appId, deliveryId);
      if (delivery === null) return { result: null, audit: null };
      const detail = { redelivery_of: String(deliveryId), endpoint_id: delivery.endpointId, event_id: delivery.eventId };
      return { result: delivery, audit: { appId, action: 'webhook_delivery.redeliver', targetId: String(delivery.id), detail } };
    });
  }
}
