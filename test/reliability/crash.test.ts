/**
 * Crash durability against the real server process: concurrent identifier writes over real HTTP,
 * SIGKILL in the middle of the load, restart on the same database, and every write that was
 * answered 200 must be there. Twice in a row, then the database must check out clean.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IDENTIFIER_KEYS } from '../../src/domain/identifiers.js';
import { createTestDatabase, DATABASES, onDatabase, IDENTIFIERS_PATH, PROFILE_PATH, queryRows, type TestDatabase } from '../helpers.js';
import { type ServerProcess, startServer } from '../process-helpers.js';
import { databaseUrl } from './support.js';

const KEY = 'crash-durability-operator-key-0123456789';
const PROFILES = 64;
const IN_FLIGHT = 24;
/** Acknowledged writes in each round before the kill is ordered... */
const KILL_AFTER = [300, 250] as const;
/**
 * ...and the milliseconds until it is sent, during which new requests keep starting: the kill
 * then lands while requests are at every stage (being read, in a transaction, being answered)
 * rather than just after a group of answers.
 */
const KILL_DELAY_MS = [3, 7] as const;

interface Slot {
  profile: number;
  key: (typeof IDENTIFIER_KEYS)[number];
  value: string;
}

const headersFor = (profile: number) => ({
  authorization: `Api-Key ${KEY}`,
  'adapty-customer-user-id': `crash-${profile}`,
  'content-type': 'application/json',
});

/** Every (profile, key) pair once, in a scrambled but fixed order, each with its own value. */
function allSlots(): Slot[] {
  const slots: Slot[] = [];
  for (let profile = 0; profile < PROFILES; profile++) {
    for (const key of IDENTIFIER_KEYS) slots.push({ profile, key, value: `ack-${profile}-${key}-${slots.length}` });
  }
  // A fixed permutation (multiplication by a number prime to the length) so that concurrent writes
  // hit many profiles and keys at once.
  const n = slots.length;
  return slots.map((_, i) => slots[(i * 389) % n]!);
}

interface Round {
  acknowledged: Slot[];
  /** Sent but not answered 200 (killed in flight): either outcome is allowed. */
  unknown: Slot[];
  unexpected: string[];
}

/**
 * Writes slots with IN_FLIGHT requests at a time; after `killAfter` 200s, SIGKILLs the server and
 * stops starting new requests. Answers already on their way still count as acknowledged.
 */
async function loadAndKill(server: ServerProcess, slots: Slot[], killAfter: number, delayMs: number): Promise<Round> {
  const round: Round = { acknowledged: [], unknown: [], unexpected: [] };
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  let next = 0;
  let killOrdered = false;
  let killed = false;
  const worker = async () => {
    while (!killed && next < slots.length) {
      const slot = slots[next++]!;
      try {
        const res = await fetch(server.url + IDENTIFIERS_PATH, {
          method: 'POST',
          headers: headersFor(slot.profile),
          body: JSON.stringify({ [slot.key]: slot.value }),
        });
        const text = await res.text();
        if (res.status === 200) {
          round.acknowledged.push(slot);
          if (!killOrdered && round.acknowledged.length >= killAfter) {
            killOrdered = true;
            setTimeout(() => {
              killed = true;
              server.child.kill('SIGKILL');
            }, delayMs);
          }
        } else {
          round.unknown.push(slot);
          if (!killed) round.unexpected.push(`${res.status} ${text}`);
        }
      } catch (error) {
        round.unknown.push(slot);
        if (!killed) round.unexpected.push(`request failed before the kill: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  if (!killed) {
    server.child.kill('SIGKILL');
    round.unexpected.push(`only ${round.acknowledged.length} writes were acknowledged; the kill came after the load`);
  }
  await exited;
  return round;
}

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

/** All 16 identifiers of every profile, read through the restarted server. */
async function readAll(server: ServerProcess): Promise<Record<string, string | null>[]> {
  const all: Record<string, string | null>[] = [];
  await inBatches([...Array(PROFILES).keys()], 16, async (profile) => {
    const res = await fetch(server.url + IDENTIFIERS_PATH, { headers: headersFor(profile) });
    assert.equal(res.status, 200, `GET identifiers of crash-${profile}: ${res.status}`);
    all[profile] = (await res.json()) as Record<string, string | null>;
  });
  return all;
}

async function sqliteIntegrity(database: TestDatabase): Promise<unknown[]> {
  return (await queryRows(database, 'PRAGMA integrity_check')).map((row) => Object.values(row)[0]);
}

for (const kind of DATABASES) {
  describe(`crash durability of the server process (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    let server: ServerProcess | undefined;
    before(async () => {
      database = await createTestDatabase(kind);
    });
    after(async () => {
      await server?.stop('SIGKILL');
      await database.drop();
    });

    test('SIGKILL during concurrent identifier writes, twice: every acknowledged write survives; the database reopens cleanly', async (t) => {
      const env = { DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: KEY };
      server = await startServer(env);
      await inBatches([...Array(PROFILES).keys()], 16, async (profile) => {
        const res = await fetch(server!.url + PROFILE_PATH, { method: 'POST', headers: headersFor(profile), body: '{}' });
        assert.equal(res.status, 200, await res.text());
      });

      const slots = allSlots();
      const acknowledged: Slot[] = [];
      const unknown: Slot[] = [];
      let offset = 0;
      for (const [index, killAfter] of KILL_AFTER.entries()) {
        const round = await loadAndKill(server, slots.slice(offset), killAfter, KILL_DELAY_MS[index]!);
        offset += round.acknowledged.length + round.unknown.length;
        acknowledged.push(...round.acknowledged);
        unknown.push(...round.unknown);
        t.diagnostic(`round ${index + 1}: ${round.acknowledged.length} acknowledged, ${round.unknown.length} cut off by the kill`);
        assert.deepEqual(round.unexpected, [], 'answers other than 200 before the kill');
        assert.ok(round.acknowledged.length >= killAfter);

        if (kind === 'sqlite') {
          // The file left by the killed process opens and checks out before anything recovers it.
          assert.deepEqual(await sqliteIntegrity(database), ['ok'], 'integrity_check right after SIGKILL');
        }
        server = await startServer(env);
        const ready = await fetch(`${server.url}/readyz`);
        assert.equal(ready.status, 200, await ready.text());

        const stored = await readAll(server);
        const lost = acknowledged.filter((slot) => stored[slot.profile]![slot.key] !== slot.value);
        assert.deepEqual(
          lost.map((slot) => `crash-${slot.profile}.${slot.key}: expected ${slot.value}, found ${stored[slot.profile]![slot.key]}`),
          [],
          `acknowledged writes lost after kill ${index + 1}`,
        );
        // A write cut off by the kill is all there or not at all; nothing else appears.
        const written = new Map([...acknowledged, ...unknown].map((slot) => [`${slot.profile}.${slot.key}`, slot.value]));
        for (let profile = 0; profile < PROFILES; profile++) {
          for (const key of IDENTIFIER_KEYS) {
            const value = stored[profile]![key];
            if (value !== null) assert.equal(value, written.get(`${profile}.${key}`), `crash-${profile}.${key} holds a value nobody wrote`);
          }
        }
      }
      t.diagnostic(`${acknowledged.length} acknowledged writes checked after ${KILL_AFTER.length} kills`);

      // The restarted server takes writes again, and a graceful stop leaves a clean database.
      const res = await fetch(server.url + IDENTIFIERS_PATH, { method: 'POST', headers: headersFor(0), body: '{"appsflyer_id":"after-restart"}' });
      assert.equal(res.status, 200, await res.text());
      assert.equal(await server.stop('SIGTERM'), 0);
      server = undefined;
      if (kind === 'sqlite') {
        assert.deepEqual(await sqliteIntegrity(database), ['ok']);
        assert.deepEqual(await queryRows(database, 'PRAGMA foreign_key_check'), []);
      } else {
        const orphans = await queryRows(
          database,
          'select count(*)::int as n from integration_identifiers i left join profiles p on p.app_id = i.app_id and p.id = i.profile_id where p.id is null',
        );
        assert.equal(orphans[0]!.n, 0);
      }
      const [count] = await queryRows(database, `select count(*) as n from integration_identifiers`);
      assert.ok(Number(count!.n) >= acknowledged.length);
    });
  });
}
