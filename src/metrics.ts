import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Config } from './config.js';
import type { IdentifierWriteResult } from './domain/identifier-writes.js';

/** Stores named in the transactions metric; any other store is counted as "other" (labels stay few). */
const COUNTED_STORES = new Set(['app_store', 'play_store', 'stripe', 'paddle', 'amazon', 'adapty']);

/** Everything Crosswalk counts, in one Prometheus registry of its own. */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'crosswalk_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'crosswalk_http_request_duration_seconds',
    help: 'Time from receiving a request to answering it, by route template, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly queryDuration = new Histogram({
    name: 'crosswalk_db_query_duration_seconds',
    help: 'Time of each database statement, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });

  readonly identifierWrites = new Counter({
    name: 'crosswalk_identifier_writes_total',
    help: 'Integration identifiers changed, by key and operation (set or clear); a write of the value already stored is not counted.',
    labelNames: ['key', 'operation'] as const,
    registers: [this.registry],
  });

  readonly placeholdersDropped = new Counter({
    name: 'crosswalk_identifier_placeholders_dropped_total',
    help: "Placeholder values left out of identifier writes under the app's rules, by key.",
    labelNames: ['key'] as const,
    registers: [this.registry],
  });

  readonly identifierMoves = new Counter({
    name: 'crosswalk_identifier_moves_total',
    help: 'Values taken from another profile under the move conflict policy, by key.',
    labelNames: ['key'] as const,
    registers: [this.registry],
  });

  readonly transactions = new Counter({
    name: 'crosswalk_transactions_total',
    help: 'Transactions recorded or updated through the set-transaction operation, by store (stores outside the usual list count as "other").',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'crosswalk_webhook_events_total',
    help: 'Events recorded in the outbox for delivery (only types some endpoint subscribes to), by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly destinationDeliveries = new Counter({
    name: 'crosswalk_destination_deliveries_total',
    help: 'Attempts at sending revenue to a destination, by destination type and outcome (succeeded, failed for good, retried, skipped with a reason).',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  /** The series of queryDuration that nearly every statement lands in, found once. */
  private readonly queriesOk = this.queryDuration.labels({ outcome: 'ok' });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts what one identifier write did: keys that changed, placeholders dropped, values moved. */
  countIdentifierWrite(result: IdentifierWriteResult): void {
    for (const change of result.changes) this.identifierWrites.inc({ key: change.key, operation: change.newValue === null ? 'clear' : 'set' });
    for (const { key } of result.dropped) this.placeholdersDropped.inc({ key });
    for (const { key } of result.moves) this.identifierMoves.inc({ key });
  }

  /** Counts one set-transaction call; the label is bounded to the usual stores. */
  countTransaction(store: string): void {
    this.transactions.inc({ store: COUNTED_STORES.has(store) ? store : 'other' });
  }

  countEvents(counts: ReadonlyMap<string, number>): void {
    for (const [type, count] of counts) this.events.inc({ type }, count);
  }

  countDestinationDelivery(type: string, outcome: string): void {
    this.destinationDeliveries.inc({ type, outcome });
  }

  observeQuery(milliseconds: number, failed: boolean): void {
    if (failed) this.queryDuration.observe({ outcome: 'error' }, milliseconds / 1000);
    else this.queriesOk.observe(milliseconds / 1000);
  }
}

/** The process's metrics, or none when METRICS_ENABLED is off. */
export function createMetrics(config: Pick<Config, 'metricsEnabled'>): Metrics | undefined {
  return config.metricsEnabled ? new Metrics() : undefined;
}
