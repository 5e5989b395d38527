import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

export type WriteWork<T> = (trx: Kysely<Database>) => Promise<T>;

interface Job {
  work: WriteWork<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** More than this many writes in one commit would keep other work waiting too long. */
const MAX_BATCH = 512;

/**
 * Group commit for SQLite. Every commit is fsync'd (synchronous = FULL), and one fsync costs far
 * more than the writes it protects, so the writes that arrive while the event loop is busy are run
 * together in one transaction and committed with one fsync. Each write runs inside its own
 * savepoint: one that fails is rolled back alone and gets its own error, the others are kept.
 * Nobody is answered before the commit that holds their write has reached the disk.
 */
export class GroupCommit {
  private queue: Job[] = [];
  private scheduled = false;

  constructor(private readonly db: Kysely<Database>) {}

  run<T>(work: WriteWork<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O of this turn, so the requests that arrived together share a commit.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const jobs = this.queue.splice(0, MAX_BATCH);
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const job of jobs) {
          await sql`savepoint write`.execute(trx);
          try {
            outcomes.push({ ok: true, value: await job.work(trx) });
            await sql`release write`.execute(trx);
          } catch (error) {
            await sql`rollback to write`.execute(trx);
            await sql`release write`.execute(trx);
            outcomes.push({ ok: false, error });
          }
        }
      });
      jobs.forEach((job, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) job.resolve(outcome.value);
        else job.reject(outcome.error);
      });
    } catch (error) {
      // The commit itself failed: none of the writes happened.
      for (const job of jobs) job.reject(error);
    } finally {
      if (this.queue.length > 0) setImmediate(() => void this.flush());
      else this.scheduled = false;
    }
  }
}
