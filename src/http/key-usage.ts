import type { FastifyBaseLogger } from 'fastify';

/** How often, at most, one process writes that one key was used. */
export const LAST_USED_INTERVAL_MS = 60_000;

/**
 * Notes when each key last authenticated a request, without a write per request: a key's use is
 * written at most once per `intervalMs` in this process, after the answer is on its way (the keys
 * noted in one turn of the event loop in one statement). A failed write is logged, never thrown.
 */
export class KeyUsage {
  private readonly written = new Map<string, number>();
  private pending = new Set<string>();
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly write: (keyIds: readonly string[], at: number) => Promise<void>,
    private readonly log: FastifyBaseLogger,
    private readonly intervalMs = LAST_USED_INTERVAL_MS,
  ) {}

  /** Called for every authenticated request: a map lookup, and rarely a write scheduled for later. */
  note(keyId: string, now = Date.now()): void {
    const last = this.written.get(keyId);
    if (last !== undefined && now - last < this.intervalMs) return;
    this.written.set(keyId, now);
    this.pending.add(keyId);
    if (this.pending.size === 1) setImmediate(() => void this.flush());
  }

  /** Writes what is noted and not yet written; resolves when every write started so far has ended. */
  async flush(): Promise<void> {
    if (this.pending.size > 0) {
      const keyIds = [...this.pending];
      this.pending = new Set();
      const previous = this.flushing;
      this.flushing = (async () => {
        await previous;
        try {
          await this.write(keyIds, Date.now());
        } catch (error) {
          this.log.warn({ err: error, keys: keyIds.length }, 'could not record when API keys were last used');
        }
      })();
    }
    await this.flushing;
  }
}
