import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { EventData, EventPayload, EventType } from '../domain/events.js';
import type { Dialect } from './dialect.js';
import { preparedQuery } from './prepared.js';
import type { Database } from './schema.js';

/**
 * Tells this process's delivery workers that deliveries were queued, once the transaction that
 * queued them has ended: a worker then starts at once instead of at its next poll. A transaction
 * that was rolled back may cause a needless wake-up, which is harmless.
 */
export class DeliveryQueueSignal {
  private queued = 0;
  private announced = 0;
  private readonly listeners: (() => void)[] = [];

  listen(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Called by a write that queued deliveries (before its commit). */
  noteQueued(): void {
    this.queued++;
  }

  /** Called after every write transaction: wakes the listeners if anything was queued since the last call. */
  announce(): void {
    if (this.queued === this.announced) return;
    this.announced = this.queued;
    for (const listener of this.listeners) listener();
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
  signal: DeliveryQueueSignal,
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
  signal.noteQueued();
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
