// npm run soak: a steady mixed load on the real server for a while (default 10 minutes), with
// throughput, p99 and memory reported per interval. Fails (exit 1) on any error, or when resident
// memory after warm-up grows by more than 10%.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, database, freePort, load, ROOT, rssMb, start, waitForHttp } from './harness.js';
import { preload } from './preload.js';
import { scenarios } from './scenarios.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    interval: { type: 'string', default: '30' },
    connections: { type: 'string', default: '16' },
    profiles: { type: 'string', default: '100000' },
    db: { type: 'string', default: 'sqlite' },
  },
});
const totalSeconds = Number(args.minutes) * 60;
const interval = Math.min(Number(args.interval), totalSeconds);

/** The rise of the least-squares line through the points over their time span, relative to their mean. */
function trendGrowth(points: [number, number][]): number {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const slope =
    points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0) / points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return (slope * (points[n - 1]![0] - points[0]![0])) / meanY;
}

async function main() {
  build();
  const db = await database(args.db!);
  const profiles = Number(args.profiles);
  const { key } = await preload(db.config, profiles);
  const port = await freePort();
  const server = start(['dist/main.js'], { PORT: String(port), DATABASE_URL: db.url, CROSSWALK_API_KEY: '' });
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
  const mixed = scenarios(profiles, Date.now().toString(36)).find((s) => s.name === 'mixed')!;
  const rows: { second: number; rps: number; p99: number; rssMb: number; errors: number }[] = [];
  console.log(`soak: mixed load (80% get, 20% set), ${args.connections} connections, ${args.minutes} min, ${args.db}`);
  console.log('  second   req/s   p99 ms   RSS MB   errors');
  for (let second = interval; second <= totalSeconds; second += interval) {
    const figures = await load(port, mixed, `Api-Key ${key}`, interval, Number(args.connections));
    const row = { second, rps: Math.round(figures.rps), p99: figures.p99, rssMb: rssMb(server.pid!), errors: figures.errors };
    rows.push(row);
    console.log(`${String(second).padStart(8)} ${String(row.rps).padStart(7)} ${row.p99.toFixed(1).padStart(8)} ${String(row.rssMb).padStart(8)} ${String(row.errors).padStart(8)}`);
  }
  server.kill('SIGTERM');
  await db.drop();

  // Warm-up is the first fifth of the run (at least one interval). After it, a least-squares line
  // through the memory samples gives the trend: its rise over the rest of the run, relative to the
  // mean, must stay within 10%. A line, unlike first-versus-highest, is not fooled by GC's saw-tooth.
  const after = rows.slice(Math.max(1, Math.ceil(rows.length / 5)));
  const growth = after.length < 2 ? 0 : trendGrowth(after.map((r) => [r.second, r.rssMb]));
  const errors = rows.reduce((sum, r) => sum + r.errors, 0);
  const verdict = growth <= 0.1 && errors === 0;
  const rss = after.map((r) => r.rssMb);
  console.log(
    `RSS after warm-up: ${Math.min(...rss)}-${Math.max(...rss)} MB, trend ${(growth * 100).toFixed(1)}% over the run; ` +
      `errors ${errors}: ${verdict ? 'PASS' : 'FAIL'}`,
  );
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ args, rows, growth, errors, verdict }, null, 2));
  process.exit(verdict ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
