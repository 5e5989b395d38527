// npm run bench: the real server under load next to a bare node:http baseline, in the same run.
// Options: --profiles N --duration S --connections C --scenarios a,b --db sqlite|postgres --workers N
// (scenarios: set, get, create, mixed, batch, transaction)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, database, freePort, load, peakRssMb, ROOT, start, waitForHttp } from './harness.js';
import { preload } from './preload.js';
import { BATCH_ITEMS, scenarios } from './scenarios.js';
const { values: args } = parseArgs({
  options: {
    profiles: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    scenarios: { type: 'string', default: 'set,get,create,mixed,batch,transaction' },
    db: { type: 'string', default: 'sqlite' },
    workers: { type: 'string', default: '1' },
  },
});
const profiles = Number(args.profiles);
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const workers = Number(args.workers);

async function main() {
  console.error(`building (npm run build)…`);
  build();
  const db = await database(args.db!);
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
    const streams = scenario.connections ?? connections;
    console.error(`${scenario.name}: ${scenario.description} (${duration} s each, ${streams} connections)`);
    if (warmup > 0) {
      await load(baselinePort, scenario, auth, warmup, streams);
      await load(serverPort, scenario, auth, warmup, streams);
    }
    const base = await load(baselinePort, scenario, auth, duration, streams);
    const real = await load(serverPort, scenario, auth, duration, streams);
    const items = scenario.itemsPerRequest ?? 1;
    rows.push({ scenario: scenario.name, baseline: base, crosswalk: real, ratio: real.rps / base.rps, itemsPerSecond: real.rps * items });
  }
  const rss = peakRssMb(server.pid!);
  server.kill('SIGTERM');
  baseline.kill('SIGTERM');
  await once(server, 'exit');
  await db.drop();

  console.log(`\nCrosswalk vs bare node:http, ${args.db}${workers > 1 ? `, ${workers} workers` : ''}, ${profiles.toLocaleString('en')} profiles, ` +
    `${connections} connections, ${duration} s per run, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}`);
  // The first column fits the longest name (`transaction`); the default scenarios keep 9.
  const width = Math.max(9, ...rows.map((r) => r.scenario.length));
  console.log(`${'scenario'.padEnd(width)} baseline req/s  crosswalk req/s  ratio  p50 ms  p99 ms  errors  writes/s`);
  for (const r of rows) {
    console.log(
      `${r.scenario.padEnd(width)} ${Math.round(r.baseline.rps).toString().padStart(14)} ${Math.round(r.crosswalk.rps).toString().padStart(16)} ` +
        `${r.ratio.toFixed(2).padStart(6)} ${r.crosswalk.p50.toFixed(1).padStart(7)} ${r.crosswalk.p99.toFixed(1).padStart(7)} ${String(r.crosswalk.errors).padStart(7)}` +
        `${Math.round(r.itemsPerSecond).toString().padStart(10)}`,
    );
  }
  // The batch's gain per write is measured against single set requests of the same run.
  const single = rows.find((r) => r.scenario === 'set');
  const batched = rows.find((r) => r.scenario === 'batch');
  if (single && batched) {
    console.log(`batch (${BATCH_ITEMS} items per request, 8 connections): ${Math.round(batched.itemsPerSecond)} identifier writes/s in batches vs ${Math.round(single.itemsPerSecond)} as single requests: ` +
      `${(batched.itemsPerSecond / single.itemsPerSecond).toFixed(1)}x per write`);
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
