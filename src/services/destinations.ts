import { randomBytes, randomUUID } from 'node:crypto';
import { type AuditActor, urlOrigin } from '../domain/audit.js';
import { credentialHint, DESTINATION_EVENT_TYPES, EVENT_NAME_KINDS } from '../domain/destinations.js';
import { dedupUuid } from '../destinations/revenue-event.js';
import { DESTINATION_TYPES, type DestinationType, type RevenueEvent, settingsOf, type ToolAnswer, type ToolRequest, type Verdict } from '../destinations/index.js';
import { isUuid, unstorableText } from '../domain/formats.js';
import type { DeliveryQuery } from '../domain/webhooks.js';
import { IDENTIFIER_KEYS } from '../domain/identifiers.js';
import { ApiError } from '../errors.js';
import type { NewDestination, StoredDestination } from '../storage/destination-store.js';
import type { Store } from '../storage/store.js';
import type { Delivery, DeliveryPage } from '../storage/webhook-store.js';
import type { WebhookTargetCheck } from './webhooks.js';

/** A destination as the API and the CLI show it: credentials as hints, except in the answer that adds it. */
export interface DestinationView {
  id: string;
  type: string;
  baseUrl: string;
  /** Every config value; credentials shown in full only when the destination is added. */
  config: Record<string, string>;
  /** The event names (Adjust: tokens) it sends: the type's defaults with its own over them. */
  eventNames: Record<string, string>;
  eventTypes: string[];
  includeSandbox: boolean;
  createdAt: number;
}

/** What a destination add asks for, as the shared schema has read it (src/schemas/destinations.ts). */
export interface DestinationInput {
  type: string;
  config: Record<string, string>;
  base_url?: string | null;
  events?: readonly string[] | null;
  event_names?: Record<string, string> | null;
  include_sandbox?: boolean | null;
}

/** Sends one request to a tool now, under the network policy (src/webhooks/destination-sender.ts). */
export interface DestinationSender {
  send(request: ToolRequest): Promise<ToolAnswer>;
}

/** What a test send found: how the tool answered and how Crosswalk reads that answer. */
export interface DestinationTestResult {
  status: 'succeeded' | 'failed' | 'skipped';
  statusCode: number | null;
  /** The tool's message, or why nothing was sent / the connection failed. */
  error: string | null;
  /** The start of the tool's answer. */
  answer: string | null;
}

const invalid = (source: string, message: string) => new ApiError('validation_error', [{ source, errors: [message] }]);

/** Values of test identifiers in a form each tool accepts: ids the tools made are often hex or digits. */
function testIdentifiers(): Record<string, string> {
  const hex = randomBytes(16).toString('hex');
  const values: Record<string, string> = {};
  for (const key of IDENTIFIER_KEYS) values[key] = `crosswalk-test-${hex}`;
  values.firebase_app_instance_id = hex;
  values.adjust_device_id = hex;
  values.appsflyer_id = `${Date.now()}-${String(randomBytes(4).readUInt32BE(0) % 10_000_000).padStart(7, '0')}`;
  return values;
}

/**
 * The event a test send carries: a sandbox purchase of 0.01 USD of product `crosswalk.test`, under
 * freshly made test ids, named as the destination names purchases.
 */
export function testEvent(now = Date.now()): RevenueEvent {
  const purchaseId = randomUUID();
  const storeTransactionId = `crosswalk-test-${purchaseId}`;
  return {
    eventId: randomUUID(),
    kind: 'purchase',
    occurredAt: now,
    recordedAt: now,
    profileId: randomUUID(),
    customerUserId: null,
    identifiers: testIdentifiers(),
    revenue: 0.01,
    currency: 'USD',
    transaction: {
      purchaseId,
      purchaseType: 'one_time_purchase',
      store: 'app_store',
      storeProductId: 'crosswalk.test',
      storeTransactionId,
      storeOriginalTransactionId: storeTransactionId,
      environment: 'Sandbox',
      price: { value: 0.01, currency: 'USD', country: 'US' },
      priceUsd: 0.01,
      purchasedAt: now,
      expiresAt: null,
      refundedAt: null,
      offerType: null,
    },
    accessLevel: null,
    dedupKey: dedupUuid(`${purchaseId}:purchase`),
  };
}

/**
 * Destinations of an app: the tools its revenue is sent to (the outbox and the delivery worker do
 * the sending), as the API and the CLI manage them.
 */
export class DestinationService {
  constructor(
    private readonly store: Store,
    /** Where a base URL may point (the network policy of webhooks). */
    private readonly targets?: WebhookTargetCheck,
    private readonly sender?: DestinationSender,
  ) {}

  /** Checks what a schema cannot: the type's config fields, its events, its event names, the base URL's target. */
  private async validate(input: DestinationInput): Promise<NewDestination> {
    const type = DESTINATION_TYPES.get(input.type);
    if (!type) throw invalid('type', `Unknown destination type ${JSON.stringify(input.type)}.`);
    const problems: { source: string; errors: string[] }[] = [];
    const known = new Set(type.config.map((field) => field.name));
    for (const field of type.config) {
      const value = input.config[field.name];
      if (value === undefined) {
        if (field.required) problems.push({ source: `config.${field.name}`, errors: ['This field is required.'] });
      } else if (field.pattern && !field.pattern.test(value)) {
        problems.push({ source: `config.${field.name}`, errors: [`Not a valid ${type.type} ${field.name}: ${field.description}`] });
      }
    }
    for (const [name, value] of Object.entries(input.config)) {
      if (!known.has(name)) {
        problems.push({ source: `config.${name}`, errors: [`Unknown config field for ${type.type}; expected: ${[...known].join(', ')}.`] });
      } else {
        const unstorable = unstorableText(value);
        if (unstorable) problems.push({ source: `config.${name}`, errors: [unstorable] });
      }
    }
    const events = [...new Set(input.events ?? ['transaction.recorded'])];
    for (const event of events) {
      if (!(type.eventTypes as readonly string[]).includes(event)) {
        problems.push({ source: 'events', errors: [`${type.type} takes only: ${type.eventTypes.join(', ')}.`] });
        break;
      }
    }
    for (const [kind, name] of Object.entries(input.event_names ?? {})) {
      if (!(EVENT_NAME_KINDS as readonly string[]).includes(kind)) {
        problems.push({ source: `event_names.${kind}`, errors: [`Unknown kind; expected one of: ${EVENT_NAME_KINDS.join(', ')}.`] });
      } else {
        const unstorable = unstorableText(name);
        if (unstorable) problems.push({ source: `event_names.${kind}`, errors: [unstorable] });
      }
    }
    const baseUrl = (input.base_url ?? type.defaultBaseUrl).replace(/\/+$/, '');
    if (input.base_url) {
      const url = new URL(input.base_url);
      if (url.search !== '' || url.hash !== '') problems.push({ source: 'base_url', errors: ['A base URL has no query or fragment.'] });
      else {
        const problem = await this.targets?.urlProblem(input.base_url);
        if (problem) problems.push({ source: 'base_url', errors: [problem] });
      }
    }
    if (problems.length > 0) throw new ApiError('validation_error', problems);
    return {
      type: type.type,
      baseUrl,
      config: { ...input.config },
      eventNames: { ...input.event_names },
      eventTypes: DESTINATION_EVENT_TYPES.filter((event) => events.includes(event)),
      includeSandbox: input.include_sandbox ?? false,
    };
  }

  /** Adds a destination; the answer shows its credentials, the only time they are shown. */
  async addDestination(appId: string, input: DestinationInput, actor: AuditActor): Promise<DestinationView> {
    const destination = await this.validate(input);
    return this.store.manage(actor, async (tx) => {
      const created = await tx.destinations.addDestination(appId, destination);
      const detail = { type: created.type, base_url_origin: urlOrigin(created.baseUrl), events: created.eventTypes };
      return { result: this.view(created, true), audit: { appId, action: 'destination.add', targetId: created.id, detail } };
    });
  }

  async listDestinations(appId: string): Promise<DestinationView[]> {
    return (await this.store.destinations.listDestinations(appId)).map((destination) => this.view(destination, false));
  }

  /** Removes a destination and cancels its pending deliveries; false when not found. */
  removeDestination(appId: string, destinationId: string, actor: AuditActor): Promise<boolean> {
    if (!isUuid(destinationId)) return Promise.resolve(false);
    return this.store.manage(actor, async (tx) => {
      const removed = await tx.destinations.removeDestination(appId, destinationId.toLowerCase());
      return { result: removed, audit: removed ? { appId, action: 'destination.remove', targetId: destinationId.toLowerCase(), detail: {} } : null };
    });
  }

  listDeliveries(appId: string, query: DeliveryQuery): Promise<DeliveryPage> {
    return this.store.destinations.listDestinationDeliveries(appId, query);
  }

  /**
   * A new pending delivery of the same event to the same destination (with the same dedup key, so a
   * tool that deduplicates counts it once); null when unknown or the destination is removed.
   */
  redeliver(appId: string, deliveryId: number, actor: AuditActor): Promise<Delivery | null> {
    return this.store.manage(actor, async (tx) => {
      const delivery = await tx.destinations.redeliverToDestination(appId, deliveryId);
      if (delivery === null) return { result: null, audit: null };
      const detail = { redelivery_of: String(deliveryId), destination_id: delivery.endpointId, event_id: delivery.eventId };
      return { result: delivery, audit: { appId, action: 'destination_delivery.redeliver', targetId: String(delivery.id), detail } };
    });
  }

  /**
   * Sends one test event (testEvent) to the destination now, outside the queue, and reports the
   * tool's answer as Crosswalk reads it; null when the destination is not found.
   */
  async test(appId: string, destinationId: string): Promise<DestinationTestResult | null> {
    if (!isUuid(destinationId)) return null;
    const destination = await this.store.destinations.getDestination(appId, destinationId.toLowerCase());
    if (!destination) return null;
    const type = DESTINATION_TYPES.get(destination.type)!;
    const built = type.build(testEvent(), settingsOf(type, destination));
    if ('skip' in built) return { status: 'skipped', statusCode: null, error: built.skip, answer: null };
    if (!this.sender) throw new Error('no sender for destination tests');
    let answer: ToolAnswer;
    try {
      answer = await this.sender.send(built.request);
    } catch (error) {
      return { status: 'failed', statusCode: null, error: (error as Error).message, answer: null };
    }
    const verdict: Verdict = type.judge(answer);
    return {
      status: verdict.status === 'succeeded' ? 'succeeded' : 'failed',
      statusCode: answer.statusCode,
      error: verdict.status === 'succeeded' ? null : verdict.error,
      answer: answer.body.slice(0, 500),
    };
  }

  private view(destination: StoredDestination, withCredentials: boolean): DestinationView {
    const type = DESTINATION_TYPES.get(destination.type) as DestinationType;
    const secret = new Set(type.config.filter((field) => field.secret).map((field) => field.name));
    const config = Object.fromEntries(
      Object.entries(destination.config).map(([name, value]) => [name, withCredentials || !secret.has(name) ? value : credentialHint(value)]),
    );
    return {
      id: destination.id,
      type: destination.type,
      baseUrl: destination.baseUrl,
      config,
      eventNames: settingsOf(type, destination).eventNames as Record<string, string>,
      eventTypes: [...destination.eventTypes],
      includeSandbox: destination.includeSandbox,
      createdAt: destination.createdAt,
    };
  }
}
