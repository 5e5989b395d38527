import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { hostOf, type NetworkPolicy } from './network-policy.js';

/** How long an idle kept-alive connection to an endpoint is kept (under the usual 5 s of servers). */
const IDLE_SOCKET_MS = 4_000;

/** What an endpoint answered: its status and, for an answer that is not 2xx, the start of its body. */
export interface Answer {
  statusCode: number;
  /** The first `excerptLength` characters of the body at most, decoded as UTF-8; empty for a 2xx answer. */
  excerpt: string;
}

/**
 * POSTs webhook requests with node:http and node:https, connecting only where the network policy
 * allows: a host name is resolved by the policy's `lookup`, which checks every address and gives the
 * socket only checked ones; an IP-literal host (which Node connects to without a lookup) is checked
 * here. TLS still names and verifies the URL's host. Redirects are never followed: Node's client
 * does not follow them, and a 3xx is an answer like any other that is not 2xx.
 */
export class WebhookTransport {
  // Agents of its own: a kept-alive connection opened under one policy is never reused under another.
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  };

  constructor(private readonly network: NetworkPolicy) {}

  /** Sends one request; rejects with the connection's error, a TargetRefusedError, or the signal's abort. */
  async post(target: string, headers: Record<string, string>, body: string, signal: AbortSignal, excerptLength: number): Promise<Answer> {
    const response = await this.request(target, headers, body, signal);
    const statusCode = response.statusCode ?? 0;
    if (statusCode >= 200 && statusCode < 300) {
      // The body is not wanted; reading it to its end lets the connection be reused.
      response.resume();
      return { statusCode, excerpt: '' };
    }
    return { statusCode, excerpt: await readSome(response, excerptLength).catch(() => '') };
  }

  /**
   * Sends one request and reads the answer's status, headers and the first `bodyLength` characters
   * of its body, whatever the status (a tool may say in a 2xx body what it did with the request).
   */
  async exchange(
    target: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
    bodyLength: number,
  ): Promise<{ statusCode: number; headers: http.IncomingHttpHeaders; body: string }> {
    const response = await this.request(target, headers, body, signal);
    return { statusCode: response.statusCode ?? 0, headers: response.headers, body: await readSome(response, bodyLength).catch(() => '') };
  }

  private async request(target: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<http.IncomingMessage> {
    const url = new URL(target);
    const host = hostOf(url);
    if (net.isIP(host)) this.network.checkAddress(host);
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: this.agents[url.protocol as 'http:' | 'https:'],
      lookup: this.network.lookup,
      signal,
    });
    // Errors after the answer (an abort, a reset while the rest of a body arrives) end the request quietly.
    request.on('error', () => {});
    request.end(body);
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    response.on('error', () => {});
    return response;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    for (const agent of Object.values(this.agents)) agent.destroy();
  }
}

/** Reads the first `limit` characters (code points) of a body, then lets the rest go. */
async function readSome(response: http.IncomingMessage, limit: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response as AsyncIterable<Buffer>) {
    text += decoder.decode(chunk, { stream: true });
    // Twice as many UTF-16 units hold at least `limit` code points. Leaving the loop destroys the
    // response: the rest is never read.
    if (text.length >= 2 * limit) break;
  }
  return Array.from(text).slice(0, limit).join('');
}
