// npm run bench: the real server under load next to two yardsticks, in the same run and under the
// same load, scenario by scenario:
//   - bare: a node:http server that only reads and JSON-parses the request (baseline-server.mjs);
//   - straightforward: the service a backend engineer would write in an afternoon for the same
//     requests, Fastify and one query per question with durable commits, no caches, logs, metrics,
//     history, rules or events (straightforward-server.ts), on a database of its own preloaded alike;
//   - Crosswalk, the production build, with every feature on:
//       * each write's commit fsync'd (SQLite) or durable (PostgreSQL) before its 200 (the default);
//       * identifier history kept (the default, HISTORY_RETENTION_DAYS=0: never deleted);
//       * identifier rules: placeholders dropped plus two of the app's own, and conflict policies
//         reject (appsflyer_id, adjust_device_id) and move (mixpanel_user_id), so each set pays for
//         the lookups (BENCH_RULES in preload.ts);
//       * webhooks: an endpoint for every event type, registered through the HTTP API, pointing at a
//         sink in this process (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true lets it be on loopback), so each
//         write also records its outbox events and the worker delivers them;
//       * info logs (LOG_LEVEL=info, the default), written to the null device;
//       * metrics (METRICS_ENABLED=true, the default), measured on every request.
// Options: --profiles N --duration S --warmup S --connections C --scenarios a,b --db sqlite|postgres --workers N
// (scenarios: set, get, create, mixed, batch, transaction, profile, access; batch is Crosswalk's own,
// the straightforward service shows "-" for it)
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateApiKey } from '../src/domain/api-keys.js';
import { build, database, type Figures, freePort, load, peakRssMb, ROOT, start, waitForHttp } from './harness.js';
import { preload } from './preload.js';
import { printTable, type Row } from './report.js';
import { scenarios } from './scenarios.js';
import { checkSameAnswers, listeningPort, webhookSink } from './yardsticks.js';

const { values: args } = parseArgs({
  options: {
    profiles: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    scenarios: { type: 'string', default: 'set,get,create,mixed,batch,transaction,profile,access' },
    db: { type: 'string', default: 'sqlite' },
    workers: { type: 'string', default: '1' },
  },
});
const profiles = Number(args.profiles);
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const workers = Number(args.workers);
/** Stopped when the run fails half-way, so that no server outlives it. */
const children: ChildProcess[] = [];

/** Waits until Crosswalk has no webhook delivery pending (at most five minutes); the seconds it took. */
async function drainOutbox(port: number, auth: string): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < 300_000) {
    const answer = await fetch(`http://127.0.0.1:${port}/crosswalk/v1/webhooks/deliveries/?status=pending&limit=1`, { headers: { authorization: auth } });
    if (!answer.ok) throw new Error(`listing pending deliveries answered ${answer.status}: ${await answer.text()}`);
    if (((await answer.json()) as { data: unknown[] }).data.length === 0) return (Date.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the webhook outbox did not drain within five minutes');
}

async function main() {
  const all = scenarios(profiles, Date.now().toString(36));
  const names = args.scenarios!.split(',');
  const unknown = names.filter((name) => !all.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; the scenarios are ${all.map((s) => s.name).join(', ')}`);
  const chosen = all.filter((s) => names.includes(s.name));
  console.error(`building (npm run build)…`);
  build();
  const db = await database(args.db!);
  const plainDb = await database(args.db!);
  console.error(`preparing ${args.db} with ${profiles.toLocaleString('en')} profiles…`);
  // The straightforward service loads its own database while Crosswalk's is loaded here.
  const key = generateApiKey();
  const plain = spawn(process.execPath, ['--import', 'tsx', 'bench/straightforward-server.ts', '--database', plainDb.url, '--profiles', String(profiles)], {
    cwd: ROOT,
    env: { ...process.env, BENCH_API_KEY: key },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(plain);
  await preload(db.config, profiles, key);
  const auth = `Api-Key ${key}`;

  const sink = await webhookSink();
  const serverPort = await freePort();
  const command = workers > 1 ? ['dist/cli/main.js', 'serve', '--workers', String(workers)] : ['dist/main.js'];
  const server = start(command, {
    PORT: String(serverPort),
    DATABASE_URL: db.url,
    CROSSWALK_API_KEY: '',
    LOG_LEVEL: 'info',
    METRICS_ENABLED: 'true',
    WEBHOOKS_ENABLED: 'true',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    HISTORY_RETENTION_DAYS: '0',
  });
  const baseline = spawn(process.execPath, [path.join(ROOT, 'bench/baseline-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(server, baseline);
  const baselinePort = await listeningPort(baseline, 'the bare baseline');
  const plainPort = await listeningPort(plain, 'the straightforward service');
  await waitForHttp(`http://127.0.0.1:${serverPort}/readyz`);
  const hook = await fetch(`http://127.0.0.1:${serverPort}/crosswalk/v1/webhooks/endpoints/`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:${sink.port}/events`, description: 'bench sink' }),
  });
  if (hook.status !== 201) throw new Error(`registering the webhook endpoint answered ${hook.status}: ${await hook.text()}`);
  await checkSameAnswers({ crosswalk: serverPort, plain: plainPort }, auth);

  const rows: Row[] = [];
  for (const scenario of chosen) {
    const streams = scenario.connections ?? connections;
    const withPlain = scenario.straightforward !== false;
    console.error(`${scenario.name}: ${scenario.description} (${duration} s each, ${streams} connections)`);
    const targets = [baselinePort, ...(withPlain ? [plainPort] : []), serverPort];
    if (warmup > 0) for (const port of targets) await load(port, scenario, auth, warmup, streams);
    const base = await load(baselinePort, scenario, auth, duration, streams);
    const straightforward: Figures | null = withPlain ? await load(plainPort, scenario, auth, duration, streams) : null;
    // Each scenario starts on a quiet server: the events the earlier runs queued (warm-up included)
    // are delivered first, so that one scenario's webhook backlog is not measured as the next one's cost.
    const drained = await drainOutbox(serverPort, auth);
    if (drained > 0.05) console.error(`  the outbox took ${drained.toFixed(1)} s to drain before Crosswalk's run`);
    const real = await load(serverPort, scenario, auth, duration, streams);
    rows.push({
      scenario: scenario.name,
      baseline: base,
      straightforward,
      crosswalk: real,
      ratio: real.rps / base.rps,
      ratioToStraightforward: straightforward ? real.rps / straightforward.rps : null,
      straightforwardRatio: straightforward ? straightforward.rps / base.rps : null,
      itemsPerSecond: real.rps * (scenario.itemsPerRequest ?? 1),
    });
  }
  const rss = peakRssMb(server.pid!);
  const plainRss = peakRssMb(plain.pid!);
  server.kill('SIGTERM');
  baseline.kill('SIGTERM');
  plain.kill('SIGTERM');
  await Promise.all([once(server, 'exit'), once(plain, 'exit')]);
  sink.close();
  await Promise.all([db.drop(), plainDb.drop()]);

  console.log(`\nCrosswalk (every feature on) vs bare node:http and the straightforward service, ${args.db}${workers > 1 ? `, ${workers} workers` : ''}, ` +
    `${profiles.toLocaleString('en')} profiles, ${connections} connections, ${duration} s per run, ${os.cpus().length} cores ` +
    `(${os.cpus()[0]?.model.trim()}), Node ${process.version}`);
  printTable(rows);
  console.log(`webhook deliveries received by the sink: ${sink.received().toLocaleString('en')}`);
  console.log(`peak RSS: Crosswalk ${rss} MB, straightforward service ${plainRss} MB`);
  const resultsDir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${args.db}.json`);
  const result = {
    date: new Date().toISOString(), args, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version,
    serverPeakRssMb: rss, straightforwardPeakRssMb: plainRss, webhookDeliveries: sink.received(), rows,
  };
  fs.writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(`results: ${path.relative(ROOT, file)}`);
}

main().catch((error) => {
  console.error(error);
  for (const child of children) child.kill('SIGTERM');
  process.exit(1);
});
