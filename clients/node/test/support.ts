import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, queryRows, type TestDatabase } from '../../../test/helpers.js';
import { runCliProcess, startServer, type ServerProcess } from '../../../test/process-helpers.js';
import { CrosswalkClient, type CrosswalkClientOptions } from '../src/index.js';

/** The key the server process registers through CROSSWALK_API_KEY. */
export const API_KEY = 'client-suite-key-0123456789abcdef';

export interface Crosswalk {
  url: string;
  database: TestDatabase;
  /** The id of the app the server made at first start, which the suite's key belongs to. */
  appId: string;
  /** A client for the server with the suite's key; options override. */
  client(options?: Partial<CrosswalkClientOptions>): CrosswalkClient;
  /** Runs the server's CLI on the server's database (`rules conflict appsflyer_id reject --app …`); its stdout, or a rejection. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** The real server as its own process, on a fresh SQLite file, with a known API key; `env` adds settings. */
export async function startCrosswalk(env: Record<string, string> = {}): Promise<Crosswalk> {
  const database = await createTestDatabase('sqlite');
  const file = database.config.kind === 'sqlite' ? database.config.file : '';
  let server: ServerProcess | undefined;
  let appId: string;
  try {
    server = await startServer({ DATABASE_URL: `sqlite:${file}`, CROSSWALK_API_KEY: API_KEY, ...env });
    appId = String((await queryRows(database, 'select id from apps'))[0]!.id);
  } catch (error) {
    await server?.stop();
    await database.drop();
    throw error;
  }
  return {
    url: server.url,
    database,
    appId,
    client: (options = {}) => new CrosswalkClient({ baseUrl: server.url, apiKey: API_KEY, timeoutMs: 10_000, ...options }),
    async cli(...args) {
      const run = await runCliProcess(['--database-url', `sqlite:${file}`, ...args]);
      if (run.code !== 0) throw new Error(`crosswalk ${args.join(' ')} exited with ${run.code}:\n${run.stderr}`);
      return run.stdout;
    },
    async stop() {
      await server.stop();
      await database.drop();
    },
  };
}

/** A customer user id no other test uses. */
export function userId(label: string): string {
  return `${label}-${randomUUID()}`;
}

/** Resolves with what `promise` rejects with; fails the test if it resolves. */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}
