import { type Kysely, sql } from 'kysely';
import { DEFAULT_DATABASE_LIMITS } from '../config.js';
import { OverloadedError } from '../errors.js';
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
 * Group commit for SQLite. Each commit is made durable by an fsync of the WAL, which costs far more
 * than the writes it protects, so the writes that arrive while a group is being committed and
 * synced are run together as the next group, in one transaction with one fsync. Each write runs
 * inside its own savepoint: one that fails is rolled back alone and gets its own error, the others
 * are kept.
 *
 * The fsync runs on the thread pool once the transaction has committed and handed the connection
 * on (see dialect.ts and wal-sync.ts), so reads go on meanwhile. The next group waits for it: the
 * writes that arrive during the fsync would share the next fsync anyway, and one larger
 * transaction writes each page it changes once instead of once per smaller one. Nobody is answered
 * before the commit that holds their write is on disk: the transaction's promise resolves only
 * after that fsync.
 */
export class GroupCommit {
  private queue: Job[] = [];
  private scheduled = false;

  /**
   * @param maxQueued writes that may wait for a commit; one more is refused at once with an
   *   OverloadedError (503 with Retry-After) rather than queued behind seconds of others.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxQueued = DEFAULT_DATABASE_LIMITS.writeQueueLimit,
  ) {}

  /** Writes waiting for a commit now. */
  get queued(): number {
    return this.queue.length;
  }

  run<T>(work: WriteWork<T>): Promise<T> {
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(new OverloadedError(`${this.maxQueued} writes are already waiting to be committed (SQLITE_WRITE_QUEUE_LIMIT)`));
    }
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
      // The commit (or its fsync) failed: none of the writes is acknowledged.
      for (const job of jobs) job.reject(error);
    } finally {
      if (this.queue.length > 0) setImmediate(() => void this.flush());
      else this.scheduled = false;
    }
  }
}
