import { type Kysely, sql } from 'kysely';
import { erasedEventPayload } from '../domain/events.js';
import type { Database } from './schema.js';

/** What a profile's deletion erases from the webhook outbox (events and deliveries about it). */

/** Why a deleted profile's pending deliveries were cancelled, and what replaces a receiver's answer kept with its other deliveries. */
export const PROFILE_DELETED = 'profile deleted';
export const ANSWER_ERASED = 'answer erased: profile deleted';

/**
 * Erases a deleted profile's personal data from the outbox, in the deletion's transaction. Every
 * stored event about the profile keeps only its id, type, time, app and profile id
 * (erasedEventPayload); its pending deliveries are cancelled; and the receivers' answers kept with
 * its failed deliveries (which may quote the body) are replaced. Answers when the last attempt
 * still under way for a cancelled delivery ends (its lease), or null when none is under way.
 */
export async function eraseProfileEvents(db: Kysely<Database>, appId: string, profileId: string, now: number): Promise<number | null> {
  // Events by the (app_id, profile_id) index; a delivery always has its event, so a profile
  // without events has no deliveries either.
  const events = await db
    .selectFrom('webhook_events')
    .select(['id', 'type', 'created_at'])
    .where('app_id', '=', appId)
    .where('profile_id', '=', profileId)
    .execute();
  if (events.length === 0) return null;
  for (let start = 0; start < events.length; start += 100) {
    const part = events.slice(start, start + 100);
    const payloads = part.map((event) =>
      sql`when ${event.id} then ${JSON.stringify(erasedEventPayload({ id: event.id, type: event.type, createdAt: event.created_at, appId, profileId }))}`,
    );
    await sql`update webhook_events set payload = case id ${sql.join(payloads, sql` `)} end
      where app_id = ${appId} and id in (${sql.join(part.map((event) => event.id))})`.execute(db);
  }
  // Deliveries by the (app_id, endpoint_id, profile_id, seq) index: every endpoint the app ever had.
  const endpoints = (await db.selectFrom('webhook_endpoints').select('id').where('app_id', '=', appId).execute()).map((row) => row.id);
  if (endpoints.length === 0) return null;
  const ofProfile = () =>
    db.updateTable('webhook_deliveries').where('app_id', '=', appId).where('endpoint_id', 'in', endpoints).where('profile_id', '=', profileId);
  const leased = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.max('lease_until').as('until'))
    .where('app_id', '=', appId)
    .where('endpoint_id', 'in', endpoints)
    .where('profile_id', '=', profileId)
    .where('status', '=', 'pending')
    .where('lease_until', '>', now)
    .executeTakeFirst();
  await ofProfile()
    .set({ status: 'cancelled', completed_at: now, lease_until: null, last_error: PROFILE_DELETED })
    .where('status', '=', 'pending')
    .execute();
  await ofProfile().set({ last_error: ANSWER_ERASED }).where('status', '=', 'failed').where('last_error', 'is not', null).execute();
  const until = leased?.until;
  return until === null || until === undefined ? null : Number(until);
}

/** Makes the profile's pending deliveries wait until `until` (the profile.deleted event, behind an attempt still under way). */
export async function delayProfileDeliveries(db: Kysely<Database>, appId: string, profileId: string, until: number): Promise<void> {
  const endpoints = db.selectFrom('webhook_endpoints').select('id').where('app_id', '=', appId);
  await db
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: until })
    .where('app_id', '=', appId)
    .where('endpoint_id', 'in', endpoints)
    .where('profile_id', '=', profileId)
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<', until)
    .execute();
}
