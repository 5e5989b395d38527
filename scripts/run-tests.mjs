// Runs every test file under test/ with Node's test runner (TypeScript through tsx).
// PostgreSQL suites run only when TEST_DATABASE_URL names a server; otherwise they are registered
// as skipped, and the summary line below says how many ran and how many were skipped. With
// REQUIRE_POSTGRES=true (as .ci/run sets it) a run in which any PostgreSQL suite did not run fails.
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const filter = process.argv.slice(2);
// The server's suites and those of the client package in clients/node.
const files = ['test', path.join('clients', 'node', 'test')]
  .flatMap((dir) =>
    fs
      .readdirSync(path.join(root, dir), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.test.ts'))
      .map((file) => path.join(dir, file)),
  )
  .filter((file) => filter.length === 0 || filter.some((part) => file.includes(part)))
  .sort();

// The layering of src/ first (see .dependency-cruiser.cjs and docs/architecture.md): a cycle or a
// wrong-way import fails the run before any test starts.
if (filter.length === 0) {
  const check = spawnSync(process.execPath, [path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'), 'src', '--config', '.dependency-cruiser.cjs'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (check.status !== 0) {
    console.error('The dependency check failed: an import breaks the layering of src/ (see docs/architecture.md).');
    process.exit(check.status ?? 1);
  }
}

if (!process.env.TEST_DATABASE_URL) {
  console.log(
    'PostgreSQL suites are skipped: TEST_DATABASE_URL is not set.\n' +
      'To run them too: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm test\n',
  );
}

// PostgreSQL schemas made by this run are dropped at the end (see test/helpers.ts).
const run = Math.random().toString(36).slice(2, 10);
const countsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-tests-')), 'postgres-suites.json');
const result = spawnSync(
  process.execPath,
  [
    '--import', 'tsx', '--test', '--test-concurrency=4',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${path.join(root, 'scripts', 'postgres-suites-reporter.mjs')}`, `--test-reporter-destination=${countsFile}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, CROSSWALK_TEST_RUN: run } },
);
let status = result.status ?? 1;
const suites = fs.existsSync(countsFile) ? JSON.parse(fs.readFileSync(countsFile, 'utf8') || '{"ran":0,"skipped":0}') : { ran: 0, skipped: 0 };
fs.rmSync(path.dirname(countsFile), { recursive: true, force: true });
console.log(`PostgreSQL suites: ${suites.ran} ran, ${suites.skipped} skipped${suites.skipped > 0 ? ' (TEST_DATABASE_URL is not set)' : ''}`);
if (!process.env.TEST_DATABASE_URL && suites.ran > 0) {
  console.error(`${suites.ran} PostgreSQL suite(s) ran without TEST_DATABASE_URL: register them with onDatabase(kind) (test/helpers.ts).`);
  status = 1;
}
if (/^(1|true|yes)$/i.test(process.env.REQUIRE_POSTGRES ?? '') && (suites.skipped > 0 || (filter.length === 0 && suites.ran === 0))) {
  console.error('REQUIRE_POSTGRES is set, but PostgreSQL suites did not run: set TEST_DATABASE_URL to a PostgreSQL server.');
  status = 1;
}
if (process.env.TEST_DATABASE_URL) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  const { rows } = await client.query("select nspname from pg_namespace where nspname like $1", [`test\\_${run}\\_%`]);
  for (const { nspname } of rows) await client.query(`drop schema "${nspname}" cascade`);
  await client.end();
}
process.exit(status);
