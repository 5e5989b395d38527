import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseCsv } from '../src/cli/import.js';
import { Progress, formatDuration } from '../src/cli/progress.js';
import { generateApiKey } from '../src/domain/api-keys.js';
import { IDENTIFIER_KEYS } from '../src/domain/identifiers.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import { createTestDatabase, DATABASES, onDatabase, queryRows, type TestDatabase } from './helpers.js';
import { runCliProcess } from './process-helpers.js';

/** import, export and stats, through the real CLI process, on every database. */

const ROOT = path.resolve(import.meta.dirname, '..');
const urlOf = (database: TestDatabase) =>
  database.config.kind === 'sqlite' ? `sqlite:${database.config.file}` : database.config.url;

const ndjson = (values: unknown[]) => values.map((value) => `${JSON.stringify(value)}\n`).join('');
const readLines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const jsonError = (text: string) => {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('valid JSON');
};
/** By customer user id (else profile id), in code point order. */
const byCustomer = (a: Record<string, unknown>, b: Record<string, unknown>) => {
  const [x, y] = [String(a.customer_user_id ?? a.profile_id), String(b.customer_user_id ?? b.profile_id)];
  return x < y ? -1 : x > y ? 1 : 0;
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUMMARY = /^read ([\d,]+) (lines|records): ([\d,]+) imported, ([\d,]+) rejected, in \d+\.\d\d s \([\d,]+ \2\/s\)$/m;

function summaryOf(stdout: string) {
  const match = SUMMARY.exec(stdout);
  assert.ok(match, `no summary line in: ${stdout}`);
  const count = (text: string) => Number(text.replaceAll(',', ''));
  return { read: count(match[1]!), imported: count(match[3]!), rejected: count(match[4]!) };
}

/** Runs the CLI with standard input read from a file. */
async function runCliWithInput(args: string[], inputFile: string) {
  const input = fs.openSync(inputFile, 'r');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      stdio: [input, 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const [code] = await once(child, 'exit');
    return { code: code as number | null, stdout, stderr };
  } finally {
    fs.closeSync(input);
  }
}

const P1 = '11111111-1111-4111-8111-111111111111';
const P2 = '22222222-2222-4222-8222-222222222222';
const P3 = '33333333-3333-4333-8333-333333333333';

/** NDJSON with good and bad lines, and the exact rejects they must produce. */
const NDJSON_LINES = [
  '{"customer_user_id":"u1","integration_identifiers":{"adjust_device_id":" adj-1 ","appsflyer_id":12345},"first_name":"Ann","custom_attributes":[{"key":"plan","value":"pro"},{"key":"level","value":3}]}',
  `{"profile_id":"${P1.toUpperCase()}"}`,
  'not json',
  '',
  '{"customer_user_id":"u2","integration_identifiers":{"adjust_device_id":""},"email":"nope"}',
  `{"customer_user_id":"u1","profile_id":"${P2}"}`,
  '[1]',
  '{"first_name":"Nobody"}',
  `{"customer_user_id":"u3","profile_id":"${P1}","store":"app_store","analytics_disabled":true,"att_status":3}`,
  '{"customer_user_id":"u4","integration_identifiers":{"branch_id":"b-4"},"custom_attributes":[{"key":"bad key!","value":1}]}',
  '{"customer_user_id":"u5","integration_identifiers":{"not_a_key":"x"}}',
  '{"customer_user_id":"  u6  ","integration_identifiers":{"mixpanel_user_id":"m6"}}',
  // Valid, but over the custom attribute limit: refused by the store, in a batch with line 12 that is kept.
  JSON.stringify({ customer_user_id: 'u7', custom_attributes: Array.from({ length: 31 }, (_, i) => ({ key: `k${i}`, value: i })) }),
];

const NDJSON_REJECTS = [
  { line: 3, reason: `Not valid JSON: ${jsonError('not json')}`, input: 'not json' },
  {
    line: 5,
    reason: 'adjust_device_id: This field may not be blank; use null to clear it.; email: Enter a valid email address.',
    input: { customer_user_id: 'u2', integration_identifiers: { adjust_device_id: '' }, email: 'nope' },
  },
  {
    line: 6,
    reason: 'customer_user_id: This customer user id already belongs to another profile.',
    input: { customer_user_id: 'u1', profile_id: P2 },
  },
  { line: 7, reason: 'Expected a JSON object.', input: [1] },
  { line: 8, reason: 'Provide customer_user_id, profile_id, or both.', input: { first_name: 'Nobody' } },
  {
    line: 10,
    reason: 'custom_attributes.0.key: Must be 1 to 30 characters: letters, digits, ".", "_" or "-".',
    input: { customer_user_id: 'u4', integration_identifiers: { branch_id: 'b-4' }, custom_attributes: [{ key: 'bad key!', value: 1 }] },
  },
  {
    line: 13,
    reason: 'custom_attributes: A profile can have at most 30 custom attributes.',
    input: JSON.parse(NDJSON_LINES[12]!),
  },
];

/** What the NDJSON import leaves, sorted by customer user id; profile ids made at random are checked apart. */
const NDJSON_EXPORT = [
  {
    customer_user_id: 'u1',
    first_name: 'Ann',
    custom_attributes: [{ key: 'level', value: 3 }, { key: 'plan', value: 'pro' }],
    integration_identifiers: { adjust_device_id: 'adj-1', appsflyer_id: '12345' },
  },
  { profile_id: P1, customer_user_id: 'u3', store: 'app_store', att_status: 3, analytics_disabled: true },
  { customer_user_id: 'u5' },
  { customer_user_id: 'u6', integration_identifiers: { mixpanel_user_id: 'm6' } },
];

const CSV_HEADER = 'customer_user_id,profile_id,adjust_device_id,first_name,last_name,att_status,analytics_disabled,email';
/** Quoted commas, doubled quotes, a line break inside quotes, CRLF and LF endings, a blank line. */
const CSV_TEXT =
  `${CSV_HEADER}\r\n` +
  'c1,,"adj,1","Smith, ""Jr""","multi\nline",1,true,c1@example.com\r\n' + // lines 2-3
  'c2,,adj-2,,,,FALSE,\n' + // line 4
  'c3,,,,,9,,\n' + // line 5: att_status out of range
  'c4,,x\n' + // line 6: too few fields
  `,${P3},"",,,,,\n` + // line 7: names a profile only
  'c6,,,"bad"x,,,,\n' + // line 8: text after a closing quote
  '\n' + // line 9: blank
  '"c""7",,,,,,,'; // line 10, no final line break

const CSV_REJECTS = [
  {
    line: 5,
    reason: 'att_status: Must be one of 0, 1, 2, 3 or null.',
    input: { customer_user_id: 'c3', profile_id: '', adjust_device_id: '', first_name: '', last_name: '', att_status: '9', analytics_disabled: '', email: '' },
  },
  { line: 6, reason: 'Expected 8 fields, as in the header; found 3.', input: ['c4', '', 'x'] },
  {
    line: 8,
    reason: 'A closing quote must be followed by a comma or the end of the line.',
    input: { customer_user_id: 'c6', profile_id: '', adjust_device_id: '', first_name: 'badx', last_name: '', att_status: '', analytics_disabled: '', email: '' },
  },
];

const CSV_EXPORT = [
  { profile_id: P3 },
  { customer_user_id: 'c"7' },
  {
    customer_user_id: 'c1',
    first_name: 'Smith, "Jr"',
    last_name: 'multi\nline',
    email: 'c1@example.com',
    att_status: 1,
    analytics_disabled: true,
    integration_identifiers: { adjust_device_id: 'adj,1' },
  },
  { customer_user_id: 'c2', analytics_disabled: false, integration_identifiers: { adjust_device_id: 'adj-2' } },
];

/** Drops random profile ids (checking they are UUIDs) so that exports can be compared with expectations. */
function withoutRandomIds(lines: Record<string, unknown>[], keep: string[]) {
  return lines
    .map((line) => {
      assert.match(String(line.profile_id), UUID);
      if (keep.includes(String(line.profile_id))) return line;
      const { profile_id: _, ...rest } = line;
      return rest;
    })
    .sort(byCustomer);
}

for (const kind of DATABASES) {
  describe(`crosswalk import, export and stats (${kind})`, onDatabase(kind), () => {
    let database: TestDatabase;
    let dir: string;
    let revokedKeyId: string;
    const cli = (...args: string[]) => runCliProcess(['--database-url', urlOf(database), ...args]);
    const file = (name: string) => path.join(dir, name);

    before(async () => {
      database = await createTestDatabase(kind);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-data-'));
      const store = KyselyStore.open(database.config);
      try {
        await store.migrate();
        const app = await store.createApp('ndjson-app');
        await store.addApiKey(app.id, generateApiKey(), 'kept');
        revokedKeyId = (await store.addApiKey(app.id, generateApiKey(), 'revoked')).key.id;
        await store.revokeApiKey(revokedKeyId);
        await store.createApp('csv-app');
        await store.createApp('bulk-app');
      } finally {
        await store.close();
      }
      fs.writeFileSync(file('people.ndjson'), `${NDJSON_LINES.join('\n')}\n`);
      fs.writeFileSync(file('people.csv'), CSV_TEXT);
    });
    after(async () => {
      await database.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('imports NDJSON in batches; bad lines go to the rejects file, exactly, and the exit code is 0', async () => {
      const result = await cli('import', file('people.ndjson'), '--app', 'ndjson-app', '--batch', '2');
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(summaryOf(result.stdout), { read: 12, imported: 5, rejected: 7 });
      assert.ok(result.stdout.includes(`7 lines were rejected and written to ${file('people.ndjson')}.rejects.ndjson`), result.stdout);
      assert.deepEqual(readLines(`${file('people.ndjson')}.rejects.ndjson`), NDJSON_REJECTS);

      const exported = await cli('export', '--app', 'ndjson-app');
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stderr, /^exported 4 profiles to standard output in \d+\.\d\d s/);
      const lines = exported.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(withoutRandomIds(lines, [P1]), NDJSON_EXPORT);
      // Keys in a fixed order: the export is byte-for-byte reproducible.
      assert.deepEqual(Object.keys(lines.find((line) => line.customer_user_id === 'u1')!), [
        'profile_id', 'customer_user_id', 'first_name', 'custom_attributes', 'integration_identifiers',
      ]);
    });

    test('imports CSV with quoted commas, quotes and line breaks; malformed records are rejected', async () => {
      const result = await cli('import', file('people.csv'), '--app', 'csv-app');
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^read 7 records: /m);
      assert.match(result.stdout, /^3 records were rejected and written to .*people\.csv\.rejects\.ndjson/m);
      assert.deepEqual(summaryOf(result.stdout), { read: 7, imported: 4, rejected: 3 });
      assert.deepEqual(readLines(`${file('people.csv')}.rejects.ndjson`), CSV_REJECTS);
      const exported = await cli('export', '--app', 'csv-app', '--output', file('csv-export.ndjson'));
      assert.equal(exported.code, 0, exported.stderr);
      assert.equal(exported.stdout, '');
      assert.match(exported.stderr, new RegExp(`^exported 4 profiles to ${file('csv-export.ndjson').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} in`));
      assert.deepEqual(withoutRandomIds(readLines(file('csv-export.ndjson')), [P3]), CSV_EXPORT);
    });

    test('importing the same files again changes nothing', async () => {
      const before = await Promise.all([cli('export', '--app', 'ndjson-app'), cli('export', '--app', 'csv-app')]);
      const stamps = await queryRows(database, 'select profile_id, key, updated_at from integration_identifiers order by profile_id, key');
      const again = await cli('import', file('people.ndjson'), '--app', 'ndjson-app');
      assert.deepEqual(summaryOf(again.stdout), { read: 12, imported: 5, rejected: 7 });
      assert.deepEqual(readLines(`${file('people.ndjson')}.rejects.ndjson`), NDJSON_REJECTS);
      const csvAgain = await cli('import', file('people.csv'), '--app', 'csv-app', '--format', 'csv', '--batch', '1');
      assert.deepEqual(summaryOf(csvAgain.stdout), { read: 7, imported: 4, rejected: 3 });
      const afterwards = await Promise.all([cli('export', '--app', 'ndjson-app'), cli('export', '--app', 'csv-app')]);
      assert.equal(afterwards[0].stdout, before[0].stdout);
      assert.equal(afterwards[1].stdout, before[1].stdout);
      // Unchanged identifier values are not even rewritten.
      assert.deepEqual(await queryRows(database, 'select profile_id, key, updated_at from integration_identifiers order by profile_id, key'), stamps);
    });

    test('export, import into a fresh database (from standard input), export again: identical, across pages', async () => {
      // 2,500 profiles: the export reads them in three pages of 1,000.
      const lines = Array.from({ length: 2500 }, (_, i) => ({
        customer_user_id: `bulk-${i}`,
        ...(i % 3 === 0 ? { profile_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` } : {}),
        ...(i % 2 === 0 ? { integration_identifiers: { [IDENTIFIER_KEYS[i % 16]!]: `v-${i}`, branch_id: i + 1 } } : {}),
        ...(i % 5 === 0 ? { email: `p${i}@example.com`, custom_attributes: [{ key: 'n', value: i }, { key: 's', value: `x${i}` }] } : {}),
      }));
      fs.writeFileSync(file('bulk.jsonl'), ndjson(lines));
      const imported = await cli('import', file('bulk.jsonl'), '--app', 'bulk-app');
      assert.deepEqual(summaryOf(imported.stdout), { read: 2500, imported: 2500, rejected: 0 });
      assert.ok(!imported.stdout.includes('rejected and written'));
      assert.ok(!fs.existsSync(`${file('bulk.jsonl')}.rejects.ndjson`), 'no rejects file when nothing was rejected');

      const first = await cli('export', '--app', 'bulk-app', '--output', file('first.ndjson'));
      assert.equal(first.code, 0, first.stderr);
      const exported = readLines(file('first.ndjson'));
      assert.equal(exported.length, 2500);
      assert.equal(new Set(exported.map((line) => line.profile_id)).size, 2500);

      const fresh = await createTestDatabase(kind);
      try {
        const store = KyselyStore.open(fresh.config);
        await store.migrate();
        await store.createApp('copy');
        await store.close();
        const copied = await runCliWithInput(['--database-url', urlOf(fresh), 'import', '-', '--rejects', file('stdin.rejects.ndjson')], file('first.ndjson'));
        assert.equal(copied.code, 0, copied.stderr);
        assert.deepEqual(summaryOf(copied.stdout), { read: 2500, imported: 2500, rejected: 0 });
        const second = await runCliProcess(['--database-url', urlOf(fresh), 'export']);
        assert.equal(second.code, 0, second.stderr);
        assert.equal(second.stdout, fs.readFileSync(file('first.ndjson'), 'utf8'));
      } finally {
        await fresh.drop();
      }
    });

    test('stats counts exactly and says how the database was measured', async () => {
      const result = await cli('stats', '--app', 'ndjson-app', '--json');
      assert.equal(result.code, 0, result.stderr);
      const stats = JSON.parse(result.stdout);
      const identifiers = Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, 0]));
      Object.assign(identifiers, { adjust_device_id: 1, appsflyer_id: 1, mixpanel_user_id: 1 });
      assert.equal(stats.app.name, 'ndjson-app');
      assert.equal(stats.profiles, 4);
      assert.deepEqual(stats.identifiers, identifiers);
      assert.deepEqual(Object.keys(stats.identifiers), [...IDENTIFIER_KEYS]);
      assert.deepEqual(stats.apiKeys, { active: 1, revoked: 1 });
      assert.equal(stats.database.dialect, kind);
      assert.ok(stats.database.bytes > 0);
      if (kind === 'sqlite') {
        const [pages] = await queryRows(database, 'select page_count * page_size as bytes from pragma_page_count(), pragma_page_size()');
        assert.equal(stats.database.mainFileBytes, pages!.bytes);
        assert.equal(stats.database.bytes, stats.database.mainFileBytes + stats.database.walBytes);
        assert.match(stats.database.method, /page_count \* page_size .* WAL/);
      } else {
        const [row] = await queryRows(database, 'select current_schema() as schema');
        assert.equal(stats.database.schema, row!.schema);
        assert.match(stats.database.method, /pg_total_relation_size/);
      }

      const bulk = JSON.parse((await cli('stats', '--app', 'bulk-app', '--json')).stdout);
      assert.equal(bulk.profiles, 2500);
      // Even lines set one key (i % 16, always even) and branch_id; i % 16 === 7 (branch_id) never is even.
      const expected = Object.fromEntries(IDENTIFIER_KEYS.map((key, k) => [key, k % 2 === 0 ? Array.from({ length: 2500 }, (_, i) => i).filter((i) => i % 2 === 0 && i % 16 === k).length : 0]));
      expected.branch_id = 1250;
      assert.deepEqual(bulk.identifiers, expected);
      assert.deepEqual(bulk.apiKeys, { active: 0, revoked: 0 });

      const table = await cli('stats', '--app', 'ndjson-app');
      assert.match(table.stdout, /^profiles +4$/m);
      assert.match(table.stdout, /^api keys +1 active, 1 revoked$/m);
      assert.match(table.stdout, /^ +tenjin_analytics_installation_id +0$/m);
      assert.match(table.stdout, /^database +[\d.]+ (B|KiB|MiB|GiB) \([\d,]+ bytes\)/m);
    });

    test('bad arguments and bad input get one clear line and exit code 1', async () => {
      fs.writeFileSync(file('people.txt'), '{}\n');
      fs.writeFileSync(file('odd.csv'), 'customer_user_id,favourite_colour\nu1,blue\n');
      fs.writeFileSync(file('nobody.csv'), 'first_name\nAnn\n');
      const cases: [string[], RegExp | string][] = [
        [['import', file('missing.ndjson'), '--app', 'ndjson-app'], `crosswalk: cannot read "${file('missing.ndjson')}": there is no such file\n`],
        [['import', dir, '--app', 'ndjson-app', '--format', 'ndjson'], `crosswalk: cannot read "${dir}": it is not a file\n`],
        [['import', file('people.txt'), '--app', 'ndjson-app'], /^crosswalk: cannot tell the format of ".*people\.txt" from its extension .*use --format ndjson or --format csv\n$/],
        [['import', file('people.ndjson'), '--format', 'xml'], /argument 'xml' is invalid\. Allowed choices are ndjson, csv\./],
        [['import', file('people.ndjson'), '--batch', '0'], 'crosswalk: --batch must be a number from 1 to 100000, got "0"\n'],
        [['import', file('people.ndjson'), '--batch', 'many'], 'crosswalk: --batch must be a number from 1 to 100000, got "many"\n'],
        [['import', file('people.ndjson')], 'crosswalk: there are several apps: name one with --app <id or name>\n'],
        [['import', file('people.ndjson'), '--rejects', file('people.ndjson')], 'crosswalk: --rejects must name another file than the one imported\n'],
        [['import', file('people.ndjson'), '--app', 'ndjson-app', '--rejects', path.join(dir, 'no-such-dir', 'r.ndjson')], /^crosswalk: cannot write the rejects file ".*r\.ndjson": ENOENT/],
        [['import', file('odd.csv'), '--app', 'csv-app'], /^crosswalk: the CSV header names an unknown column "favourite_colour"; the columns are: customer_user_id, profile_id, adjust_device_id/],
        [['import', file('nobody.csv'), '--app', 'csv-app'], 'crosswalk: the CSV header needs a customer_user_id or a profile_id column (or both)\n'],
        [['import'], /missing required argument 'file'/],
        [['export', '--app', 'nope'], 'crosswalk: no app has the id or name "nope" (see "crosswalk apps list")\n'],
        [['export', '--app', 'ndjson-app', '--output', path.join(dir, 'no-such-dir', 'out.ndjson')], /^crosswalk: cannot write ".*out\.ndjson": ENOENT/],
        [['stats'], 'crosswalk: there are several apps: name one with --app <id or name>\n'],
        [['stats', '--app', 'nope'], 'crosswalk: no app has the id or name "nope" (see "crosswalk apps list")\n'],
      ];
      // Four at a time: each is a process of its own.
      const results: Awaited<ReturnType<typeof cli>>[] = [];
      for (let i = 0; i < cases.length; i += 4) {
        results.push(...(await Promise.all(cases.slice(i, i + 4).map(([args]) => cli(...args)))));
      }
      results.forEach((result, i) => {
        const [args, expected] = cases[i]!;
        assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
        if (typeof expected === 'string') assert.equal(result.stderr, expected, args.join(' '));
        else assert.match(result.stderr, expected, args.join(' '));
      });
      assert.ok(!fs.existsSync(path.join(dir, 'no-such-dir')));
    });
  });
}

describe('crosswalk import, export and stats: help, streaming and memory', () => {
  test('--help explains each command with examples', async () => {
    const results = await Promise.all(['import', 'export', 'stats'].map((command) => runCliProcess([command, '--help'])));
    results.forEach((result, i) => {
      const command = ['import', 'export', 'stats'][i]!;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^Usage: crosswalk ${command}`, 'm'));
      assert.match(result.stdout, /^Examples:\n {2}crosswalk /m);
    });
  });

  test('the CSV parser gives the same records however the input is cut into chunks', async () => {
    const text = `\uFEFF${CSV_TEXT}\r\nlast,"open\r\n`;
    const collect = async (chunks: string[]) => {
      const records = [];
      for await (const record of parseCsv((async function* () { yield* chunks; })())) records.push(record);
      return records;
    };
    const whole = await collect([text]);
    assert.deepEqual(whole.map((r) => r.line), [1, 2, 4, 5, 6, 7, 8, 10, 11]);
    assert.deepEqual(whole[1], { line: 2, fields: ['c1', '', 'adj,1', 'Smith, "Jr"', 'multi\nline', '1', 'true', 'c1@example.com'] });
    assert.deepEqual(whole[7], { line: 10, fields: ['c"7', '', '', '', '', '', '', ''] });
    assert.deepEqual(whole[8], { line: 11, fields: ['last', 'open\r\n'], error: 'A quoted field is not closed before the end of the file.' });
    assert.deepEqual(await collect([...text]), whole);
    for (const size of [2, 3, 7, 16]) {
      const chunks = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      assert.deepEqual(await collect(chunks), whole, `chunks of ${size}`);
    }
  });

  test('progress: rate, percentage and ETA, redrawn in place on a terminal only', () => {
    let clock = 0;
    const written: string[] = [];
    const stream = { isTTY: true, write: (text: string) => written.push(text) > 0 };
    const progress = new Progress('importing', 'lines', { stream, now: () => clock });
    clock = 2000;
    progress.update(1000, 25, 100);
    clock = 2100;
    progress.update(1100, 26, 100); // within 250 ms of the last redraw: skipped
    progress.clear();
    assert.deepEqual(written, ['\r\x1b[2Kimporting: 1,000 lines, 500 lines/s, 25.0%, ETA 0:06', '\r\x1b[2K']);
    const quiet: string[] = [];
    new Progress('x', 'y', { stream: { write: (text: string) => quiet.push(text) > 0 } }).update(1);
    assert.deepEqual(quiet, []);
    assert.equal(formatDuration(3725), '1:02:05');
  });

  test('a progress line is drawn when standard error is a terminal', { skip: !fs.existsSync('/usr/bin/script') && 'needs script(1)' }, async () => {
    const database = await createTestDatabase('sqlite');
    try {
      const store = KyselyStore.open(database.config);
      await store.migrate();
      await store.createApp('tty');
      await store.close();
      const input = path.join(path.dirname((database.config as { file: string }).file), 'tty.ndjson');
      fs.writeFileSync(input, ndjson([{ customer_user_id: 'a' }, { customer_user_id: 'b' }]));
      const command = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', '--database-url', urlOf(database), 'import', input]
        .map((part) => `'${part}'`)
        .join(' ');
      const result = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /\r\x1b\[2Kimporting: 1 lines, [\d,]+ lines\/s, 100\.0%, ETA 0:00/);
      assert.match(result.stdout, /read 2 lines: 2 imported, 0 rejected/);
    } finally {
      await database.drop();
    }
  });

  // A CLI process run through tsx peaks at about 150 MB doing almost nothing (tsx's loader thread,
  // every module of the server); the import adds SQLite's 32 MB page cache and V8's young
  // generation. Holding the file or its results would add far more than the margin left.
  // Flat means it does not grow with the input: once the runtime has sized its heap (the first
  // third of the run), the last third holds no more than the middle third. Each sample follows a
  // full garbage collection (test/fixtures/rss-sampler.cjs): between collections V8 lets garbage
  // pile up by tens of MB, by more on Node.js 24 than on 20, and sampled that way the comparison
  // measured the moment of a collection rather than what the import holds. Medians, so that one
  // sample does not decide; 24 MB over a third of the lines is about 360 bytes a line. (An
  // absolute figure says more about the Node.js release than about the import.)
  // What is asserted is memory, not time: the limit only has to outlast a loaded 2-core machine on
  // which the other suites' CLI processes compete for the cores.
  test('importing 200,000 lines keeps memory flat (the last third within 24 MB of the middle third)', { timeout: 900_000 }, async (t) => {
    const database = await createTestDatabase('sqlite');
    try {
      const store = KyselyStore.open(database.config);
      await store.migrate();
      await store.createApp('big');
      await store.close();
      const input = path.join(path.dirname((database.config as { file: string }).file), 'big.ndjson');
      const out = fs.createWriteStream(input);
      for (let i = 0; i < 200_000; i++) {
        const line = `{"customer_user_id":"user-${i}","integration_identifiers":{"adjust_device_id":"adj-${i}"}}\n`;
        if (!out.write(line)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      const sampler = path.join(ROOT, 'test', 'fixtures', 'rss-sampler.cjs');
      const command = ['--expose-gc', '--require', sampler, '--import', 'tsx', 'src/cli/main.ts', '--database-url', urlOf(database), 'import', input];
      const child = spawn(process.execPath, command, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk) => (stdout += chunk));
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      const [code] = await once(child, 'exit');
      assert.equal(code, 0, stderr);
      assert.deepEqual(summaryOf(stdout), { read: 200_000, imported: 200_000, rejected: 0 });
      const [row] = await queryRows(database, 'select count(*) as n from integration_identifiers');
      assert.equal(row!.n, 200_000);
      const samples = [...stderr.matchAll(/^rss-sample (\d+)$/gm)].map((match) => Number(match[1]) / 1024 / 1024);
      assert.ok(samples.length >= 20, `${samples.length} samples`);
      const third = Math.floor(samples.length / 3);
      const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const middle = median(samples.slice(third, 2 * third));
      const last = median(samples.slice(2 * third));
      const peak = Math.max(...samples);
      t.diagnostic(`RSS median ${Math.round(middle)} MB in the middle third, ${Math.round(last)} MB in the last, peak ${Math.round(peak)} MB; ${stdout.trim().split('\n')[0]}`);
      assert.ok(last < middle + 24, `the last third's median is ${Math.round(last)} MB, the middle third's ${Math.round(middle)} MB`);
      // And a ceiling far above any release's steady state.
      assert.ok(peak < 450, `peak RSS ${Math.round(peak)} MB`);
    } finally {
      await database.drop();
    }
  });

});
