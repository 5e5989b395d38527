import type { Dialect } from './dialect.js';
import type { WriteWork } from './group-commit.js';

/** Webhook endpoints, deliveries and the delivery worker's queue. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface WebhookStore {}

/** Runs a write transaction the way the store does (group commit on SQLite). */
export type WriteRunner = <T>(work: WriteWork<T>) => Promise<T>;

export class KyselyWebhookStore implements WebhookStore {
  constructor(
    readonly dialect: Dialect,
    readonly write: WriteRunner,
  ) {}
}
