// npm run bench:profile -- --scenario set: the real server under one scenario with --cpu-prof, then
// where its CPU time went, by package and by function. The .cpuprofile is kept for Chrome DevTools.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { preload } from './preload.js';
import { scenarios } from './scenarios.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'set' },
    profiles: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '64' },
  },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** CPU time (user + system) the process has used, in microseconds. */
function cpuMicros(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

function summarise(file: string): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const time = profile.timeDeltas[i] ?? 0;
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === '(idle)') return;
    total += time;
    const where = frame.url.replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, '$1').replace(`file://${ROOT}/`, '') || frame.functionName;
    byPackage.set(where, (byPackage.get(where) ?? 0) + time);
    const name = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  });
  const top = (map: Map<string, number>, n: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
  console.log(`busy CPU time, by package or file:\n${top(byPackage, 20)}\n\nby function (self time):\n${top(byFunction, 30)}`);
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-profile-'));
  const file = path.join(work, 'profile.db');
  const profiles = Number(args.profiles);
  const { key } = await preload({ kind: 'sqlite', file }, profiles);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${work}`, 'dist/main.js'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), DATABASE_URL: `sqlite:${file}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await new Promise((r) => setTimeout(r, 1500));
  const scenario = scenarios(profiles, Date.now().toString(36)).find((s) => s.name === args.scenario)!;
  const cpuBefore = cpuMicros(server.pid!);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: Number(args.connections),
    duration: Number(args.duration),
    requests: [{ setupRequest: (request) => ({ ...request, ...scenario.next(`Api-Key ${key}`) }) }],
  });
  const perRequest = (cpuMicros(server.pid!) - cpuBefore) / result.requests.total;
  console.log(
    `${args.scenario}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
      `non-2xx ${result.non2xx}, server CPU ${Math.round(perRequest)} µs per request (profiler included)\n`,
  );
  server.kill('SIGINT');
  await once(server, 'exit');
  const written = fs.readdirSync(work).find((f) => f.endsWith('.cpuprofile'))!;
  summarise(path.join(work, written));
  console.log(`\nprofile: ${path.join(work, written)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
