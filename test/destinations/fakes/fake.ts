import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for one tool's ingestion API, written from the tool's documentation: it listens
 * on loopback only, checks the path, the authentication and the payload as the tool does, and
 * counts events the way the tool would (after the tool's own deduplication).
 */

/** One event as the tool would count it. */
export interface CountedEvent {
  /** The id the tool files it under (user id, device id, distinct id, app instance id, ...). */
  userId: string;
  /** The event's name as the tool shows it (for Adjust: the event token). */
  eventName: string;
  /** Revenue as the tool reads it, or null for an event without revenue. */
  revenue: number | null;
  currency: string | null;
  /** The tool's deduplication key for this event, or null when the tool has none. */
  dedupKey: string | null;
  /** Everything else the fake parsed, for assertions on fields. */
  raw: Record<string, unknown>;
}

/** A request the fake received, whatever it answered. */
export interface ReceivedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The status the fake answered. */
  status: number;
}

export interface ToolFake {
  /** The `base_url` to give the destination: `http://127.0.0.1:<port>`. */
  baseUrl: string;
  /** Credentials the fake accepts, as the destination's `config` (every required field). */
  config: Record<string, string>;
  /** Event names to give the destination, when the type needs some (Adjust's event tokens); else empty. */
  eventNames: Record<string, string>;
  /** Every request received, in order. */
  readonly requests: readonly ReceivedRequest[];
  /** The events the tool would count, in order, duplicates by the tool's dedup key already dropped. */
  counted(): CountedEvent[];
  /**
   * The next requests are answered with these statuses (and the body the tool documents for them)
   * instead of being handled, one status per request; `retryAfterSeconds` sets Retry-After where
   * the tool sends one.
   */
  failNext(statuses: number[], retryAfterSeconds?: number): void;
  /** Requests are held without an answer until release() (for a process killed mid-attempt). */
  hold(): void;
  /** How many requests are held, received whole and not yet answered. */
  waiting(): number;
  release(): void;
  close(): Promise<void>;
}

/** What a tool fake's own handler decides for one request. */
export interface FakeAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** One request as a tool fake's handler sees it: the whole body, the URL parsed. */
export interface FakeRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A tool fake's own handling of a request. */
export type FakeHandler = (request: FakeRequest) => FakeAnswer;

/** The tool's answer for a status forced by failNext, with the Retry-After the test asked for. */
export type FakeFailure = (status: number, retryAfterSeconds: number | undefined) => FakeAnswer;

/** An answer with a JSON body (and `headers` over the JSON content type). */
export const jsonAnswer = (status: number, body: unknown, headers?: Record<string, string>): FakeAnswer => ({
  status,
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});

/** `answer` with a Retry-After header when a test asks for one (`seconds` set), else unchanged. */
export function withRetryAfter(answer: FakeAnswer, seconds: number | undefined): FakeAnswer {
  return seconds === undefined ? answer : { ...answer, headers: { ...answer.headers, 'retry-after': String(seconds) } };
}

/** A parsed JSON value that is an object (not null, not an array). */
export const isJsonObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Starts a tool fake: the server of startFakeServer, with the credentials it accepts (`config`), the
 * event names a destination needs (none unless given) and the events the tool would count.
 */
export async function startToolFake(
  handle: FakeHandler,
  failure: FakeFailure,
  tool: { config: Record<string, string>; eventNames?: Record<string, string>; counted: () => CountedEvent[] },
): Promise<ToolFake> {
  const server = await startFakeServer(handle, failure);
  return { ...server, config: tool.config, eventNames: tool.eventNames ?? {}, counted: tool.counted };
}

/**
 * Starts an HTTP server on 127.0.0.1 that hands each request (method, URL, headers, whole body) to
 * `handle`, after the forced failures and holds of ToolFake. `failure(status, retryAfter)` gives the
 * tool's answer for a forced status.
 */
export async function startFakeServer(
  handle: FakeHandler,
  failure: FakeFailure,
): Promise<Pick<ToolFake, 'baseUrl' | 'requests' | 'failNext' | 'hold' | 'waiting' | 'release' | 'close'>> {
  const requests: ReceivedRequest[] = [];
  const forced: { status: number; retryAfter: number | undefined }[] = [];
  let holding = false;
  let held: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answer = () => {
        const force = forced.shift();
        let result: FakeAnswer;
        if (force) result = failure(force.status, force.retryAfter);
        else {
          try {
            result = handle({ method: req.method ?? '', url: new URL(req.url ?? '/', 'http://127.0.0.1'), headers: req.headers, body });
          } catch (error) {
            result = { status: 500, body: `fake failed: ${(error as Error).message}` };
          }
        }
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, status: result.status });
        res.writeHead(result.status, { 'content-type': 'text/plain', ...result.headers });
        res.end(result.body);
      };
      if (holding) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    failNext(statuses, retryAfterSeconds) {
      for (const status of statuses) forced.push({ status, retryAfter: retryAfterSeconds });
    },
    hold() {
      holding = true;
    },
    waiting: () => held.length,
    release() {
      holding = false;
      const waiting = held;
      held = [];
      for (const answer of waiting) answer();
    },
    async close() {
      holding = false;
      held = [];
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
