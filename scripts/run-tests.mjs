// Runs every test file under test/ with Node's test runner (TypeScript through tsx).
// PostgreSQL suites run only when TEST_DATABASE_URL names a server; otherwise this says so.
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
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=4', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, CROSSWALK_TEST_RUN: run } },
);
if (process.env.TEST_DATABASE_URL) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  const { rows } = await client.query("select nspname from pg_namespace where nspname like $1", [`test\\_${run}\\_%`]);
  for (const { nspname } of rows) await client.query(`drop schema "${nspname}" cascade`);
  await client.end();
}
process.exit(result.status ?? 1);
