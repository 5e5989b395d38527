import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IDENTIFIER_KEYS } from '../src/domain/identifiers.js';
import { createTestDatabase, DATABASES, onDatabase, IDENTIFIERS_PATH, PROFILE_PATH, type TestDatabase } from './helpers.js';
import { type ServerProcess, startServer } from './process-helpers.js';

const KEY = 'multi-process-key-0123456789';

function databaseUrl(database: TestDatabase): string {
  return database.config.kind === 'sqlite' ? `sqlite:${database.config.file}` : database.config.url;
}

async function call(server: ServerProcess, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Api-Key ${KEY}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Runs the tasks with at most `width` of them in flight. */
async function pooled<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    }),
  );
  return results;
}

for (const kind of DATABASES) {
  describe(`three server processes on one ${kind} database`, onDatabase(kind), () => {
    let database: TestDatabase;
    let servers: ServerProcess[];
    before(async () => {
      database = await createTestDatabase(kind);
      // Started together: migrations and the first-start set-up race each other.
      servers = await Promise.all(
        [0, 1, 2].map(() => startServer({ DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: KEY })),
      );
    });
    after(async () => {
      for (const server of servers ?? []) await server.stop();
      await database.drop();
    });

    test('concurrent creates of one customer user id on all three make one profile', async () => {
      const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
      const answers = await pooled(
        users.flatMap((user) => servers.map((server) => () => call(server, 'POST', PROFILE_PATH, { 'adapty-customer-user-id': user }, {}))),
        24,
      );
      for (const [i, user] of users.entries()) {
        const mine = answers.slice(i * 3, i * 3 + 3);
        assert.deepEqual(mine.map((a) => a.status), [200, 200, 200], user);
        assert.equal(new Set(mine.map((a) => a.body.data.profile_id)).size, 1, user);
      }
    });

    test('identifier writes spread over the three processes all survive, key by key', async () => {
      const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
      const writes = users.flatMap((user, u) =>
        IDENTIFIER_KEYS.map((key, k) => () =>
          call(servers[(u + k) % 3]!, 'POST', IDENTIFIERS_PATH, { 'adapty-customer-user-id': user }, { [key]: `${user}:${key}` }),
        ),
      );
      const statuses = (await pooled(writes, 32)).map((answer) => answer.status);
      assert.deepEqual([...new Set(statuses)], [200]);
      for (const [u, user] of users.entries()) {
        const answer = await call(servers[u % 3]!, 'GET', IDENTIFIERS_PATH, { 'adapty-customer-user-id': user });
        for (const key of IDENTIFIER_KEYS) assert.equal(answer.body[key], `${user}:${key}`, `${user} ${key}`);
      }
    });

    test('attaching one customer user id to two profiles at once: exactly one wins', async () => {
      for (let round = 0; round < 10; round++) {
        const ids = [crypto.randomUUID(), crypto.randomUUID()];
        for (const id of ids) assert.equal((await call(servers[0]!, 'POST', PROFILE_PATH, { 'adapty-profile-id': id }, {})).status, 200);
        const cuid = `contested-${round}`;
        const answers = await Promise.all(
          ids.map((id, i) => call(servers[i]!, 'POST', PROFILE_PATH, { 'adapty-profile-id': id, 'adapty-customer-user-id': cuid }, {})),
        );
        assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400], `round ${round}`);
        const loser = answers.find((a) => a.status === 400)!;
        assert.equal(loser.body.errors[0].source, 'adapty-customer-user-id');
        const winner = answers.find((a) => a.status === 200)!;
        const holder = await call(servers[2]!, 'GET', PROFILE_PATH, { 'adapty-customer-user-id': cuid });
        assert.equal(holder.body.data.profile_id, winner.body.data.profile_id);
      }
    });

    test('all three stop cleanly on SIGTERM', async () => {
      const codes = await Promise.all(servers.map((server) => server.stop('SIGTERM')));
      assert.deepEqual(codes, [0, 0, 0]);
    });
  });

  describe(`crosswalk serve --workers 2 (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase(kind);
    });
    after(() => database.drop());

    test('serves from two worker processes and stops on SIGTERM', async () => {
      const server = await startServer(
        { DATABASE_URL: databaseUrl(database), CROSSWALK_API_KEY: KEY },
        ['src/cli/main.ts', 'serve', '--workers', '2'],
      );
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => call(server, 'POST', PROFILE_PATH, { 'adapty-customer-user-id': `w-${i % 5}` }, {})),
      );
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
      assert.equal(new Set(answers.map((a) => a.body.data.profile_id)).size, 5);
      assert.match(server.output(), /started 2 workers/);
      assert.equal(await server.stop('SIGTERM'), 0);
    });
  });
}
