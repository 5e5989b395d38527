// npm run bench: the real server under load next to a bare node:http baseline, in the same run.
// Options: --profiles N --duration S --connections C --scenarios a,b --db sqlite|postgres --workers N
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import type { DatabaseConfig } from '../src/config.js';
import { preload } from './preload.js';
import { type Scenario, scenarios } from './scenarios.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    profiles: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    scenarios: { type: 'string', default: 'set,get,create,mixed' },
    db: { type: 'string', default: 'sqlite' },
    workers: { type: 'string', default: '1' },
  },
});
const profiles = Number(args.profiles);
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const workers = Number(args.workers);

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

async function waitForHttp(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answered at ${url}`);
}

/** The process and all its descendants (workers), for memory figures. */
function processTree(pid: number): number[] {
  try {
    const children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    return [pid, ...children.flatMap(processTree)];
  } catch {
    return [pid];
  }
}

/** Peak resident memory (VmHWM) in MB, summed over the process tree. */
function peakRssMb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
    kb += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return Math.round(kb / 1024);
}

async function database(): Promise<{ config: DatabaseConfig; url: string; drop(): Promise<void> }> {
  if (args.db === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-bench-'));
    const file = path.join(dir, 'bench.db');
    return { config: { kind: 'sqlite', file }, url: `sqlite:${file}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const base = process.env.DATABASE_URL;
  if (!base?.startsWith('postgres')) throw new Error('--db postgres needs DATABASE_URL=postgres://…');
  const schema = `bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    config: { kind: 'postgres', url: url.toString(), poolSize: 10 },
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`drop schema ${schema} cascade`);
      await client.end();
    },
  };
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(port: number, scenario: Scenario, auth: string, seconds: number): Promise<Figures> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        setupRequest: (request) => {
          const shape = scenario.next(auth);
          return { ...request, method: shape.method, path: shape.path, headers: shape.headers, body: shape.body };
        },
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

function start(command: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, command, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function main() {
  console.error(`building (npm run build)…`);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  const db = await database();
  console.error(`preparing ${args.db} with ${profiles.toLocaleString('en')} profiles…`);
  const { key } = await preload(db.config, profiles);
  const auth = `Api-Key ${key}`;

  const serverPort = await freePort();
  const command = workers > 1 ? ['dist/cli/main.js', 'serve', '--workers', String(workers)] : ['dist/main.js'];
  const server = start(command, { PORT: String(serverPort), DATABASE_URL: db.url, CROSSWALK_API_KEY: '' });
  const baseline = spawn(process.execPath, [path.join(ROOT, 'bench/baseline-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(baseline.stdout!, 'data')) as [Buffer];
  const baselinePort = Number(/listening (\d+)/.exec(line.toString())![1]);
  await waitForHttp(`http://127.0.0.1:${serverPort}/readyz`);

  const runId = Date.now().toString(36);
  const rows = [];
  for (const scenario of scenarios(profiles, runId).filter((s) => args.scenarios!.split(',').includes(s.name))) {
    console.error(`${scenario.name}: ${scenario.description} (${duration} s each, ${connections} connections)`);
    if (warmup > 0) {
      await load(baselinePort, scenario, auth, warmup);
      await load(serverPort, scenario, auth, warmup);
    }
    const base = await load(baselinePort, scenario, auth, duration);
    const real = await load(serverPort, scenario, auth, duration);
    rows.push({ scenario: scenario.name, baseline: base, crosswalk: real, ratio: real.rps / base.rps });
  }
  const rss = peakRssMb(server.pid!);
  server.kill('SIGTERM');
  baseline.kill('SIGTERM');
  await once(server, 'exit');
  await db.drop();

  console.log(`\nCrosswalk vs bare node:http, ${args.db}${workers > 1 ? `, ${workers} workers` : ''}, ${profiles.toLocaleString('en')} profiles, ` +
    `${connections} connections, ${duration} s per run, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()})`);
  console.log('scenario  baseline req/s  crosswalk req/s  ratio  p50 ms  p99 ms  errors');
  for (const r of rows) {
    console.log(
      `${r.scenario.padEnd(9)} ${Math.round(r.baseline.rps).toString().padStart(14)} ${Math.round(r.crosswalk.rps).toString().padStart(16)} ` +
        `${r.ratio.toFixed(2).padStart(6)} ${r.crosswalk.p50.toFixed(1).padStart(7)} ${r.crosswalk.p99.toFixed(1).padStart(7)} ${String(r.crosswalk.errors).padStart(7)}`,
    );
  }
  console.log(`server peak RSS: ${rss} MB`);
  const resultsDir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${args.db}.json`);
  fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), args, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, serverPeakRssMb: rss, rows }, null, 2));
  console.log(`results: ${path.relative(ROOT, file)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
