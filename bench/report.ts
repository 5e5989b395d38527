// The benchmark's table: per scenario, the bare baseline's req/s, the straightforward service's
// req/s, ratio to bare and p99, and Crosswalk's req/s, ratios to both, latencies and errors.
import type { Figures } from './harness.js';
import { BATCH_ITEMS } from './scenarios.js';

export interface Row {
  scenario: string;
  baseline: Figures;
  /** Null for a scenario the straightforward service does not offer (batch). */
  straightforward: Figures | null;
  crosswalk: Figures;
  /** Crosswalk's req/s over the bare baseline's. */
  ratio: number;
  /** Crosswalk's req/s over the straightforward service's. */
  ratioToStraightforward: number | null;
  /** The straightforward service's req/s over the bare baseline's. */
  straightforwardRatio: number | null;
  /** Crosswalk's writes per second (identifier writes for batch, requests otherwise). */
  itemsPerSecond: number;
}

const int = (n: number) => Math.round(n).toString();
const fixed = (n: number | null | undefined, digits: number) => (n === null || n === undefined ? '-' : n.toFixed(digits));

const COLUMNS: [string, (r: Row) => string][] = [
  ['bare req/s', (r) => int(r.baseline.rps)],
  ['plain req/s', (r) => (r.straightforward ? int(r.straightforward.rps) : '-')],
  ['/bare', (r) => fixed(r.straightforwardRatio, 2)],
  ['p99', (r) => fixed(r.straightforward?.p99, 1)],
  ['err', (r) => (r.straightforward ? String(r.straightforward.errors) : '-')],
  ['crosswalk req/s', (r) => int(r.crosswalk.rps)],
  ['/bare', (r) => fixed(r.ratio, 2)],
  ['/plain', (r) => fixed(r.ratioToStraightforward, 2)],
  ['p50', (r) => fixed(r.crosswalk.p50, 1)],
  ['p99', (r) => fixed(r.crosswalk.p99, 1)],
  ['errors', (r) => String(r.crosswalk.errors)],
  ['writes/s', (r) => int(r.itemsPerSecond)],
];

export function printTable(rows: Row[]): void {
  // The first column fits the longest name (`transaction`).
  const width = Math.max(9, ...rows.map((r) => r.scenario.length));
  const widths = COLUMNS.map(([title, cell]) => Math.max(title.length, ...rows.map((r) => cell(r).length)));
  const line = (first: string, cells: string[]) => [first.padEnd(width), ...cells.map((c, i) => c.padStart(widths[i]!))].join('  ');
  console.log('plain: the straightforward service; /bare and /plain: req/s as a ratio to the bare baseline and to the plain service; ms');
  console.log(line('scenario', COLUMNS.map(([title]) => title)));
  for (const r of rows) console.log(line(r.scenario, COLUMNS.map(([, cell]) => cell(r))));
  // The batch's gain per write is measured against single set requests of the same run.
  const single = rows.find((r) => r.scenario === 'set');
  const batched = rows.find((r) => r.scenario === 'batch');
  if (single && batched) {
    console.log(`batch (${BATCH_ITEMS} items per request, 8 connections): ${int(batched.itemsPerSecond)} identifier writes/s in batches vs ` +
      `${int(single.itemsPerSecond)} as single requests: ${(batched.itemsPerSecond / single.itemsPerSecond).toFixed(1)}x per write`);
  }
}
