import type { WebhookSettings } from '../config.js';
import type { Store } from '../storage/store.js';
import type { AttemptOutcome, ClaimedDelivery, WebhookStore } from '../storage/webhook-store.js';
import { CROSSWALK_VERSION } from '../version.js';
import { DEFAULT_SCHEDULE, nextAttemptAt, type RetrySchedule } from './schedule.js';
import {
  DELIVERY_ATTEMPT_HEADER,
  DELIVERY_ID_HEADER,
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  SIGNATURE_HEADER,
  signatureHeader,
} from './signing.js';

export const USER_AGENT = `Crosswalk-Webhooks/${CROSSWALK_VERSION}`;

/** The longest error text kept on a delivery. */
export const MAX_ERROR_LENGTH = 500;

/** How much more than the request timeout a claim is held: time to record the outcome. */
const LEASE_MARGIN_MS = 5_000;

const HOUR_MS = 3_600_000;

/** Where the worker reads the time; tests pass one they move forward themselves. */
export interface Clock {
  now(): number;
}

/** The subset of a pino logger the worker uses. */
export interface WorkerLog {
  debug(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface WorkerOptions {
  /** How long one attempt may take, connecting and answering included. */
  timeoutMs: number;
  /** How often the queue is checked when nothing wakes the worker. */
  pollIntervalMs: number;
  /** Attempts in flight at once, at most. */
  concurrency: number;
  /** Completed deliveries are deleted this long after completion; 0 keeps them. */
  retentionMs: number;
  /** The retry schedule; `retryPeriodMs` is usually the only part that is configured. */
  schedule?: Partial<RetrySchedule>;
  clock?: Clock;
  /** Jitter source, [0, 1). */
  random?: () => number;
  log?: WorkerLog;
  /** How often old deliveries are pruned; default hourly. */
  pruneIntervalMs?: number;
  /**
   * Work run at every poll, one run at a time (the access-level clock, which records events the
   * worker then delivers). Its failures are logged and it runs again at the next poll.
   */
  onPoll?: () => Promise<unknown>;
}

/** What `runOnce()` did: the attempts it made, in claim order. */
export interface AttemptReport {
  claim: ClaimedDelivery;
  outcome: AttemptOutcome;
  /** False when the outcome was not recorded (stale: the delivery was cancelled or re-claimed). */
  recorded: boolean;
}

/** Reads at most `limit` characters of a response body, then lets the rest go. */
async function readSome(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.slice(0, limit);
}

function truncate(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_ERROR_LENGTH ? `${flat.slice(0, MAX_ERROR_LENGTH - 1)}…` : flat;
}

/**
 * Delivers webhook events: one per server process. It takes due deliveries from the shared queue
 * (a lease, so that several processes never send the same attempt), POSTs each signed event with a
 * timeout, and records the outcome: 2xx succeeds, anything else is retried on the schedule until
 * the retry period is over. Woken by `wake()` after a commit that wrote events, and by a poll.
 */
export class DeliveryWorker {
  private readonly schedule: RetrySchedule;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Aborts the attempts still in flight when stopping takes too long. */
  private readonly stopping = new AbortController();
  private running = false;
  private pumping: Promise<void> | undefined;
  private pruning: Promise<unknown> | undefined;
  private polling: Promise<unknown> | undefined;
  private again = false;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly store: WebhookStore,
    private readonly options: WorkerOptions,
  ) {
    this.schedule = { ...DEFAULT_SCHEDULE, ...options.schedule };
    this.clock = options.clock ?? { now: () => Date.now() };
    this.leaseMs = options.timeoutMs + LEASE_MARGIN_MS;
  }

  /** Starts polling; the first check and a first prune happen at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const every = (ms: number, task: () => void) => {
      const timer = setInterval(task, ms);
      timer.unref();
      this.timers.push(timer);
    };
    const onPoll = this.options.onPoll;
    const poll = () => {
      if (onPoll) {
        this.polling ??= onPoll()
          .catch((error) => this.options.log?.error({ err: error }, 'webhook worker: the work of a poll failed'))
          .finally(() => (this.polling = undefined));
      }
      this.wake();
    };
    every(this.options.pollIntervalMs, poll);
    if (this.options.retentionMs > 0) {
      const prune = () => {
        this.pruning ??= this.prune().finally(() => (this.pruning = undefined));
      };
      every(this.options.pruneIntervalMs ?? HOUR_MS, prune);
      prune();
    }
    poll();
  }

  /** Looks for due deliveries now (called after a commit that wrote events). */
  wake(): void {
    if (!this.running) return;
    // A wake-up while claiming is remembered, so that what it announced is looked for right after.
    this.again = true;
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.again) this.wake();
    });
  }

  /** Claims as many due deliveries as there are free slots, again while that fills every slot or a wake-up came. */
  private async pump(): Promise<void> {
    try {
      while (this.again && this.running) {
        this.again = false;
        const free = this.options.concurrency - this.inFlight.size;
        // Full: the next attempt to finish wakes the worker.
        if (free <= 0) return;
        const claims = await this.store.claimDue(this.clock.now(), free, this.leaseMs);
        for (const claim of claims) this.track(this.attempt(claim));
        if (claims.length === free) this.again = true;
      }
    } catch (error) {
      this.options.log?.error({ err: error }, 'webhook worker: could not claim deliveries');
    }
  }

  private track(attempt: Promise<unknown>): void {
    const tracked = attempt
      .catch((error) => this.options.log?.error({ err: error }, 'webhook worker: could not record an attempt'))
      .finally(() => {
        this.inFlight.delete(tracked);
        // A slot is free: take the next delivery rather than wait for the poll.
        this.wake();
      });
    this.inFlight.add(tracked);
  }

  /**
   * One step, for tests and tools: claims up to `concurrency` due deliveries at the clock's time,
   * attempts them all, records the outcomes and reports them.
   */
  async runOnce(): Promise<AttemptReport[]> {
    const claims = await this.store.claimDue(this.clock.now(), this.options.concurrency, this.leaseMs);
    return Promise.all(claims.map((claim) => this.attempt(claim)));
  }

  /** Sends one claimed delivery and records what happened. */
  async attempt(claim: ClaimedDelivery): Promise<AttemptReport> {
    const sentAt = this.clock.now();
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      [SIGNATURE_HEADER]: signatureHeader(claim.secret, claim.payload, Math.floor(sentAt / 1000)),
      [EVENT_ID_HEADER]: claim.eventId,
      [EVENT_TYPE_HEADER]: claim.eventType,
      [DELIVERY_ID_HEADER]: String(claim.id),
      [DELIVERY_ATTEMPT_HEADER]: String(claim.attempt),
    };
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(claim.url, {
        method: 'POST',
        headers,
        body: claim.payload,
        // A redirect is an answer that is not 2xx: following it would send the event somewhere else.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.stopping.signal]),
      });
      statusCode = response.status;
      if (statusCode >= 200 && statusCode < 300) {
        await response.body?.cancel().catch(() => {});
      } else {
        const text = await readSome(response, MAX_ERROR_LENGTH).catch(() => '');
        error = truncate(`HTTP ${statusCode}${text ? `: ${text}` : ''}`);
      }
    } catch (thrown) {
      error = truncate(this.describe(thrown));
    }
    const now = this.clock.now();
    const outcome: AttemptOutcome =
      error === null
        ? { status: 'succeeded', statusCode: statusCode! }
        : {
            status: 'failed',
            statusCode,
            error,
            nextAttemptAt: nextAttemptAt(claim.attempt, now, claim.createdAt, this.schedule, this.options.random),
          };
    const recorded = await this.store.recordAttempt(claim, outcome, now);
    const context = { delivery_id: claim.id, event_id: claim.eventId, endpoint_id: claim.endpointId, attempt: claim.attempt };
    if (outcome.status === 'succeeded') this.options.log?.debug({ ...context, status_code: statusCode }, 'webhook delivered');
    else {
      const next = outcome.nextAttemptAt === null ? null : new Date(outcome.nextAttemptAt).toISOString();
      this.options.log?.warn({ ...context, status_code: statusCode, error, next_attempt_at: next }, next ? 'webhook attempt failed; will retry' : 'webhook delivery failed for good');
    }
    return { claim, outcome, recorded };
  }

  private describe(thrown: unknown): string {
    if (thrown instanceof Error && thrown.name === 'TimeoutError') return `timed out after ${this.options.timeoutMs} ms`;
    if (this.stopping.signal.aborted) return 'stopped: the server shut down during the attempt';
    if (thrown instanceof Error) {
      // fetch reports network failures as "fetch failed" with the real reason as the cause.
      const cause = thrown.cause instanceof Error ? thrown.cause.message : undefined;
      return cause ? `${thrown.message}: ${cause}` : thrown.message;
    }
    return String(thrown);
  }

  /** Deletes deliveries completed longer ago than the retention, and their events. */
  async prune(): Promise<{ deliveries: number; events: number }> {
    try {
      return await this.store.prune(this.clock.now() - this.options.retentionMs);
    } catch (error) {
      this.options.log?.error({ err: error }, 'webhook worker: pruning old deliveries failed');
      return { deliveries: 0, events: 0 };
    }
  }

  /**
   * Stops taking deliveries and waits for the attempts in flight, at most `graceMs` (default: the
   * request timeout); those still running then are aborted and recorded as failed attempts, to be
   * retried (by this process after a restart, or by another one).
   */
  async stop(graceMs = this.options.timeoutMs): Promise<void> {
    this.running = false;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.all([this.pumping, this.pruning, this.polling]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    clearTimeout(timer);
    if (this.inFlight.size > 0) {
      this.stopping.abort();
      await Promise.allSettled([...this.inFlight]);
    }
  }
}

/** The worker of a server process, as configured, woken by the store after every commit that wrote events. */
export function createDeliveryWorker(
  store: Store,
  settings: WebhookSettings,
  log?: WorkerLog,
  onPoll?: () => Promise<unknown>,
): DeliveryWorker {
  const worker = new DeliveryWorker(store.webhooks, {
    ...(onPoll && { onPoll }),
    timeoutMs: settings.timeoutMs,
    pollIntervalMs: settings.pollIntervalMs,
    concurrency: settings.concurrency,
    retentionMs: settings.retentionDays * 86_400_000,
    schedule: { retryPeriodMs: settings.retryPeriodMs },
    ...(log && { log }),
  });
  store.onDeliveriesQueued(() => worker.wake());
  return worker;
}
