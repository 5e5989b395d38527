import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { type Command, Option } from 'commander';
import { charLength, isPlainObject, isUuid } from '../domain/formats.js';
import { IDENTIFIER_KEYS, type IdentifierChanges, isIdentifierKey } from '../domain/identifiers.js';
import { ATTRIBUTE_NAMES, type InstallationMeta, MAX_CUSTOMER_USER_ID_LENGTH, type ProfileAddress, type ProfilePatch } from '../domain/profile.js';
import { transactionProblem } from '../domain/revenue.js';
import { ApiError, CustomAttributeLimitError, CustomerUserIdTakenError, domainErrorToApiError, type ErrorItem } from '../errors.js';
import { parseIdentifiersBody } from '../schemas/identifiers.js';
import { parseProfileBody } from '../schemas/profile.js';
import { parseTransaction } from '../schemas/revenue.js';
import { parseImportedGrant, parseImportedRefundSaver, parseStoredTransaction } from '../schemas/revenue-import.js';
import type { ImportExportService, ImportItem, ImportOutcome } from '../services/import-export.js';
import type { Services } from '../services/index.js';
import { type RestoredGrant, type RestoredTransaction, type RevenueRestore, RevenueRestoreError } from '../services/revenue.js';
import type { App } from '../storage/store.js';
import { Progress, formatCount } from './progress.js';

/** A problem with the command's input or arguments: printed as one line, exit code 1. */
export class DataCommandError extends Error {}

/** What the data commands (import, export, stats, rules, webhooks) borrow from the CLI. */
export interface DataCommandContext {
  /** Runs `work` on the services of the database named by --database-url, migrated, and closes it afterwards. */
  withServices<T>(work: (services: Services) => Promise<T>): Promise<T>;
  /** The app named by --app (id or name), or the only app there is. */
  resolveApp(services: Services, wanted: string | undefined): Promise<App>;
}

export type ImportFormat = 'ndjson' | 'csv';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['ndjson', 'csv'];

const EXTENSIONS: Record<string, ImportFormat> = { '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.json': 'ndjson', '.csv': 'csv' };

/** The columns a CSV header may name. */
export const CSV_COLUMNS: readonly string[] = ['customer_user_id', 'profile_id', ...IDENTIFIER_KEYS, ...ATTRIBUTE_NAMES];

// ---------------------------------------------------------------------------------------------
// Reading: a record per line (NDJSON) or per CSV record, with the line it starts on.

/** One record read from the file: its value, or why it could not be read. */
export interface SourceRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  /** What the rejects file shows: the parsed line, or its text when it is not JSON. */
  input: unknown;
  value?: unknown;
  reason?: string;
}

export async function* ndjsonRecords(input: Readable): AsyncGenerator<SourceRecord> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (let text of lines) {
    line++;
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { line, input: text, reason: `Not valid JSON: ${(error as Error).message}` };
      continue;
    }
    yield { line, input: value, value };
  }
}

/** One CSV record: its fields, the line it starts on, and a quoting problem if it has one. */
export interface CsvRecord {
  line: number;
  fields: string[];
  error?: string;
}

const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

const enum State {
  /** At the start of a field. */
  Start,
  Unquoted,
  Quoted,
  /** Just after a quote inside a quoted field: a closing quote, or the first of a doubled one. */
  QuoteInQuoted,
}

/**
 * A streaming RFC 4180 parser: fields separated by commas, records by CRLF, LF (or a lone CR);
 * a quoted field may hold commas, line breaks and doubled quotes. Chunks may split a record, a
 * field or a CRLF anywhere. Blank lines are skipped; a leading byte order mark is dropped. A
 * record with a stray quote, text after a closing quote, or a quote left open at the end is
 * still returned, whole up to its end, with `error` set.
 */
export async function* parseCsv(chunks: AsyncIterable<string>): AsyncGenerator<CsvRecord> {
  let state = State.Start;
  let fields: string[] = [];
  let field = '';
  let error: string | undefined;
  let line = 1;
  let recordLine = 1;
  let previousCr = false;
  let first = true;

  const complain = (message: string) => {
    error ??= message;
  };

  for await (const raw of chunks) {
    let chunk = raw;
    if (first && chunk.length > 0) {
      first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    // Plain characters are copied in runs: `run` is where the current run began in this chunk.
    let run = -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      const afterCr = previousCr;
      previousCr = c === CR;
      const isBreak = c === CR || c === LF;
      if (c === CR || (c === LF && !afterCr)) line++;

      if (state === State.Quoted) {
        if (c !== QUOTE) {
          if (run < 0) run = i;
          continue;
        }
        if (run >= 0) field += chunk.slice(run, i);
        run = -1;
        state = State.QuoteInQuoted;
        continue;
      }
      if (state === State.QuoteInQuoted) {
        if (c === QUOTE) {
          field += '"';
          state = State.Quoted;
          continue;
        }
        if (c !== COMMA && !isBreak) {
          complain('A closing quote must be followed by a comma or the end of the line.');
          state = State.Unquoted;
          run = i;
          continue;
        }
      }
      if (state === State.Unquoted && c !== COMMA && !isBreak) {
        if (c === QUOTE) complain('A quote may appear only inside a quoted field (a field that starts with a quote).');
        if (run < 0) run = i;
        continue;
      }
      if (run >= 0) field += chunk.slice(run, i);
      run = -1;
      if (state === State.Start && c !== COMMA && !isBreak) {
        if (c === QUOTE) state = State.Quoted;
        else {
          state = State.Unquoted;
          run = i;
        }
        continue;
      }
      // A comma or a line break ends the field.
      if (c === COMMA) {
        fields.push(field);
        field = '';
        state = State.Start;
        continue;
      }
      const blank = fields.length === 0 && field === '' && state === State.Start;
      if (!blank) {
        fields.push(field);
        yield error === undefined ? { line: recordLine, fields } : { line: recordLine, fields, error };
      }
      fields = [];
      field = '';
      error = undefined;
      state = State.Start;
      recordLine = line;
    }
    if (run >= 0) field += chunk.slice(run);
  }
  if (state === State.Quoted) complain('A quoted field is not closed before the end of the file.');
  if (!(fields.length === 0 && field === '' && state === State.Start)) {
    fields.push(field);
    yield error === undefined ? { line: recordLine, fields } : { line: recordLine, fields, error };
  }
}

/** Checks the header: known columns, each once, and a way to name the profile. */
export function checkCsvHeader(fields: string[]): string[] {
  const header = fields.map((name) => name.trim());
  const known = new Set(CSV_COLUMNS);
  const seen = new Set<string>();
  for (const name of header) {
    if (!known.has(name)) {
      throw new DataCommandError(`the CSV header names an unknown column "${name}"; the columns are: ${CSV_COLUMNS.join(', ')}`);
    }
    if (seen.has(name)) throw new DataCommandError(`the CSV header names the column "${name}" twice`);
    seen.add(name);
  }
  if (!seen.has('customer_user_id') && !seen.has('profile_id')) {
    throw new DataCommandError('the CSV header needs a customer_user_id or a profile_id column (or both)');
  }
  return header;
}

/** A CSV record as the NDJSON object it stands for. Empty cells are left out (not given). */
export function csvToObject(header: string[], cells: string[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  const identifiers: Record<string, string> = {};
  header.forEach((name, i) => {
    const cell = cells[i];
    if (cell === undefined || cell === '') return;
    if (isIdentifierKey(name)) identifiers[name] = cell;
    else if (name === 'att_status') object[name] = /^\s*-?\d+\s*$/.test(cell) ? Number(cell) : cell;
    else if (name === 'analytics_disabled') {
      const word = cell.trim().toLowerCase();
      object[name] = word === 'true' ? true : word === 'false' ? false : cell;
    } else object[name] = cell;
  });
  if (Object.keys(identifiers).length > 0) object.integration_identifiers = identifiers;
  return object;
}

async function* csvSourceRecords(input: Readable): AsyncGenerator<SourceRecord> {
  input.setEncoding('utf8');
  let header: string[] | undefined;
  for await (const record of parseCsv(input as AsyncIterable<string>)) {
    if (header === undefined) {
      if (record.error) throw new DataCommandError(`the CSV header (line ${record.line}) is malformed: ${record.error}`);
      header = checkCsvHeader(record.fields);
      continue;
    }
    const matches = record.fields.length === header.length;
    // The rejects file shows the record by column when it has the header's shape, else as its cells.
    const shown: unknown = matches ? Object.fromEntries(header.map((name, i) => [name, record.fields[i]])) : record.fields;
    if (record.error) yield { line: record.line, input: shown, reason: record.error };
    else if (!matches) {
      yield { line: record.line, input: shown, reason: `Expected ${header.length} fields, as in the header; found ${record.fields.length}.` };
    } else yield { line: record.line, input: shown, value: csvToObject(header, record.fields) };
  }
  if (header === undefined) throw new DataCommandError('the CSV file is empty: it needs a header row');
}

// ---------------------------------------------------------------------------------------------
// Validation: the product's own validators, and the create operation's addressing rules.

function describe(items: ErrorItem[]): string {
  return items
    .map(({ source, errors }) => (source === null || source === 'non_field_errors' ? errors.join(' ') : `${source}: ${errors.join(' ')}`))
    .join('; ');
}

/**
 * Validates one line: `customer_user_id` and/or `profile_id` (as the profile headers are checked),
 * `integration_identifiers` (as the body of "set integration identifiers"), the profile
 * attributes (as the body of create profile), `installations`, and the revenue half
 * (`transactions`, `access_grants`, `refund_saver`): the same schemas and checks as the API.
 * Every problem of the line is reported at once.
 */
export function toImportItem(value: unknown): { item: ImportItem } | { reason: string } {
  if (!isPlainObject(value)) return { reason: 'Expected a JSON object.' };
  const problems: ErrorItem[] = [];
  const add = (source: string | null, message: string) => problems.push({ source, errors: [message] });
  const collect = (error: unknown, generalSource?: string) => {
    if (!(error instanceof ApiError)) throw error;
    for (const item of error.items) {
      problems.push(generalSource !== undefined && item.source === 'non_field_errors' ? { ...item, source: generalSource } : item);
    }
  };
  const given = (name: string) => Object.hasOwn(value, name) && value[name] !== null && value[name] !== undefined;

  const address: ProfileAddress = {};
  if (!given('customer_user_id') && !given('profile_id')) add(null, 'Provide customer_user_id, profile_id, or both.');
  if (given('customer_user_id')) {
    const raw = value.customer_user_id;
    const text = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : undefined;
    if (text === undefined) add('customer_user_id', 'Must be a string.');
    else if (text === '') add('customer_user_id', 'This field may not be blank.');
    else if (charLength(text) > MAX_CUSTOMER_USER_ID_LENGTH) {
      add('customer_user_id', `Ensure this field has no more than ${MAX_CUSTOMER_USER_ID_LENGTH} characters.`);
    } else address.customerUserId = text;
  }
  if (given('profile_id')) {
    const raw = value.profile_id;
    if (typeof raw !== 'string' || !isUuid(raw.trim())) add('profile_id', 'Must be a valid UUID.');
    else address.profileId = raw.trim().toLowerCase();
  }

  let identifiers: IdentifierChanges = new Map();
  if (given('integration_identifiers')) {
    const raw = value.integration_identifiers;
    // An object naming none of the 16 keys sets nothing (unknown keys are ignored, as by the API).
    if (!isPlainObject(raw) || IDENTIFIER_KEYS.some((key) => Object.hasOwn(raw, key))) {
      try {
        identifiers = parseIdentifiersBody(raw);
      } catch (error) {
        collect(error, 'integration_identifiers');
      }
    }
  }

  let patch: ProfilePatch = { attributes: {} };
  try {
    patch = parseProfileBody(value);
  } catch (error) {
    collect(error);
  }
  const installations = given('installations') ? readInstallations(value.installations, problems) : NO_INSTALLATIONS;
  // Most lines have no revenue: three property checks, nothing allocated.
  const revenue = given('transactions') || given('access_grants') || given('refund_saver') ? readRevenue(value, problems) : null;
  if (problems.length > 0) return { reason: describe(problems) };
  return { item: { address, patch, identifiers, installations, revenue } };
}

/** Shared by every line without devices, so that the common line allocates nothing for them. */
const NO_INSTALLATIONS: readonly InstallationMeta[] = Object.freeze([]);

/**
 * `installations`, the devices as `crosswalk export` writes them: a list of installation_meta
 * objects, each checked as the API checks installation_meta (problems named `installations.<i>`).
 */
function readInstallations(raw: unknown, problems: ErrorItem[]): InstallationMeta[] {
  if (!Array.isArray(raw)) {
    problems.push({ source: 'installations', errors: ['Must be a list of installation_meta objects.'] });
    return [];
  }
  const installations: InstallationMeta[] = [];
  raw.forEach((meta: unknown, i) => {
    const source = `installations.${i}`;
    if (!isPlainObject(meta)) {
      problems.push({ source, errors: ['Must be an object.'] });
      return;
    }
    try {
      installations.push(parseProfileBody({ installation_meta: meta }).installation!);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      for (const item of error.items) problems.push({ ...item, source: item.source?.replace(/^installation_meta/, source) ?? source });
    }
  });
  return installations;
}

/** The problems of one part of the line, their sources put under `prefix` (`transactions.0`). */
function collectUnder(prefix: string, error: unknown, problems: ErrorItem[]): void {
  if (!(error instanceof ApiError)) throw error;
  for (const { source, errors } of error.items) {
    problems.push({ source: source === null || source === 'non_field_errors' ? prefix : `${prefix}.${source}`, errors });
  }
}

/**
 * A list of the line (`transactions`, `access_grants`): each item read by `read`, its problems
 * named `<name>.<index>...`; at its index, the item read or undefined when it has problems. Null
 * or left out: an empty list.
 */
function readList<T>(
  line: Record<string, unknown>,
  name: string,
  what: string,
  problems: ErrorItem[],
  read: (raw: unknown, at: string) => T | undefined,
): (T | undefined)[] {
  const raw = line[name];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push({ source: name, errors: [`Must be a list of ${what}.`] });
    return [];
  }
  return raw.map((value: unknown, i) => {
    const at = `${name}.${i}`;
    try {
      return read(value, at);
    } catch (error) {
      collectUnder(at, error, problems);
      return undefined;
    }
  });
}

/** Reports, on `field` of each later one, the items of a list whose `keyOf` an earlier item has already. */
function refuseRepeats<T>(
  name: string,
  items: readonly (T | undefined)[],
  field: string,
  keyOf: (item: T) => string | undefined,
  what: string,
  problems: ErrorItem[],
): void {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const key = item === undefined ? undefined : keyOf(item);
    if (key === undefined) return;
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, i);
    else problems.push({ source: `${name}.${i}.${field}`, errors: [`${what} is on the line already (${name}.${earlier}).`] });
  });
}

/**
 * The revenue half of a line, as `crosswalk export` writes it: `transactions` (each a set-transaction
 * body, checked by its schema and the vendor's rules, plus the stored fields the export adds),
 * `access_grants` (each a grant body plus `access_ends_at` and `granted_at`) and `refund_saver`
 * (the settings body). A transaction or an access level named twice on the line is refused.
 */
function readRevenue(line: Record<string, unknown>, problems: ErrorItem[]): RevenueRestore {
  const transactions = readList(line, 'transactions', 'transactions', problems, (raw, at) => readTransaction(raw, at, problems));
  const grants = readList<RestoredGrant>(line, 'access_grants', 'access grants', problems, parseImportedGrant);
  refuseRepeats('transactions', transactions, 'store_transaction_id', (t) => JSON.stringify([t.input.store, t.input.storeTransactionId]), 'This transaction', problems);
  refuseRepeats('transactions', transactions, 'purchase_id', (t) => t.stored.purchaseId, 'This purchase_id', problems);
  refuseRepeats('access_grants', grants, 'access_level_id', (g) => g.accessLevelId, 'A grant of this access level', problems);
  let refundSaver: RevenueRestore['refundSaver'] = null;
  if (line.refund_saver !== undefined && line.refund_saver !== null) {
    try {
      refundSaver = parseImportedRefundSaver(line.refund_saver);
    } catch (error) {
      collectUnder('refund_saver', error, problems);
    }
  }
  // With a problem anywhere, the line is rejected and the lists are not used.
  const read = <T>(items: (T | undefined)[]) => items.filter((item): item is T => item !== undefined);
  return { transactions: read(transactions), grants: read(grants), refundSaver };
}

/** One transaction of the line: the set-transaction body and its rules, and the stored fields; undefined when it has problems. */
function readTransaction(raw: unknown, at: string, problems: ErrorItem[]): RestoredTransaction | undefined {
  let input: RestoredTransaction['input'] | undefined;
  try {
    input = parseTransaction(raw);
  } catch (error) {
    collectUnder(at, error, problems);
  }
  const problem = input && transactionProblem(input);
  if (problem) problems.push({ source: `${at}.${problem.source}`, errors: [problem.message] });
  // A value that is not an object is reported once, by the transaction's schema.
  if (!isPlainObject(raw)) return undefined;
  const stored = parseStoredTransaction(raw);
  return input && !problem ? { input, stored } : undefined;
}

/** Why the store refused an item, worded as the API words it. */
function refusal(outcome: Extract<ImportOutcome, { ok: false }>): string {
  if (outcome.error instanceof RevenueRestoreError) return `${outcome.error.source}: ${outcome.error.message}`;
  if (outcome.error instanceof CustomAttributeLimitError) {
    return `custom_attributes: A profile can have at most ${outcome.error.limit} custom attributes.`;
  }
  if (outcome.error instanceof CustomerUserIdTakenError) return 'customer_user_id: This customer user id already belongs to another profile.';
  // The app's identifier rules: a conflict under `reject`, or a placeholder under `reject`.
  return domainErrorToApiError(outcome.error)!.items.map((item) => `integration_identifiers.${item.source}: ${item.errors.join(' ')}`).join('; ');
}

// ---------------------------------------------------------------------------------------------
// The command.

export interface ImportPlan {
  /** The file to read, or '-' for standard input. */
  file: string;
  format: ImportFormat;
  batchSize: number;
  rejectsPath: string;
  /** The file's size in bytes, when it is a file. */
  size?: number;
}

/** Checks the arguments and the file before anything is opened; throws DataCommandError. */
export function planImport(file: string, options: { format?: string; batch: number; rejects?: string }): ImportPlan {
  const stdin = file === '-';
  let format: ImportFormat;
  if (options.format !== undefined) format = options.format as ImportFormat;
  else if (stdin) format = 'ndjson';
  else {
    const found = EXTENSIONS[path.extname(file).toLowerCase()];
    if (!found) {
      throw new DataCommandError(`cannot tell the format of "${file}" from its extension (.ndjson, .jsonl, .json or .csv): use --format ndjson or --format csv`);
    }
    format = found;
  }
  let size: number | undefined;
  if (!stdin) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new DataCommandError(code === 'ENOENT' ? `cannot read "${file}": there is no such file` : `cannot read "${file}": ${(error as Error).message}`);
    }
    if (!stat.isFile()) throw new DataCommandError(`cannot read "${file}": it is not a file`);
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch {
      throw new DataCommandError(`cannot read "${file}": permission denied`);
    }
    size = stat.size;
  }
  const rejectsPath = options.rejects ?? (stdin ? 'stdin.rejects.ndjson' : `${file}.rejects.ndjson`);
  if (!stdin && path.resolve(rejectsPath) === path.resolve(file)) {
    throw new DataCommandError('--rejects must name another file than the one imported');
  }
  return { file, format, batchSize: options.batch, rejectsPath, ...(size === undefined ? {} : { size }) };
}

/** The rejects file: created when the import starts, removed at the end if nothing was rejected. */
class RejectsFile {
  private readonly stream: fs.WriteStream;
  private failure: Error | undefined;

  constructor(readonly filePath: string) {
    this.stream = fs.createWriteStream(filePath);
    this.stream.on('error', (error) => (this.failure ??= error));
  }

  async open(): Promise<void> {
    try {
      await once(this.stream, 'open');
    } catch (error) {
      throw new DataCommandError(`cannot write the rejects file "${this.filePath}": ${(error as Error).message}`);
    }
  }

  async write(record: { line: number; reason: string; input: unknown }): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(`${JSON.stringify(record)}\n`)) await once(this.stream, 'drain');
  }

  async close(keep: boolean): Promise<void> {
    this.stream.end();
    await finished(this.stream);
    if (!keep) fs.rmSync(this.filePath, { force: true });
  }
}

export interface ImportSummary {
  read: number;
  imported: number;
  rejected: number;
  seconds: number;
  rejectsPath: string;
  /** `lines` or `records`. */
  unit: string;
}

interface Pending {
  line: number;
  input: unknown;
  item?: ImportItem;
  reason?: string;
}

/** What the file is counted in: lines of NDJSON, records of CSV (a record may span lines). */
const unitOf = (format: ImportFormat) => (format === 'csv' ? 'records' : 'lines');

/**
 * Streams the file through validation into the store, `batchSize` lines per transaction. Memory
 * stays flat: at most one batch of lines is held at a time, and reading waits for the writes.
 */

export async function runImport(
  importer: ImportExportService,
  appId: string,
  plan: ImportPlan,
  progress = new Progress('importing', unitOf(plan.format)),
): Promise<ImportSummary> {
  const input = plan.file === '-' ? process.stdin : fs.createReadStream(plan.file, { highWaterMark: 256 * 1024 });
  const bytesRead = () => (input instanceof fs.ReadStream ? input.bytesRead : 0);
  const records = plan.format === 'csv' ? csvSourceRecords(input) : ndjsonRecords(input);
  const rejects = new RejectsFile(plan.rejectsPath);
  await rejects.open();

  let read = 0;
  let imported = 0;
  let rejected = 0;
  let pending: Pending[] = [];
  let batchStart = 0;

  const flush = async () => {
    const valid = pending.filter((entry) => entry.item !== undefined);
    const outcomes = valid.length > 0 ? await importer.importBatch(appId, valid.map((entry) => entry.item!)) : [];
    let next = 0;
    // Rejects are written in line order, validation and storage refusals alike.
    for (const entry of pending) {
      let reason = entry.reason;
      if (entry.item !== undefined) {
        const outcome = outcomes[next++]!;
        if (outcome.ok) {
          imported++;
          continue;
        }
        reason = refusal(outcome);
      }
      rejected++;
      await rejects.write({ line: entry.line, reason: reason!, input: entry.input });
    }
    pending = [];
  };

  try {
    for await (const record of records) {
      read++;
      if (pending.length === 0) batchStart = record.line;
      if (record.reason !== undefined) pending.push({ line: record.line, input: record.input, reason: record.reason });
      else {
        const checked = toImportItem(record.value);
        pending.push('item' in checked ? { line: record.line, input: record.input, item: checked.item } : { line: record.line, input: record.input, reason: checked.reason });
      }
      if (pending.length >= plan.batchSize) await flush();
      progress.update(read, bytesRead(), plan.size);
    }
    if (pending.length > 0) await flush();
  } catch (error) {
    progress.clear();
    await rejects.close(rejected > 0).catch(() => {});
    if (error instanceof DataCommandError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new DataCommandError(
      `import stopped in the batch starting at line ${batchStart}: ${message} ` +
        `(${formatCount(imported)} ${unitOf(plan.format)} before it were imported; importing the file again is safe)`,
    );
  } finally {
    if (input instanceof fs.ReadStream) input.destroy();
  }
  progress.clear();
  await rejects.close(rejected > 0);
  return { read, imported, rejected, seconds: progress.elapsed(), rejectsPath: plan.rejectsPath, unit: unitOf(plan.format) };
}

export function formatImportSummary(summary: ImportSummary): string {
  const { read, imported, rejected, seconds, unit } = summary;
  const rate = seconds > 0 ? read / seconds : 0;
  let text = `read ${formatCount(read)} ${unit}: ${formatCount(imported)} imported, ${formatCount(rejected)} rejected, in ${seconds.toFixed(2)} s (${formatCount(rate)} ${unit}/s)\n`;
  if (rejected > 0) {
    const what = rejected === 1 ? `${unit.slice(0, -1)} was` : `${unit} were`;
    text += `${formatCount(rejected)} ${what} rejected and written to ${summary.rejectsPath} (one JSON object per line: line, reason, input); the others were imported\n`;
  }
  return text;
}

function parseBatch(value: string): number {
  const lines = Number(value);
  if (!/^\d+$/.test(value) || lines < 1 || lines > 100_000) {
    throw new DataCommandError(`--batch must be a number from 1 to 100000, got "${value}"`);
  }
  return lines;
}

export function registerImportCommand(program: Command, context: DataCommandContext): void {
  program
    .command('import <file>')
    .description('import profiles, identifiers, attributes, devices and purchases from an NDJSON or CSV file ("-" reads standard input)')
    .option('--app <app>', 'app id or name (may be left out when there is only one app)')
    .addOption(new Option('--format <format>', 'input format (default: from the extension: .ndjson/.jsonl/.json or .csv)').choices(IMPORT_FORMATS))
    .addOption(new Option('--batch <lines>', 'lines per transaction').argParser(parseBatch).default(1000))
    .option('--rejects <file>', 'where rejected lines are written (default: <file>.rejects.ndjson, or stdin.rejects.ndjson)')
    .addHelpText(
      'after',
      '\nInput: one profile per line (NDJSON) or per record (CSV with a header row), e.g.\n' +
        '  {"customer_user_id": "u-1", "integration_identifiers": {"adjust_device_id": "abc"},\n' +
        '   "first_name": "Ann", "custom_attributes": [{"key": "plan", "value": "pro"}]}\n' +
        'A line needs customer_user_id, profile_id or both, and is checked as the API checks a profile\n' +
        'create and a set-identifiers request; a line that only names a profile makes sure it exists.\n' +
        'Devices: "installations", a list of installation_meta objects, each upserted by device_id.\n' +
        'Purchases (NDJSON only): "transactions", each a set-transaction body checked as the API checks\n' +
        'one; the fields an export adds (purchase_id, price_usd, access_level_id, is_consumable,\n' +
        'access_ends_at, created_at, updated_at) are kept as given, each left out is decided as the\n' +
        'operation decides it. "access_grants": grant bodies plus access_ends_at and granted_at.\n' +
        '"refund_saver": the settings body. No transaction.recorded or access_level.updated event is\n' +
        'recorded: an import restores state, it does not send old purchases to the tools again.\n' +
        'CSV columns: customer_user_id, profile_id, the 16 identifier keys and the profile attributes\n' +
        '(first_name ... analytics_disabled); an empty cell is not given. "crosswalk export" writes this shape.\n' +
        '\nEach batch is one transaction, and importing a file again gives the same state. Rejected lines\n' +
        'are written to the rejects file as {"line", "reason", "input"}; they do not stop the import (exit 0).\n' +
        'Progress is shown on standard error when it is a terminal; the summary goes to standard output.\n' +
        '\nExamples:\n  crosswalk import users.ndjson --app my-ios-app\n' +
        '  crosswalk import users.csv --batch 5000 --rejects /tmp/users.rejects.ndjson\n' +
        '  crosswalk --database-url sqlite:old.db export | crosswalk import - --app my-ios-app',
    )
    .action(async (file: string, options: { app?: string; format?: string; batch: number; rejects?: string }) => {
      // The file and arguments are checked before the database is opened.
      const plan = planImport(file, options);
      await context.withServices(async (services) => {
        const app = await context.resolveApp(services, options.app);
        process.stdout.write(formatImportSummary(await runImport(services.importExport, app.id, plan)));
      });
    });
}
