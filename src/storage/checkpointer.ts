import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker copies the WAL into the database file. */
export const CHECKPOINT_INTERVAL_MS = 500;

/**
 * The worker: its own connection to the database, a passive checkpoint on a timer. A passive
 * checkpoint never waits for readers or the writer; it copies what it can, fsyncing the WAL
 * before and the database file after (synchronous = NORMAL), and a later one copies the rest.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage(String(error && error.message || error));
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints of a SQLite database in WAL mode, run on a thread of their own. On the connection
 * that answers requests a checkpoint would run inside a COMMIT, and its two fsyncs and page copies
 * would hold up the event loop; here they hold up nothing. The main connection keeps an automatic
 * checkpoint at a far larger WAL size, in case this thread ever falls behind.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string, onError: (message: string) => void = () => {}, intervalMs = CHECKPOINT_INTERVAL_MS) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, intervalMs } });
    this.worker.on('message', (message: string) => onError(message));
    // A failed start or a crash of the thread leaves checkpoints to the main connection.
    this.worker.on('error', (error) => onError(error.message));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // The thread never keeps the process alive.
    this.worker.unref();
  }

  /** Stops the timer and closes the thread's connection. */
  async close(): Promise<void> {
    // Held while it closes, or a process with nothing else to do would end before it has.
    this.worker.ref();
    this.worker.postMessage('close');
    await this.exited;
  }
}
