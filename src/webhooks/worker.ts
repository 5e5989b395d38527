import type { WebhookSettings } from '../config.js';
import type { Store } from '../storage/store.js';
import type { AttemptOutcome, ClaimedDelivery, WebhookStore } from '../storage/webhook-store.js';
import { buildDelivery, DESTINATION_TYPES, type DestinationDefinition } from '../destinations/index.js';
import type { EventPayload } from '../domain/events.js';
import type { DestinationColumn } from '../storage/destination-store.js';
import { CROSSWALK_VERSION } from '../version.js';
import { NetworkPolicy, TargetRefusedError } from './network-policy.js';
import { DEFAULT_SCHEDULE, nextAttemptAt, type RetrySchedule } from './schedule.js';
import {
  DELIVERY_ATTEMPT_HEADER,
  DELIVERY_ID_HEADER,
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  SIGNATURE_HEADER,
  signatureHeader,
} from './signing.js';
import { WebhookTransport } from './transport.js';

export const USER_AGENT = `Crosswalk-Webhooks/${CROSSWALK_VERSION}`;

/** The longest error text kept on a delivery. */
export const MAX_ERROR_LENGTH = 500;

/** How much of the body of an answer that is not 2xx is kept in the error, in characters. */
export const MAX_EXCERPT_LENGTH = 200;

/** How much of a tool's answer is read, in characters: enough for its error message. */
const TOOL_ANSWER_LENGTH = 2_000;

export const DESTINATION_USER_AGENT = `Crosswalk-Destinations/${CROSSWALK_VERSION}`;

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
  /** Told the outcome of every attempt at a destination (for metrics): `retried` is a failed attempt that will be tried again. */
  onDestinationOutcome?: (type: string, outcome: 'succeeded' | 'failed' | 'skipped' | 'retried') => void;
  /**
   * Where deliveries may go. Default: public addresses only, resolved by the system resolver;
   * a server process passes the policy of its settings (WEBHOOK_ALLOW_PRIVATE_NETWORKS,
   * WEBHOOK_ALLOWED_NETWORKS).
   */
  network?: NetworkPolicy;
}

/** What `runOnce()` did: the attempts it made, in claim order. */
export interface AttemptReport {
  claim: ClaimedDelivery;
  outcome: AttemptOutcome;
  /** False when the outcome was not recorded (stale: the delivery was cancelled or re-claimed). */
  recorded: boolean;
}

/**
 * Error text as it is kept: runs of white space (line breaks included) as one space, other control
 * and format characters (NUL, escapes, bidirectional overrides) removed, at most MAX_ERROR_LENGTH
 * characters. What an endpoint answers is shown to API callers and printed by the CLI.
 */
export function cleanErrorText(text: string): string {
  const flat = text
    .replace(/\s+/g, ' ')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .trim();
  const chars = Array.from(flat);
  return chars.length > MAX_ERROR_LENGTH ? `${chars.slice(0, MAX_ERROR_LENGTH - 1).join('')}…` : flat;
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
  private readonly transport: WebhookTransport;
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
    this.transport = new WebhookTransport(options.network ?? new NetworkPolicy({ allowPrivateNetworks: false, allowedNetworks: [] }));
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
    if (claim.destination !== null) return this.attemptDestination(claim, claim.destination);
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
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    try {
      // A redirect is an answer that is not 2xx: following it would send the event somewhere else.
      const answer = await this.transport.post(claim.url, headers, claim.payload, AbortSignal.any([timeout, this.stopping.signal]), MAX_EXCERPT_LENGTH);
      statusCode = answer.statusCode;
      if (statusCode < 200 || statusCode >= 300) {
        const excerpt = cleanErrorText(answer.excerpt);
        error = cleanErrorText(`HTTP ${statusCode}${excerpt ? `: ${excerpt}` : ''}`);
      }
    } catch (thrown) {
      error = cleanErrorText(this.describe(thrown, timeout));
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

  /**
   * One attempt at a destination: the tool's own request built from the stored event (or the
   * delivery skipped, with the reason), sent under the same network policy as webhooks, and the
   * answer read as the tool documents it: retried on 429 and 5xx (not before the tool's
   * Retry-After), failed for good on an answer the tool calls permanent.
   */
  private async attemptDestination(claim: ClaimedDelivery, column: string): Promise<AttemptReport> {
    const stored = JSON.parse(column) as DestinationColumn;
    const definition: DestinationDefinition = {
      id: claim.endpointId,
      type: stored.type,
      baseUrl: claim.url,
      config: stored.config,
      eventNames: stored.event_names,
      includeSandbox: stored.include_sandbox,
    };
    const built = buildDelivery(definition, JSON.parse(claim.payload) as EventPayload);
    const type = DESTINATION_TYPES.get(stored.type);
    // Without the tool's own dedup, an attempt that may have arrived is not repeated on our own.
    const notAgain = (what: string) =>
      `not sent again: ${what} may have reached ${stored.type}, which has no dedup key; check the tool, then redeliver if it is missing`;
    let outcome: AttemptOutcome;
    if ('skip' in built) outcome = { status: 'skipped', reason: cleanErrorText(built.skip) };
    else if (claim.previousOutcomeUnknown && type?.deduplicates !== true) {
      outcome = { status: 'failed', statusCode: null, error: notAgain(`attempt ${claim.attempt - 1}, cut short by its process stopping,`), nextAttemptAt: null };
    } else {
      const { request } = built;
      let statusCode: number | null = null;
      let error: string;
      let retry = true;
      let retryAfterMs = 0;
      const timeout = AbortSignal.timeout(this.options.timeoutMs);
      try {
        const answer = await this.transport.exchange(
          request.url,
          { 'user-agent': DESTINATION_USER_AGENT, ...request.headers },
          request.body,
          AbortSignal.any([timeout, this.stopping.signal]),
          TOOL_ANSWER_LENGTH,
        );
        statusCode = answer.statusCode;
        const verdict = type!.judge(answer);
        if (verdict.status === 'succeeded') error = '';
        else {
          // Each tool's reading names the status already (`Amplitude 400: …`, `Adjust answered 404: …`).
          error = cleanErrorText(verdict.error);
          retry = verdict.status === 'retry';
          retryAfterMs = verdict.status === 'retry' ? (verdict.retryAfterMs ?? 0) : 0;
        }
      } catch (thrown) {
        error = this.describe(thrown, timeout);
        if (type?.deduplicates !== true && mayHaveArrived(thrown, timeout)) {
          retry = false;
          error = `${error}; ${notAgain('the request')}`;
        }
        error = cleanErrorText(error);
      }
      const now = this.clock.now();
      if (error === '') outcome = { status: 'succeeded', statusCode: statusCode! };
      else {
        let next = retry ? nextAttemptAt(claim.attempt, now, claim.createdAt, this.schedule, this.options.random) : null;
        // Not before the tool said it would take it again, within the retry period.
        if (next !== null && retryAfterMs > 0) next = Math.max(next, now + retryAfterMs);
        if (next !== null && next > claim.createdAt + this.schedule.retryPeriodMs) next = null;
        outcome = { status: 'failed', statusCode, error, nextAttemptAt: next };
      }
    }
    const recorded = await this.store.recordAttempt(claim, outcome, this.clock.now());
    const label = outcome.status === 'failed' && outcome.nextAttemptAt !== null ? 'retried' : outcome.status;
    this.options.onDestinationOutcome?.(stored.type, label);
    const context = { delivery_id: claim.id, event_id: claim.eventId, destination_id: claim.endpointId, destination_type: stored.type, attempt: claim.attempt };
    if (outcome.status === 'succeeded') this.options.log?.debug({ ...context, status_code: outcome.statusCode }, 'destination delivered');
    else if (outcome.status === 'skipped') this.options.log?.debug({ ...context, reason: outcome.reason }, 'destination delivery skipped');
    else {
      const next = outcome.nextAttemptAt === null ? null : new Date(outcome.nextAttemptAt).toISOString();
      this.options.log?.warn(
        { ...context, status_code: outcome.statusCode, error: outcome.error, next_attempt_at: next },
        next ? 'destination attempt failed; will retry' : 'destination delivery failed for good',
      );
    }
    return { claim, outcome, recorded };
  }

  private describe(thrown: unknown, timeout: AbortSignal): string {
    if (thrown instanceof TargetRefusedError) return thrown.message;
    if (timeout.aborted) return `timed out after ${this.options.timeoutMs} ms`;
    if (this.stopping.signal.aborted) return 'stopped: the server shut down during the attempt';
    // The wording kept on deliveries since they were sent with fetch: "fetch failed: <reason>".
    if (thrown instanceof Error) return `fetch failed: ${thrown.message}`;
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
    this.transport.close();
  }
}

/** Errors that come before a request is sent: the target could not have seen it. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * Whether a failed request may still have reached the target: a timeout or a connection lost
 * after it was sent may have; a refused target, a failed lookup or connection, or a TLS failure
 * (before anything is sent) have not.
 */
function mayHaveArrived(thrown: unknown, timeout: AbortSignal): boolean {
  if (thrown instanceof TargetRefusedError) return false;
  if (timeout.aborted) return true;
  const code = String((thrown as { code?: unknown }).code ?? '');
  if (NOT_SENT_CODES.has(code)) return false;
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_INVALID_URL)/.test(code)) return false;
  return true;
}

/** The worker of a server process, as configured, woken by the store after every commit that wrote events. */
export function createDeliveryWorker(
  store: Store,
  settings: WebhookSettings,
  log?: WorkerLog,
  onPoll?: () => Promise<unknown>,
  onDestinationOutcome?: WorkerOptions['onDestinationOutcome'],
): DeliveryWorker {
  const worker = new DeliveryWorker(store.webhooks, {
    ...(onPoll && { onPoll }),
    ...(onDestinationOutcome && { onDestinationOutcome }),
    network: new NetworkPolicy(settings),
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
