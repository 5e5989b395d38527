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

if (!process.env.TEST_DATABASE_URL) {
  console.log(
    'PostgreSQL suites are skipped: TEST_DATABASE_URL is not set.\n' +
      'To run them too: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm test\n',
  );
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=4', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
