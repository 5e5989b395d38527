import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

// The dependency rules of .dependency-cruiser.cjs, run on the real tree and on small trees that
// break one rule each, so that the check is known to fail when it should.

const ROOT = path.resolve(import.meta.dirname, '..');
const CRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function cruise(cwd: string): { code: number | null; output: string } {
  const run = spawnSync(process.execPath, [CRUISE, 'src', '--config', '.dependency-cruiser.cjs'], { cwd, encoding: 'utf8' });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A tree with the project's config and tsconfig and the given source files. */
function fixture(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-layers-'));
  fs.copyFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  fs.copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

describe('the layers of src/', () => {
  const made: string[] = [];
  const broken = (files: Record<string, string>) => {
    const dir = fixture({ 'src/errors.ts': 'export class ApiError extends Error {}\n', ...files });
    made.push(dir);
    return cruise(dir);
  };
  let real: ReturnType<typeof cruise>;
  before(() => {
    real = cruise(ROOT);
  });
  after(() => {
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the tree as it is has no cycle and no wrong-way import', () => {
    assert.equal(real.code, 0, real.output);
    assert.match(real.output, /no dependency violations found/);
  });

  test('a cycle made only of type imports fails', () => {
    const run = broken({
      'src/domain/a.ts': "import type { B } from './b.js';\nexport type A = { b?: B };\n",
      'src/domain/b.ts': "import type { A } from './a.js';\nexport type B = { a?: A };\n",
    });
    assert.notEqual(run.code, 0);
    assert.match(run.output, /no-cycles/);
  });

  test('domain importing storage, or doing I/O, fails', () => {
    const run = broken({
      'src/storage/store.ts': 'export interface Store { ping(): Promise<void> }\n',
      'src/domain/rule.ts': "import fs from 'node:fs';\nimport type { Store } from '../storage/store.js';\nexport const read = (s: Store) => [s, fs.readFileSync];\n",
    });
    assert.notEqual(run.code, 0);
    assert.match(run.output, /domain-is-pure/);
    assert.match(run.output, /domain-no-io/);
  });

  test('storage importing a service, a service importing http, the CLI importing http: each fails', () => {
    const run = broken({
      'src/http/addressing.ts': 'export const HEADER = "adapty-profile-id";\n',
      'src/services/profiles.ts': "import { HEADER } from '../http/addressing.js';\nexport const name = HEADER;\n",
      'src/storage/queries.ts': "import { name } from '../services/profiles.js';\nexport const q = name;\n",
      'src/cli/import.ts': "import { HEADER } from '../http/addressing.js';\nexport const h = HEADER;\n",
    });
    assert.notEqual(run.code, 0);
    assert.match(run.output, /storage-runs-queries/);
    assert.match(run.output, /services-below-their-callers/);
    assert.match(run.output, /cli-not-http/);
  });
});

test('every path docs/architecture.md names exists', () => {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const named = [...text.matchAll(/`((?:src|test|docs|clients|bench|scripts)\/[\w./*-]+|\.dependency-cruiser\.cjs)`/g)].map((match) => match[1]!);
  assert.ok(named.length > 20, `only ${named.length} paths found`);
  const missing = named.filter((name) => !name.includes('*') && !fs.existsSync(path.join(ROOT, name)));
  assert.deepEqual(missing, []);
});
