import type { ToolAnswer, ToolRequest } from '../destinations/index.js';
import type { DestinationSender } from '../services/destinations.js';
import type { NetworkPolicy } from './network-policy.js';
import { WebhookTransport } from './transport.js';
import { DESTINATION_USER_AGENT } from './worker.js';

/** How much of a tool's answer to a test send is read. */
const ANSWER_LENGTH = 2_000;

/**
 * Sends a destination's test event at once (POST /crosswalk/v1/destinations/{id}/test/), through
 * the same transport and network policy as deliveries, with the delivery timeout.
 */
export class PolicySender implements DestinationSender {
  private readonly transport: WebhookTransport;

  constructor(
    network: NetworkPolicy,
    private readonly timeoutMs: number,
  ) {
    this.transport = new WebhookTransport(network);
  }

  async send(request: ToolRequest): Promise<ToolAnswer> {
    try {
      return await this.transport.exchange(
        request.url,
        { 'user-agent': DESTINATION_USER_AGENT, ...request.headers },
        request.body,
        AbortSignal.timeout(this.timeoutMs),
        ANSWER_LENGTH,
      );
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') throw new Error(`timed out after ${this.timeoutMs} ms`);
      throw new Error(`the connection failed: ${(error as Error).message}`, { cause: error });
    }
  }

  close(): void {
    this.transport.close();
  }
}
