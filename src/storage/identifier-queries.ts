import type { Kysely } from 'kysely';
import type { IdentifierChanges, IdentifierKey } from '../domain/identifiers.js';
import type { Dialect } from './dialect.js';
import { preparedQuery } from './prepared.js';
import type { Database } from './schema.js';

/**
 * Sets and clears the given keys of one profile, leaving its other keys alone: each key is its own
 * row, so concurrent writes to one profile never lose each other's keys. A value equal to the
 * stored one is not rewritten (its time stays), so repeating a write changes nothing.
 */
export async function writeIdentifiers(
  db: Kysely<Database>,
  dialect: Dialect,
  appId: string,
  profileId: string,
  changes: IdentifierChanges,
): Promise<void> {
  const cleared = [...changes].filter(([, value]) => value === null).map(([key]) => key);
  const set = [...changes].filter((entry): entry is [IdentifierKey, string] => entry[1] !== null);
  if (cleared.length > 0) {
    await preparedQuery(dialect.prepared, `identifiers:clear:${cleared.length}`, 2 + cleared.length, (app, profile, ...keys) =>
      dialect.db
        .deleteFrom('integration_identifiers')
        .where('app_id', '=', app!)
        .where('profile_id', '=', profile!)
        .where('key', 'in', keys),
    ).execute(db, [appId, profileId, ...cleared]);
  }
  if (set.length > 0) {
    // Stand-ins: app, profile and time shared by all rows, then key and value per row.
    await preparedQuery(dialect.prepared, `identifiers:set:${set.length}`, 3 + 2 * set.length, (app, profile, time, ...pairs) =>
      dialect.db
        .insertInto('integration_identifiers')
        .values(
          set.map((_, i) => ({ app_id: app!, profile_id: profile!, key: pairs[2 * i]!, value: pairs[2 * i + 1]!, updated_at: time as unknown as number })),
        )
        .onConflict((conflict) =>
          conflict
            .columns(['app_id', 'profile_id', 'key'])
            .doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') }))
            .where('integration_identifiers.value', '<>', (eb) => eb.ref('excluded.value')),
        ),
    ).execute(db, [appId, profileId, Date.now(), ...set.flat()]);
  }
}
