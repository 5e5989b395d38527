import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { EventData, EventPayload, EventType } from '../domain/events.js';
import type { Dialect } from './dialect.js';
import { preparedQuery } from './prepared.js';
import type { Database } from './schema.js';

/** What one write transaction queued: counted as it records, announced only once it has committed. */
export class QueuedDeliveries {
  /** Events recorded, by type. */
  readonly events = new Map<string, number>();
  /** Deliveries queued that are not new events (a delivery sent again). */
  others = 0;

  noteEvent(type: string): void {
    this.events.set(type, (this.events.get(type) ?? 0) + 1);
  }

  get any(): boolean {
    return this.others > 0 || this.events.size > 0;
  }
}

/** A write transaction's work that may queue deliveries (counted in `queued`). */
export type QueuingWork<T> = (trx: Kysely<Database>, queued: QueuedDeliveries) => Promise<T>;

/**
 * Tells this process's delivery workers that deliveries were queued, once the transaction that
 * queued them has committed: a worker then starts at once instead of at its next poll. Each
 * transaction keeps its own count (QueuedDeliveries), so that one transaction ending never
 * announces what another has not yet committed.
 */
export class DeliveryQueueSignal {
  private readonly listeners: (() => void)[] = [];
  private readonly eventListeners: ((counts: ReadonlyMap<string, number>) => void)[] = [];

  listen(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Also told, after each committed transaction, how many events of each type it recorded. */
  listenForEvents(listener: (counts: ReadonlyMap<string, number>) => void): void {
    this.eventListeners.push(listener);
  }

  /** Called after a transaction committed: wakes the listeners if it queued anything. */
  announce(queued: QueuedDeliveries): void {
    if (!queued.any) return;
    for (const listener of this.listeners) listener();
    if (queued.events.size === 0) return;
    for (const listener of this.eventListeners) listener(queued.events);
  }
}

/** The event types some endpoint of the app subscribes to (read in the caller's transaction). */
export async function subscribedEventTypes(db: Kysely<Database>, dialect: Dialect, appId: string): Promise<Set<string>> {
  const rows = await preparedQuery(dialect.prepared, 'outbox:subscribed', 1, (app) =>
    dialect.db.selectFrom('webhook_subscriptions').select('event_type').distinct().where('app_id', '=', app!),
  ).execute(db, [appId]);
  return new Set(rows.map((row) => row.event_type));
}

/**
 * The transactional outbox: records an event in the caller's transaction, with one pending
 * delivery per endpoint subscribed to its type at that moment. An app with no subscriber for the
 * type costs one read and stores nothing. Returns whether anything was stored.
 */
export async function recordEvent(
  db: Kysely<Database>,
  dialect: Dialect,
  queued: QueuedDeliveries,
  appId: string,
  type: EventType,
  data: EventData,
  now = Date.now(),
): Promise<boolean> {
  const id = randomUUID();
  const payload: EventPayload = { id, type, created_at: new Date(now).toISOString(), app_id: appId, data };
  // Stand-ins: app, event type, event id, profile id, payload, time.
  const deliveries = await preparedQuery(dialect.prepared, 'outbox:deliveries', 6, (app, eventType, eventId, profile, _payload, time) =>
    dialect.db
      .insertInto('webhook_deliveries')
      .columns(['app_id', 'endpoint_id', 'event_id', 'profile_id', 'status', 'attempts', 'next_attempt_at', 'created_at'])
      .expression((eb) =>
        eb
          .selectFrom('webhook_subscriptions')
          // Explicit casts: PostgreSQL cannot infer the type of a parameter in a select list.
          .select([
            sql<string>`cast(${app} as text)`.as('app_id'),
            'endpoint_id',
            sql<string>`cast(${eventId} as text)`.as('event_id'),
            sql<string>`cast(${profile} as text)`.as('profile_id'),
            sql<string>`'pending'`.as('status'),
            sql<number>`0`.as('attempts'),
            sql<number>`cast(${time} as bigint)`.as('next_attempt_at'),
            sql<number>`cast(${time} as bigint)`.as('created_at'),
          ])
          .where('app_id', '=', app!)
          .where('event_type', '=', eventType!),
      )
      .returning('seq'),
  ).execute(db, [appId, type, id, data.profile_id, '', now]);
  if (deliveries.length === 0) return false;
  queued.noteEvent(type);
  await preparedQuery(dialect.prepared, 'outbox:event', 6, (app, eventType, eventId, profile, body, time) =>
    dialect.db.insertInto('webhook_events').values({
      app_id: app!,
      id: eventId!,
      type: eventType!,
      profile_id: profile!,
      payload: body!,
      created_at: time as unknown as number,
    }),
  ).execute(db, [appId, type, id, data.profile_id, JSON.stringify(payload), now]);
  return true;
}
