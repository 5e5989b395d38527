import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers.js';
import { startServer, type ServerProcess } from '../../../test/process-helpers.js';
import { CrosswalkClient, type CrosswalkClientOptions } from '../src/index.js';

/** The key the server process registers through CROSSWALK_API_KEY. */
export const API_KEY = 'client-suite-key-0123456789abcdef';

export interface Crosswalk {
  url: string;
  database: TestDatabase;
  /** A client for the server with the suite's key; options override. */
  client(options?: Partial<CrosswalkClientOptions>): CrosswalkClient;
  stop(): Promise<void>;
}

/** The real server as its own process, on a fresh SQLite file, with a known API key. */
export async function startCrosswalk(): Promise<Crosswalk> {
  const database = await createTestDatabase('sqlite');
  const file = database.config.kind === 'sqlite' ? database.config.file : '';
  let server: ServerProcess;
  try {
    server = await startServer({ DATABASE_URL: `sqlite:${file}`, CROSSWALK_API_KEY: API_KEY });
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    url: server.url,
    database,
    client: (options = {}) => new CrosswalkClient({ baseUrl: server.url, apiKey: API_KEY, timeoutMs: 10_000, ...options }),
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
