/**
 * Shared checks for the reliability suites: table snapshots read behind the app's back, the exact
 * error envelope, and the "no internals in answers" rule. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { ERROR_STATUS, type ErrorCode } from '../../src/errors.js';
import { GRANT_PATH, REFUND_SAVER_PATH, REVOKE_PATH, TRANSACTION_PATH } from '../../src/http/routes/purchase.js';
import { queryRows, type TestDatabase } from '../helpers.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The tables a rejected request must leave alone. */
export const DATA_TABLES = [
  'profiles',
  'custom_attributes',
  'installations',
  'integration_identifiers',
  'identifier_history',
  'transactions',
  'access_grants',
  'paid_access_levels',
  'access_level_clock',
  'refund_saver_settings',
] as const;

const ORDER: Record<(typeof DATA_TABLES)[number], string> = {
  profiles: 'app_id, id',
  custom_attributes: 'app_id, profile_id, key',
  installations: 'app_id, profile_id, device_id',
  integration_identifiers: 'app_id, profile_id, key',
  identifier_history: 'seq',
  transactions: 'app_id, store, store_transaction_id',
  access_grants: 'app_id, profile_id, access_level_id',
  paid_access_levels: 'app_id, id',
  access_level_clock: 'app_id, profile_id, access_level_id',
  refund_saver_settings: 'app_id, profile_id',
};

/** The purchase and Refund Saver routes, which answer a missing profile 400 (see purchaseProfileNotFound). */
export const PURCHASE_PATHS = [TRANSACTION_PATH, GRANT_PATH, REVOKE_PATH, REFUND_SAVER_PATH] as const;

/** The status `code` has on `url`: the catalogue's, except where an operation answers it otherwise. */
function statusOf(code: ErrorCode, url: string | undefined): number {
  const path = url?.split('?')[0]!.replace(/\/*$/, '/');
  if (code === 'profile_does_not_exist' && PURCHASE_PATHS.some((purchase) => purchase === path)) return 400;
  return ERROR_STATUS[code];
}

export type Snapshot = Record<string, unknown[]>;

function orderOf(table: string): string {
  return ORDER[table as keyof typeof ORDER] ?? 'id';
}

/** One PostgreSQL query that returns every table as JSON text, in a fixed order. */
function postgresSnapshotSql(tables: readonly string[]): string {
  const columns = tables.map((table) => {
    const order = orderOf(table).split(', ').map((column) => `t.${column}`).join(', ');
    return `(select coalesce(json_agg(t order by ${order}), '[]'::json) from ${table} t)::text as ${table}`;
  });
  return `select ${columns.join(', ')}`;
}

function fromPostgresRow(row: Record<string, unknown> | undefined, tables: readonly string[]): Snapshot {
  const result: Snapshot = {};
  for (const table of tables) result[table] = JSON.parse(String(row![table])) as unknown[];
  return result;
}

/**
 * Every row of the data tables, in a fixed order, read with queryRows (a connection of its own).
 * SQLite is read table by table; PostgreSQL in one round trip as JSON text.
 */
export async function snapshot(database: TestDatabase, tables: readonly string[] = DATA_TABLES): Promise<Snapshot> {
  if (database.config.kind === 'sqlite') {
    const result: Snapshot = {};
    for (const table of tables) result[table] = await queryRows(database, `select * from ${table} order by ${orderOf(table)}`);
    return result;
  }
  const [row] = await queryRows(database, postgresSnapshotSql(tables));
  return fromPostgresRow(row, tables);
}

/**
 * The same snapshot over one connection kept open (still not the app's): the fuzz suite takes a
 * snapshot after every generated request, and opening a PostgreSQL connection each time costs
 * ~40 ms. SQLite in WAL mode shows each new statement the latest commit.
 */
export class SnapshotReader {
  private constructor(
    private readonly read: () => Promise<Snapshot>,
    readonly close: () => Promise<void>,
  ) {}

  static async open(database: TestDatabase, tables: readonly string[] = DATA_TABLES): Promise<SnapshotReader> {
    const config = database.config;
    if (config.kind === 'sqlite') {
      const db = new SqliteDatabase(config.file, { readonly: true });
      const statements = tables.map((table) => [table, db.prepare(`select * from ${table} order by ${orderOf(table)}`)] as const);
      return new SnapshotReader(
        async () => Object.fromEntries(statements.map(([table, statement]) => [table, statement.all()])),
        async () => void db.close(),
      );
    }
    const client = new pg.Client({ connectionString: config.url });
    await client.connect();
    const text = postgresSnapshotSql(tables);
    return new SnapshotReader(
      async () => fromPostgresRow((await client.query(text)).rows[0] as Record<string, unknown>, tables),
      () => client.end(),
    );
  }

  take(): Promise<Snapshot> {
    return this.read();
  }
}

/** Rows as comparable text; SQLite hands back numbers where PostgreSQL's JSON has them too. */
export function snapshotText(snap: Snapshot): string {
  return JSON.stringify(snap);
}

export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  payload?: string | Buffer;
}

export interface Answer {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
}

/** Patterns that betray internals: stack frames, SQL, driver names, source paths. */
const LEAKS: readonly RegExp[] = [
  /(?:\n|\\n)\s*at\s+\S/g,
  /\bat\s+[\w$.<>[\]]+\s+\((?:file:|node:|\/)[^)]*\)/g,
  /[\w/-]+\.(?:ts|js|mjs|cjs):\d+(?::\d+)?/g,
  /sqlite/gi,
  /syntax error/gi,
  /\bselect\s/gi,
  /\binsert\s/gi,
  /\bupdate\s+"?\w+"?\s+set\b/gi,
  /\bdelete\s+from\b/gi,
  /\/src\//g,
  /node_modules/g,
  /\bkysely\b/gi,
  /\bpg_\w+/gi,
  /duplicate key value/gi,
  /violates .* constraint/gi,
  /invalid byte sequence/gi,
  /TypeError|ReferenceError|RangeError/g,
];

function requestText(request: SentRequest): string {
  const payload = request.payload === undefined ? '' : Buffer.isBuffer(request.payload) ? request.payload.toString('latin1') : request.payload;
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${[value].flat().join('\n')}`)
    .join('\n');
  return `${request.method} ${request.url}\n${headers}\n${payload}`.toLowerCase();
}

/**
 * Fails when the answer carries a stack frame, SQL or a source path. A parse error may quote the
 * client's own body back; text the request itself contained is not a leak.
 */
export function assertNoInternals(answer: Answer, request?: SentRequest): void {
  const sent = request ? requestText(request) : '';
  for (const pattern of LEAKS) {
    for (const match of answer.body.matchAll(pattern)) {
      if (sent.includes(match[0].toLowerCase())) continue;
      assert.fail(`answer ${answer.statusCode} leaks internals (${pattern}): ${JSON.stringify(answer.body.slice(0, 500))}`);
    }
  }
}

/**
 * The exact error envelope: no other keys, non-empty lists, a catalogued code matching the status
 * (the status it has on `url`, when given).
 */
export function assertEnvelope(answer: Answer, context = '', url?: string): Record<string, unknown> {
  const where = `${context} ${answer.statusCode} ${JSON.stringify(answer.body.slice(0, 300))}`;
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    assert.fail(`error answer is not JSON:${where}`);
  }
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `error answer is not an object:${where}`);
  const record = body as Record<string, unknown>;
  assert.deepEqual(Object.keys(record).sort(), ['error_code', 'errors', 'status_code'], `envelope keys:${where}`);
  assert.equal(record.status_code, answer.statusCode, `status_code must equal the HTTP status:${where}`);
  assert.equal(typeof record.error_code, 'string', `error_code:${where}`);
  const code = record.error_code as string;
  assert.ok(Object.hasOwn(ERROR_STATUS, code), `error_code "${code}" is not in the catalogue:${where}`);
  assert.equal(statusOf(code as ErrorCode, url), answer.statusCode, `error_code "${code}" belongs to another status:${where}`);
  assert.ok(Array.isArray(record.errors) && record.errors.length > 0, `errors must be a non-empty list:${where}`);
  for (const item of record.errors as unknown[]) {
    assert.ok(typeof item === 'object' && item !== null && !Array.isArray(item), `error item:${where}`);
    const entry = item as Record<string, unknown>;
    assert.deepEqual(Object.keys(entry).sort(), ['errors', 'source'], `error item keys:${where}`);
    assert.ok(entry.source === null || typeof entry.source === 'string', `source must be a string or null:${where}`);
    assert.ok(Array.isArray(entry.errors) && entry.errors.length > 0, `item errors must be a non-empty list:${where}`);
    for (const message of entry.errors as unknown[]) assert.equal(typeof message, 'string', `messages are strings:${where}`);
  }
  const type = String(answer.headers['content-type'] ?? '');
  assert.match(type, /^application\/json/, `error answers are JSON:${where}`);
  return record;
}

/** Own property names of Object.prototype, to see that nothing was added to it. */
export function prototypeKeys(): string[] {
  return Reflect.ownKeys(Object.prototype).map(String).sort();
}

export function assertPrototypeClean(before: readonly string[]): void {
  assert.deepEqual(prototypeKeys(), before, 'Object.prototype gained keys');
  const probe = {} as Record<string, unknown>;
  for (const name of ['polluted', 'appsflyer_id', 'first_name', 'isAdmin', 'x']) {
    assert.equal(probe[name], undefined, `Object.prototype.${name} was set`);
  }
}

/** Every way to name one profile in the headers: by profile id (as sent and in upper case), by customer user id, by both. */
export function addressingsOf(profile: { cuid: string; profileId: string }): { name: string; headers: Record<string, string> }[] {
  return [
    { name: 'profile id', headers: { 'adapty-profile-id': profile.profileId } },
    { name: 'profile id in upper case', headers: { 'adapty-profile-id': profile.profileId.toUpperCase() } },
    { name: 'customer user id', headers: { 'adapty-customer-user-id': profile.cuid } },
    { name: 'both', headers: { 'adapty-profile-id': profile.profileId, 'adapty-customer-user-id': profile.cuid } },
  ];
}

/** The DATABASE_URL the real server process is started with. */
export function databaseUrl(database: TestDatabase): string {
  const config = database.config;
  return config.kind === 'sqlite' ? `sqlite:${config.file}` : config.url;
}

export interface CapturedServer {
  child: ChildProcess;
  url: string;
  /** stdout and stderr, interleaved as they arrived. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Like process-helpers' startServer, but keeps stderr too (and lets the caller choose the log
 * level): the secrets suite reads everything the process wrote.
 */
export async function startCapturedServer(env: Record<string, string>): Promise<CapturedServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let all = '';
  child.stdout!.on('data', (chunk) => (all += chunk));
  child.stderr!.on('data', (chunk) => (all += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${all}`));
    }, 30_000);
    const check = () => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(all);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${all}`));
    });
  });
  return {
    child,
    url,
    output: () => all,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = await exited;
      return code as number | null;
    },
  };
}
