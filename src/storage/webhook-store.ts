import { randomUUID } from 'node:crypto';
import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import { isUuid } from '../domain/formats.js';
import type { Dialect } from './dialect.js';
import type { WriteWork } from './group-commit.js';
import type { QueuingWork } from './outbox.js';
import type { EventType } from '../domain/events.js';
import { type DeliveryQuery, type DeliveryStatus, type EndpointKind, MAX_ENDPOINTS_PER_APP, type NewEndpoint, secretHint } from '../domain/webhooks.js';
import { EndpointLimitError } from '../errors.js';
import type { Database, WebhookDeliveriesTable, WebhookEndpointsTable } from './schema.js';
import { PROFILE_DELETED } from './event-erasure.js';

/** An endpoint as listings show it: the secret only as a hint. */
export interface WebhookEndpoint {
  id: string;
  appId: string;
  url: string;
  description: string | null;
  eventTypes: EventType[];
  secretHint: string;
  createdAt: number;
}

/** What adding an endpoint answers, once: with the secret. */
export interface CreatedEndpoint extends WebhookEndpoint {
  secret: string;
}

export interface Delivery {
  /** Increasing within the database: newer deliveries have larger ids. */
  id: number;
  appId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  profileId: string;
  status: DeliveryStatus;
  /** Attempts started so far. */
  attempts: number;
  /** When the next attempt is due (pending deliveries only). */
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: number;
  completedAt: number | null;
  /** For a delivery to a destination: the destination's type (listings of destination deliveries). */
  destinationType?: string | null;
}

export interface DeliveryPage {
  deliveries: Delivery[];
  /** The cursor of the next page, or null when this page is the last. */
  next: number | null;
}

/** A delivery a worker holds until `leaseUntil`, with everything needed to send it. */
export interface ClaimedDelivery {
  id: number;
  appId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** The number of this attempt, from 1; an outcome is recorded only for this number. */
  attempt: number;
  url: string;
  secret: string;
  /** The JSON body, exactly as it is sent and signed. */
  payload: string;
  /** When the delivery was made (the event's time, or the redelivery's). */
  createdAt: number;
  leaseUntil: number;
  /** For a destination's delivery: its stored settings (JSON: type, config, event names, options); else null. */
  destination: string | null;
  /**
   * The previous attempt's lease ran out with no outcome recorded (its process died during it): it
   * may have reached the target.
   */
  previousOutcomeUnknown: boolean;
}

/** The result of one attempt, as the worker decided it. */
export type AttemptOutcome =
  | { status: 'succeeded'; statusCode: number }
  /** A destination's delivery with nothing to send (no id for the tool, ...): done, with the reason. */
  | { status: 'skipped'; reason: string }
  /** `nextAttemptAt` null: the retry period is over and the delivery is marked failed. */
  | { status: 'failed'; statusCode: number | null; error: string; nextAttemptAt: number | null };

/** Webhook endpoints, deliveries and the delivery worker's queue. Every tenant method takes the app id first. */
export interface WebhookStore {
  /** Adds an endpoint subscribed to `eventTypes`; answers it with its secret, the only time it is shown. */
  addEndpoint(appId: string, endpoint: NewEndpoint & { secret: string }): Promise<CreatedEndpoint>;
  /** The app's endpoints that are not removed, oldest first. */
  listEndpoints(appId: string): Promise<WebhookEndpoint[]>;
  /** Removes an endpoint: no new deliveries, and its pending ones are cancelled. False when not found. */
  removeEndpoint(appId: string, endpointId: string): Promise<boolean>;
  /** A page of the app's deliveries to webhook endpoints (or, with kind `destination`, to destinations), newest first. */
  listDeliveries(appId: string, query: DeliveryQuery, kind?: EndpointKind): Promise<DeliveryPage>;
  /** A new pending delivery of the same event to the same endpoint (or destination, with that kind); null when unknown or removed. */
  redeliver(appId: string, deliveryId: number, kind?: EndpointKind): Promise<Delivery | null>;

  /**
   * Takes up to `limit` deliveries that are due, for `leaseMs`: none that another worker holds,
   * and none with an earlier delivery still pending for the same app, endpoint and profile.
   * Deliveries whose endpoint was removed meanwhile are cancelled instead.
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Records an attempt's outcome; false when the attempt is stale (retried by another worker, or cancelled). */
  recordAttempt(claim: Pick<ClaimedDelivery, 'id' | 'attempt'>, outcome: AttemptOutcome, now: number): Promise<boolean>;
  /** Deletes deliveries completed before `cutoff` and the events no delivery refers to any more. */
  prune(cutoff: number): Promise<{ deliveries: number; events: number }>;
}

/** Runs a write transaction the way the store does (group commit on SQLite). */
export type WriteRunner = <T>(work: QueuingWork<T>) => Promise<T>;

type Db = Kysely<Database>;

const DELIVERY_COLUMNS = [
  'd.seq', 'd.app_id', 'd.endpoint_id', 'd.event_id', 'd.profile_id', 'd.status', 'd.attempts', 'd.next_attempt_at',
  'd.last_attempt_at', 'd.last_status_code', 'd.last_error', 'd.created_at', 'd.completed_at',
] as const;

/** How many rows one prune statement deletes, so that it never holds the write lock for long. */
const PRUNE_BATCH = 500;

function parseEventTypes(json: string): EventType[] {
  return JSON.parse(json) as EventType[];
}

export class KyselyWebhookStore implements WebhookStore {
  constructor(
    readonly dialect: Dialect,
    readonly write: WriteRunner,
  ) {}

  protected get db(): Db {
    return this.dialect.db;
  }

  async addEndpoint(appId: string, endpoint: NewEndpoint & { secret: string }): Promise<CreatedEndpoint> {
    const secret = endpoint.secret;
    const row = {
      app_id: appId,
      id: randomUUID(),
      url: endpoint.url,
      secret,
      description: endpoint.description ?? null,
      event_types: JSON.stringify(endpoint.eventTypes),
      created_at: Date.now(),
      removed_at: null,
    };
    await this.insertEndpoint(row, endpoint.eventTypes, MAX_ENDPOINTS_PER_APP);
    return {
      id: row.id,
      appId,
      url: row.url,
      description: row.description,
      eventTypes: [...endpoint.eventTypes],
      secretHint: secretHint(secret),
      createdAt: row.created_at,
      secret,
    };
  }

  /**
   * Adds an endpoint of the outbox (a webhook endpoint or a destination) subscribed to `eventTypes`,
   * unless the app already has `limit` of that kind (EndpointLimitError).
   */
  protected insertEndpoint(row: Insertable<WebhookEndpointsTable>, eventTypes: readonly string[], limit: number): Promise<void> {
    const kind = row.kind ?? 'webhook';
    return this.write(async (trx) => {
      const { count } = await trx
        .selectFrom('webhook_endpoints')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('app_id', '=', row.app_id)
        .where('removed_at', 'is', null)
        .where('kind', '=', kind)
        .executeTakeFirstOrThrow();
      if (Number(count) >= limit) throw new EndpointLimitError(limit, kind === 'webhook' ? 'webhook endpoints' : 'destinations');
      await trx.insertInto('webhook_endpoints').values(row).execute();
      await trx
        .insertInto('webhook_subscriptions')
        .values(eventTypes.map((type) => ({ app_id: row.app_id, event_type: type, endpoint_id: row.id })))
        .execute();
    });
  }

  async listEndpoints(appId: string): Promise<WebhookEndpoint[]> {
    const rows = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('app_id', '=', appId)
      .where('removed_at', 'is', null)
      .where('kind', '=', 'webhook')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      appId: row.app_id,
      url: row.url,
      description: row.description,
      eventTypes: parseEventTypes(row.event_types),
      secretHint: secretHint(row.secret),
      createdAt: row.created_at,
    }));
  }

  removeEndpoint(appId: string, endpointId: string): Promise<boolean> {
    return this.removeOutboxEndpoint(appId, endpointId, 'webhook');
  }

  /** Removes a webhook endpoint or a destination: no new deliveries, its pending ones cancelled. */
  protected async removeOutboxEndpoint(appId: string, endpointId: string, kind: EndpointKind): Promise<boolean> {
    // Ids are UUIDs; anything else (a NUL character, which PostgreSQL text refuses) is simply unknown.
    if (!isUuid(endpointId)) return false;
    const now = Date.now();
    return this.write(async (trx) => {
      const removed = await trx
        .updateTable('webhook_endpoints')
        .set({ removed_at: now })
        .where('app_id', '=', appId)
        .where('id', '=', endpointId)
        .where('kind', '=', kind)
        .where('removed_at', 'is', null)
        .executeTakeFirst();
      if (Number(removed.numUpdatedRows) === 0) return false;
      await trx.deleteFrom('webhook_subscriptions').where('app_id', '=', appId).where('endpoint_id', '=', endpointId).execute();
      // An attempt in flight may still finish; its outcome is then not recorded (status guard).
      await trx
        .updateTable('webhook_deliveries')
        .set({ status: 'cancelled', completed_at: now, lease_until: null, last_error: kind === 'webhook' ? 'endpoint removed' : 'destination removed' })
        .where('app_id', '=', appId)
        .where('endpoint_id', '=', endpointId)
        .where('status', '=', 'pending')
        .execute();
      return true;
    });
  }

  private deliveries(db: Db) {
    return db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as ev', (join) => join.onRef('ev.app_id', '=', 'd.app_id').onRef('ev.id', '=', 'd.event_id'))
      .select([...DELIVERY_COLUMNS, 'ev.type']);
  }

  async listDeliveries(appId: string, query: DeliveryQuery, kind: EndpointKind = 'webhook'): Promise<DeliveryPage> {
    let select = this.deliveries(this.db).where('d.app_id', '=', appId).orderBy('d.seq', 'desc').limit(query.limit + 1);
    if (query.status !== undefined) select = select.where('d.status', '=', query.status);
    if (query.endpointId !== undefined) select = select.where('d.endpoint_id', '=', query.endpointId);
    if (query.profileId !== undefined) select = select.where('d.profile_id', '=', query.profileId);
    // Only deliveries to endpoints of this kind (removed ones included: removal keeps the row). With
    // a profile, the (app, endpoint, profile, seq) index then finds its deliveries at each endpoint
    // instead of reading every delivery.
    select = select.where('d.endpoint_id', 'in', (eb) =>
      eb.selectFrom('webhook_endpoints as ep').select('ep.id').where('ep.app_id', '=', appId).where('ep.kind', '=', kind),
    );
    if (query.before !== undefined) select = select.where('d.seq', '<', query.before);
    const rows = await select.execute();
    const deliveries = rows.slice(0, query.limit).map(toDelivery);
    return { deliveries, next: rows.length > query.limit ? deliveries.at(-1)!.id : null };
  }

  redeliver(appId: string, deliveryId: number, kind: EndpointKind = 'webhook'): Promise<Delivery | null> {
    const now = Date.now();
    return this.write(async (trx, queued) => {
      const original = await trx
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_endpoints as ep', (join) => join.onRef('ep.app_id', '=', 'd.app_id').onRef('ep.id', '=', 'd.endpoint_id'))
        .select(['d.endpoint_id', 'd.event_id', 'd.profile_id'])
        .where('d.app_id', '=', appId)
        .where('d.seq', '=', deliveryId)
        .where('ep.removed_at', 'is', null)
        .where('ep.kind', '=', kind)
        .executeTakeFirst();
      if (!original) return null;
      const { seq } = await trx
        .insertInto('webhook_deliveries')
        .values({ app_id: appId, ...original, status: 'pending', attempts: 0, next_attempt_at: now, created_at: now })
        .returning('seq')
        .executeTakeFirstOrThrow();
      // Wakes this process's worker once the write commits (see KyselyStore.write).
      queued.others++;
      return toDelivery(await this.deliveries(trx).where('d.seq', '=', seq).executeTakeFirstOrThrow());
    });
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    // A read first: most polls find nothing, and then take no write lock (SQLite) and no transaction.
    const due = await dueDeliveries(this.db, now, 1).execute();
    if (due.length === 0) return [];
    const leaseUntil = now + leaseMs;
    return this.write(async (trx) => {
      // PostgreSQL: rows another process is claiming right now are skipped rather than waited for
      // or claimed twice. SQLite has one writer at a time, so the transaction alone is enough.
      const candidates = this.dialect.name === 'postgres' ? dueDeliveries(trx, now, limit).forUpdate().skipLocked() : dueDeliveries(trx, now, limit);
      const due = await candidates.execute();
      const seqs = due.map((row) => row.seq);
      if (seqs.length === 0) return [];
      // A lease that ran out without an outcome recorded: the process that held it died mid-attempt.
      const unsure = new Set(due.filter((row) => row.lease_until !== null).map((row) => row.seq));
      await trx
        .updateTable('webhook_deliveries')
        .set((eb) => ({ lease_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
        .where('seq', 'in', seqs)
        .execute();
      const rows = await trx
        .selectFrom('webhook_deliveries as d')
        .leftJoin('webhook_events as ev', (join) => join.onRef('ev.app_id', '=', 'd.app_id').onRef('ev.id', '=', 'd.event_id'))
        .leftJoin('webhook_endpoints as ep', (join) => join.onRef('ep.app_id', '=', 'd.app_id').onRef('ep.id', '=', 'd.endpoint_id'))
        .select([
          'd.seq', 'd.app_id', 'd.endpoint_id', 'd.event_id', 'd.attempts', 'd.created_at',
          'ev.type', 'ev.payload', 'ep.url', 'ep.secret', 'ep.removed_at', 'ep.destination',
        ])
        .where('d.seq', 'in', seqs)
        .orderBy('d.seq')
        .execute();
      const claims: ClaimedDelivery[] = [];
      const orphans: number[] = [];
      for (const row of rows) {
        // An event emitted while its endpoint was being removed can still have made a delivery.
        if (row.url === null || row.secret === null || row.removed_at !== null || row.payload === null || row.type === null) {
          orphans.push(row.seq);
          continue;
        }
        claims.push({
          id: row.seq,
          appId: row.app_id,
          endpointId: row.endpoint_id,
          eventId: row.event_id,
          eventType: row.type,
          attempt: row.attempts,
          url: row.url,
          secret: row.secret,
          payload: row.payload,
          createdAt: row.created_at,
          leaseUntil,
          destination: row.destination,
          previousOutcomeUnknown: unsure.has(row.seq),
        });
      }
      if (orphans.length > 0) {
        await trx
          .updateTable('webhook_deliveries')
          .set({ status: 'cancelled', completed_at: now, lease_until: null, last_error: 'endpoint removed' })
          .where('seq', 'in', orphans)
          .execute();
      }
      return claims;
    });
  }

  async recordAttempt(claim: Pick<ClaimedDelivery, 'id' | 'attempt'>, outcome: AttemptOutcome, now: number): Promise<boolean> {
    const done = outcome.status !== 'failed' || outcome.nextAttemptAt === null;
    const result = await this.write(async (trx) => {
      const recorded = await trx
        .updateTable('webhook_deliveries')
        .set({
          status: done ? outcome.status : 'pending',
          next_attempt_at: outcome.status === 'failed' && outcome.nextAttemptAt !== null ? outcome.nextAttemptAt : now,
          lease_until: null,
          last_attempt_at: now,
          last_status_code: outcome.status === 'skipped' ? null : outcome.statusCode,
          last_error: outcome.status === 'failed' ? outcome.error : outcome.status === 'skipped' ? outcome.reason : null,
          completed_at: done ? now : null,
        })
        // Only the worker that holds this attempt may record it: after a lease ran out and another
        // worker started the next attempt, or after the endpoint was removed, this changes nothing.
        .where('seq', '=', claim.id)
        .where('attempts', '=', claim.attempt)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (Number(recorded.numUpdatedRows) === 0) await this.releaseHeld(trx, claim.id, now);
      return recorded;
    });
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * A profile's deletion cancels its pending deliveries and holds the profile.deleted delivery
   * until the lease of an attempt still under way runs out (eraseProfileEvents). When that attempt
   * ends first, the held deliveries (never attempted, due later) are due at once.
   */
  private async releaseHeld(trx: Db, seq: number, now: number): Promise<void> {
    const row = await trx
      .selectFrom('webhook_deliveries')
      .select(['app_id', 'endpoint_id', 'profile_id', 'status', 'last_error'])
      .where('seq', '=', seq)
      .executeTakeFirst();
    if (row?.status !== 'cancelled' || row.last_error !== PROFILE_DELETED) return;
    await trx
      .updateTable('webhook_deliveries')
      .set({ next_attempt_at: now })
      .where('app_id', '=', row.app_id)
      .where('endpoint_id', '=', row.endpoint_id)
      .where('profile_id', '=', row.profile_id)
      .where('status', '=', 'pending')
      .where('attempts', '=', 0)
      .where('next_attempt_at', '>', now)
      .execute();
  }

  async prune(cutoff: number): Promise<{ deliveries: number; events: number }> {
    let deliveries = 0;
    let events = 0;
    for (;;) {
      const result = await this.write((trx) =>
        trx
          .deleteFrom('webhook_deliveries')
          .where('seq', 'in', (eb) =>
            eb
              .selectFrom('webhook_deliveries')
              .select('seq')
              .where('status', 'in', ['succeeded', 'failed', 'cancelled', 'skipped'])
              .where('completed_at', '<', cutoff)
              .limit(PRUNE_BATCH),
          )
          .executeTakeFirst(),
      );
      deliveries += Number(result.numDeletedRows);
      if (Number(result.numDeletedRows) < PRUNE_BATCH) break;
    }
    for (;;) {
      const result = await this.write((trx) =>
        trx
          .deleteFrom('webhook_events')
          .where(({ eb, refTuple, selectFrom }) =>
            eb(
              refTuple('app_id', 'id'),
              'in',
              selectFrom('webhook_events as ev')
                .select(['ev.app_id', 'ev.id'])
                .where('ev.created_at', '<', cutoff)
                // A delivery of an event is for the event's profile at one of the app's endpoints, so
                // the (app, endpoint, profile) index finds it without an index on event ids.
                .where(({ not, exists, selectFrom: from }) =>
                  not(
                    exists(
                      from('webhook_endpoints as ep')
                        .innerJoin('webhook_deliveries as d', (join) => join.onRef('d.app_id', '=', 'ep.app_id').onRef('d.endpoint_id', '=', 'ep.id'))
                        .select(sql<number>`1`.as('one'))
                        .whereRef('ep.app_id', '=', 'ev.app_id')
                        .whereRef('d.profile_id', '=', 'ev.profile_id')
                        .whereRef('d.event_id', '=', 'ev.id'),
                    ),
                  ),
                )
                .limit(PRUNE_BATCH)
                .$asTuple('app_id', 'id'),
            ),
          )
          .executeTakeFirst(),
      );
      events += Number(result.numDeletedRows);
      if (Number(result.numDeletedRows) < PRUNE_BATCH) break;
    }
    return { deliveries, events };
  }
}

function toDelivery(row: Omit<Selectable<WebhookDeliveriesTable>, 'lease_until'> & { type: string }): Delivery {
  const status = row.status as DeliveryStatus;
  return {
    id: row.seq,
    appId: row.app_id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.type,
    profileId: row.profile_id,
    status,
    attempts: row.attempts,
    nextAttemptAt: status === 'pending' ? row.next_attempt_at : null,
    lastAttemptAt: row.last_attempt_at,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: row.created_at,
    completedAt: row.completed_at,
  };
}

/**
 * Pending deliveries that are due and not held by a live lease, oldest first, without an earlier
 * pending delivery (leased or waiting for a retry) for the same app, endpoint and profile: that
 * is what keeps one profile's events in order at one endpoint.
 */
export function dueDeliveries(db: Db, now: number, limit: number) {
  return db
    .selectFrom('webhook_deliveries as c')
    .select(['c.seq', 'c.lease_until'])
    // The literal (not a parameter) lets both databases match the partial indexes of pending deliveries.
    .where('c.status', '=', sql.lit('pending'))
    .where('c.next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('c.lease_until', 'is', null), eb('c.lease_until', '<=', now)]))
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('webhook_deliveries as e')
            .select(sql<number>`1`.as('one'))
            .whereRef('e.app_id', '=', 'c.app_id')
            .whereRef('e.endpoint_id', '=', 'c.endpoint_id')
            .whereRef('e.profile_id', '=', 'c.profile_id')
            .whereRef('e.seq', '<', 'c.seq')
            .where('e.status', '=', sql.lit('pending')),
        ),
      ),
    )
    .orderBy('c.seq')
    .limit(limit);
}
