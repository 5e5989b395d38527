import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { EventType } from '../../domain/events.js';
import type { IdentifierChange, IdentifierWriteResult } from '../../domain/identifier-writes.js';
import type { IdentifierKey } from '../../domain/identifiers.js';
import { type CustomAttribute, MAX_CUSTOM_ATTRIBUTES, type ProfileAddress, type ProfilePatch, type ProfileRecord } from '../../domain/profile.js';
import { NO_REVENUE } from '../../domain/revenue.js';
import { DEFAULT_RULES, type DroppedValue } from '../../domain/rules.js';
import { CustomAttributeLimitError, CustomerUserIdTakenError } from '../../errors.js';
import type { Dialect } from '../dialect.js';
import { rulesOfRow } from '../identifier-queries.js';
import { QueuedDeliveries } from '../outbox.js';
import { attributesOf } from '../profile-queries.js';
import { toGrant, toTransaction } from '../revenue-queries.js';
import type { AccessGrantsTable, ProfilesTable, TransactionsTable } from '../schema.js';
import type { IdentifierWriteAnswer, IdentifierWriteCall, OneStatementWrites } from './one-statement.js';

/** A profile as the statements answer it (crosswalk_profile_json): revenue is null when it has none. */
interface RecordJson {
  profile: ProfilesTable;
  custom: [string, string, number][];
  transactions: TransactionsTable[] | null;
  grants: AccessGrantsTable[] | null;
}

function recordOf({ profile, custom, transactions, grants }: RecordJson): ProfileRecord {
  const customAttributes: CustomAttribute[] = custom
    // By code point, as on the other path, so the order does not depend on the collation.
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value, isNumber]) => ({ key, value: isNumber === 1 ? Number(value) : value }));
  const revenue = transactions === null || grants === null ? NO_REVENUE : { transactions: transactions.map(toTransaction), grants: grants.map(toGrant) };
  return { appId: profile.app_id, profileId: profile.id, customerUserId: profile.customer_user_id, attributes: attributesOf(profile), customAttributes, revenue };
}

/** A profile read: the profile's columns, with the rest of RecordJson beside them. */
type ProfileRow = ProfilesTable & Omit<RecordJson, 'profile'>;

interface WrittenRow {
  status: 'written';
  profile_id: string;
  changes: { key: IdentifierKey; old: string | null; new: string | null; kind: IdentifierChange['kind']; moved_from: string | null }[];
  moves: { profile_id: string; key: IdentifierKey; value: string }[];
  events: number;
}

type AnswerRow =
  | { status: 'not_found' }
  | { status: 'stale'; version: string; placeholder_mode: string | null; extra_placeholders: string; conflict_policies: string }
  | { status: 'conflict'; keys: IdentifierKey[] }
  | WrittenRow;

function resultOf(row: WrittenRow, dropped: DroppedValue[]): IdentifierWriteResult {
  const changes = row.changes.map((change): IdentifierChange => {
    const written: IdentifierChange = { key: change.key, oldValue: change.old, newValue: change.new, kind: change.kind };
    if (change.moved_from !== null) written.movedFrom = change.moved_from;
    return written;
  });
  const moves = row.moves.map((move) => ({ profileId: move.profile_id, key: move.key, value: move.value }));
  return { profileId: row.profile_id, changes, dropped, moves };
}

/** The PostgreSQL implementation; `announce` is told what each committed statement queued for delivery. */
export class PostgresStatements implements OneStatementWrites {
  constructor(
    private readonly dialect: Dialect,
    private readonly announce: (queued: QueuedDeliveries) => void,
  ) {}

  async writeIdentifiers(call: IdentifierWriteCall): Promise<IdentifierWriteAnswer> {
    const kept = [...call.kept];
    const { actor, address } = call;
    const row = await this.run<AnswerRow>(sql<{ answer: string }>`select crosswalk_write_identifiers(
      ${call.appId}::text, ${address.profileId ?? null}::text, ${address.customerUserId ?? null}::text,
      ${kept.map(([key]) => key)}::text[], ${kept.map(([, value]) => value)}::text[],
      ${kept.map(([key]) => call.policies[key] ?? 'allow')}::text[],
      ${call.dropped.map((drop) => drop.key)}::text[], ${call.dropped.map((drop) => drop.value)}::text[],
      ${call.rulesVersion}::text, ${actor.source}::text, ${actor.apiKeyId}::text, ${actor.requestId}::text,
      ${call.now}::bigint, ${new Date(call.now).toISOString()}::text) as answer`);
    switch (row.status) {
      case 'not_found':
      case 'conflict':
        return row;
      case 'stale': {
        const rules = row.placeholder_mode === null ? DEFAULT_RULES : rulesOfRow({ ...row, placeholder_mode: row.placeholder_mode });
        return { status: 'stale', rules: { version: row.version, rules } };
      }
      case 'written': {
        const queued = new QueuedDeliveries();
        for (let i = 0; i < row.events; i++) queued.noteEvent('integration_identifiers.updated');
        this.announce(queued);
        return { status: 'written', result: resultOf(row, call.dropped) };
      }
    }
  }

  async readProfile(appId: string, address: ProfileAddress): Promise<ProfileRecord | null> {
    const { profileId, customerUserId } = address;
    // The revenue tables are read only for a profile that has revenue, as on the other path.
    const { rows } = await sql<ProfileRow>`select p.*,
        (select coalesce(json_agg(json_build_array(c.key, c.value, c.is_number)), '[]') from custom_attributes c
          where c.app_id = p.app_id and c.profile_id = p.id) as custom,
        case when p.revenue_at is not null then (select coalesce(json_agg(t order by t.store, t.store_transaction_id), '[]') from transactions t
          where t.app_id = p.app_id and t.profile_id = p.id) end as transactions,
        case when p.revenue_at is not null then (select coalesce(json_agg(g order by g.access_level_id), '[]') from access_grants g
          where g.app_id = p.app_id and g.profile_id = p.id) end as grants
      from profiles p
      where p.app_id = ${appId}
        ${profileId === undefined ? sql`` : sql`and p.id = ${profileId}`}
        ${customerUserId === undefined ? sql`` : sql`and p.customer_user_id = ${customerUserId}`}`.execute(this.dialect.db);
    const row = rows[0];
    return row ? recordOf({ profile: row, custom: row.custom, transactions: row.transactions, grants: row.grants }) : null;
  }

  async ensureProfile(appId: string, address: ProfileAddress, patch: ProfilePatch, fields: readonly string[]): Promise<ProfileRecord> {
    const { profileId = null, customerUserId = null } = address;
    const custom = patch.customAttributes;
    // Later entries for the same key win, as they would if sent one after the other.
    const latest = [...new Map((custom ?? []).map((change) => [change.key, change.value])).entries()];
    const { device_id: deviceId = null, ...installation } = patch.installation ?? {};
    const now = Date.now();
    let answer: { record: RecordJson; event: EventType | null; events: number };
    try {
      answer = await this.run(sql<{ answer: string }>`select crosswalk_ensure_profile(
        ${appId}::text, ${profileId}::text, ${customerUserId}::text, ${randomUUID()}::text,
        ${JSON.stringify(patch.attributes)}::jsonb, ${custom === undefined ? 'keep' : custom === null ? 'clear' : 'merge'}::text,
        ${latest.map(([key]) => key)}::text[], ${latest.map(([, value]) => (value === null ? null : String(value)))}::text[],
        ${latest.map(([, value]) => (typeof value === 'number' ? 1 : 0))}::integer[], ${MAX_CUSTOM_ATTRIBUTES}::integer,
        ${deviceId}::text, ${JSON.stringify(installation)}::text, ${fields}::text[], ${now}::bigint, ${new Date(now).toISOString()}::text) as answer`);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'CW001') throw new CustomAttributeLimitError(MAX_CUSTOM_ATTRIBUTES);
      if (code === 'CW002') throw new CustomerUserIdTakenError();
      throw error;
    }
    if (answer.event !== null && answer.events > 0) {
      const queued = new QueuedDeliveries();
      queued.noteEvent(answer.event);
      this.announce(queued);
    }
    return recordOf(answer.record);
  }

  /**
   * Runs one statement that answers JSON text; run again, up to three times in all, when PostgreSQL
   * ends it to break a deadlock (its implicit transaction is then undone whole).
   */
  private async run<Row>(statement: ReturnType<typeof sql<{ answer: string }>>): Promise<Row> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await statement.execute(this.dialect.db);
        return JSON.parse(rows[0]!.answer) as Row;
      } catch (error) {
        if (attempt >= 3 || !this.dialect.isRetryable(error)) throw error;
      }
    }
  }
}
