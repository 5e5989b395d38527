import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext as NodeTestContext } from 'node:test';
import { NetworkPolicy } from '../../src/webhooks/network-policy.js';
import { DeliveryWorker } from '../../src/webhooks/worker.js';
import { createTestContext, send, type Tenant, type TestContext, type TestDatabase } from '../helpers.js';

/** Every event type, written out here (not read from the product): what an endpoint subscribes to by default. */
export const ALL_EVENT_TYPES = [
  'profile.created',
  'profile.updated',
  'profile.deleted',
  'integration_identifiers.updated',
  'transaction.recorded',
  'access_level.updated',
];

/** One request the receiver got. */
export interface Receipt {
  headers: http.IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
  deliveryId: string;
  attempt: number;
  eventId: string;
  eventType: string;
  /** The status answered, or null when the receiver never answered. */
  answered: number | null;
  /** When the request had arrived and when it was answered (Date.now()). */
  receivedAt: number;
  answeredAt: number | null;
}

/**
 * How the receiver answers one request: a status code (now or later), 'hang' to never answer (a
 * timeout), or 'drop' to close the connection without an answer.
 */
export type Respond = (receipt: Receipt, receipts: readonly Receipt[]) => number | 'hang' | 'drop' | Promise<number>;

export interface Receiver {
  url: string;
  receipts: Receipt[];
  /** Replaces how requests are answered (default: 200). */
  respond: Respond;
  /** Receipts that were answered 2xx. */
  delivered(): Receipt[];
  /** The most requests that were waiting for their answer at one time. */
  maxInFlight: number;
  close(): Promise<void>;
}

/** A real HTTP endpoint on loopback that records every request and answers as told. */
export async function startReceiver(respond: Respond = () => 200): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    receipts: [],
    respond,
    delivered: () => receiver.receipts.filter((r) => r.answered !== null && r.answered >= 200 && r.answered < 300),
    maxInFlight: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  let inFlight = 0;
  const server = http.createServer((request, response) => {
    receiver.maxInFlight = Math.max(receiver.maxInFlight, ++inFlight);
    response.once('close', () => inFlight--);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const header = (name: string) => String(request.headers[name] ?? '');
      const receipt: Receipt = {
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        deliveryId: header('crosswalk-delivery-id'),
        attempt: Number(header('crosswalk-delivery-attempt')),
        eventId: header('crosswalk-event-id'),
        eventType: header('crosswalk-event-type'),
        answered: null,
        receivedAt: Date.now(),
        answeredAt: null,
      };
      receiver.receipts.push(receipt);
      const answer = receiver.respond(receipt, receiver.receipts);
      if (answer === 'hang') return;
      if (answer === 'drop') return void request.socket.destroy();
      void Promise.resolve(answer).then((status) => {
        receipt.answered = status;
        receipt.answeredAt = Date.now();
        // A redirect points back here, so that following it would show up as another receipt.
        const location = status >= 300 && status < 400 ? { location: `${receiver.url}?followed` } : {};
        response.writeHead(status, { 'content-type': 'text/plain', ...location }).end(status >= 300 ? `nope ${status}` : 'ok');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

/** Waits until `condition` holds, checking often, failing with `message` (made then, when a function) after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, message: string | (() => string), timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${typeof message === 'string' ? message : message()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A clock that moves only when told to. */
export class ManualClock {
  constructor(public time = Date.now()) {}
  now = () => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

export function databaseUrl(database: TestDatabase): string {
  return database.config.kind === 'sqlite' ? `sqlite:${database.config.file}` : database.config.url;
}

/** An app whose tenant has one endpoint at a real receiver, and a delivery worker woken by every commit. */
export interface DeliveringApp {
  ctx: TestContext;
  tenant: Tenant;
  receiver: Receiver;
  /** The endpoint as added (id, secret, ...). */
  endpoint: Record<string, unknown>;
}

/**
 * Starts a DeliveringApp on a database of its own (a worker takes the due deliveries of every app),
 * with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true (the receiver is on loopback), stopped and removed when the test ends. `endpointBody` adds to the endpoint's url (event_types...).
 */
export async function startDeliveringApp(t: NodeTestContext, kind: 'sqlite' | 'postgres', endpointBody: Record<string, unknown> = {}): Promise<DeliveringApp> {
  // The receiver is on loopback: allowed only because these tests say so.
  const ctx = await createTestContext(kind, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
  const receiver = await startReceiver();
  const network = new NetworkPolicy(ctx.config.webhooks);
  const worker = new DeliveryWorker(ctx.store.webhooks, { network, timeoutMs: 2_000, pollIntervalMs: 60_000, concurrency: 8, retentionMs: 0 });
  t.after(async () => {
    await worker.stop(0);
    await receiver.close();
    await ctx.close();
  });
  const tenant = await ctx.newTenant();
  const added = await send(ctx.app, 'POST', '/crosswalk/v1/webhooks/endpoints/', tenant.auth, { url: receiver.url, ...endpointBody });
  assert.equal(added.statusCode, 201, added.body);
  ctx.store.onDeliveriesQueued(() => worker.wake());
  worker.start();
  return { ctx, tenant, receiver, endpoint: added.json().data };
}
