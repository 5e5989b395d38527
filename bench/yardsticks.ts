// The benchmark's helpers around its servers: where a child server listens, the webhook sink,
// and the check that the straightforward service answers what Crosswalk answers.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { customerUserId, SUBSCRIBER_EVERY } from './preload.js';
import { IDENTIFIERS_PATH, PROFILE_PATH } from './scenarios.js';

/** A process that prints `listening <port>` on stdout once it is ready; its port. */
export async function listeningPort(child: ChildProcess, name: string): Promise<number> {
  // Its output ends when it exits, even if it exited before this was called.
  const exited = once(child.stdout!, 'end').then(() => {
    throw new Error(`${name} exited before listening`);
  });
  const line = once(child.stdout!, 'data').then(([data]) => String(data));
  const port = Number(/listening (\d+)/.exec(await Promise.race([line, exited]))?.[1]);
  if (!port) throw new Error(`${name} did not say where it listens`);
  return port;
}

/** Where the webhook endpoint points: answers 204 to every delivery and counts them. */
export async function webhookSink(): Promise<{ port: number; received: () => number; close: () => void }> {
  let received = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received++;
      response.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, received: () => received, close: () => server.close() };
}

/**
 * Before any load: the straightforward service must answer what Crosswalk answers for a preloaded
 * profile's identifiers, and the same subscription and access level for a subscriber's profile.
 */
export async function checkSameAnswers(ports: { crosswalk: number; plain: number }, auth: string): Promise<void> {
  const ask = async (port: number, path: string, user: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: auth, 'adapty-customer-user-id': user } });
    if (response.status !== 200) throw new Error(`GET ${path} for ${user} on port ${port} answered ${response.status}: ${await response.text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  };
  const gist = (answer: Record<string, unknown>) => {
    const data = answer.data as { total_revenue_usd: number; access_levels: Record<string, unknown>[]; subscriptions: Record<string, unknown>[] };
    return JSON.stringify({
      revenue: data.total_revenue_usd,
      access: data.access_levels.map((a) => [a.access_level_id, a.is_active]),
      subscriptions: data.subscriptions.map((s) => [s.store_original_transaction_id, s.is_active]),
    });
  };
  const identifiers = await Promise.all([ports.crosswalk, ports.plain].map((port) => ask(port, IDENTIFIERS_PATH, customerUserId(1))));
  const profile = await Promise.all([ports.crosswalk, ports.plain].map((port) => ask(port, PROFILE_PATH, customerUserId(SUBSCRIBER_EVERY))));
  if (JSON.stringify(identifiers[0]) !== JSON.stringify(identifiers[1]) || gist(profile[0]!) !== gist(profile[1]!)) {
    throw new Error(`the straightforward service answers differently:\n${JSON.stringify({ identifiers, profile: profile.map(gist) }, null, 2)}`);
  }
}
