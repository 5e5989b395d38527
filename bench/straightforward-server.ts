// The second yardstick: the service a backend engineer would write in an afternoon for the
// requests the scenarios send. Fastify with its own JSON schema validation of the body, a key
// lookup query and a profile query per request (no caches), one transaction per write with a
// durable commit, no logs, no metrics, no history, no rules, no events. Same paths, same key,
// same preloaded profiles and the same kind of answers (the identifiers, the profile) as the real
// server; batch writes are not offered. Started by run.ts:
//   BENCH_API_KEY=<key> node --import tsx bench/straightforward-server.ts --database <sqlite:file | postgres://…> --profiles N
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { GRANT_PATH, IDENTIFIERS_PATH, PROFILE_PATH, TRANSACTION_PATH } from './scenarios.js';
import { postgresStore } from './straightforward-postgres.js';
import { grantBody, headers, identifiersBody, KEYS, type TransactionBody, transactionBody } from './straightforward-schemas.js';
import { sqliteStore } from './straightforward-sqlite.js';
import type { ProfileRow, Revenue, StraightforwardStore } from './straightforward-store.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The profile with its subscriptions (latest transaction of each) and access levels, as of `now`. */
function profileAnswer(profile: ProfileRow, revenue: Revenue, now: number) {
  const latest = new Map<string, Revenue['transactions'][number]>();
  for (const t of revenue.transactions) {
    const seen = latest.get(t.original_transaction_id);
    if (!seen || seen.purchased_at < t.purchased_at) latest.set(t.original_transaction_id, t);
  }
  const levels = new Map<string, number | null>();
  for (const { access_level, expires_at } of [...latest.values(), ...revenue.grants]) {
    const known = levels.get(access_level);
    levels.set(access_level, known === null || expires_at === null ? null : Math.max(known ?? 0, expires_at));
  }
  return {
    data: {
      app_id: profile.app_id,
      profile_id: profile.id,
      customer_user_id: profile.customer_user_id,
      total_revenue_usd: Math.round(revenue.transactions.reduce((sum, t) => sum + (t.price_usd ?? 0), 0) * 100) / 100,
      timestamp: now,
      custom_attributes: [],
      access_levels: [...levels].map(([id, end]) => ({ access_level_id: id, expires_at: iso(end), is_active: end === null || end > now })),
      subscriptions: [...latest.values()].map((t) => ({
        store: t.store,
        store_product_id: t.store_product_id,
        store_transaction_id: t.store_transaction_id,
        store_original_transaction_id: t.original_transaction_id,
        purchased_at: iso(t.purchased_at),
        expires_at: iso(t.expires_at),
        is_active: t.expires_at === null || t.expires_at > now,
      })),
      non_subscriptions: [],
    },
  };
}

export function buildService(store: StraightforwardStore) {
  // Unknown fields and wrong types are refused, not dropped or coerced as Fastify does by default.
  const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allowUnionTypes: true } } });

  /** The key's app, then the addressed profile: two queries, every request. */
  async function profileOf(request: FastifyRequest, reply: FastifyReply): Promise<ProfileRow | undefined> {
    const appId = await appOf(request, reply);
    if (!appId) return undefined;
    const profile = await store.findProfile(appId, request.headers['adapty-customer-user-id'] as string);
    if (!profile) void reply.code(404).send({ error_code: 'profile_does_not_exist', status_code: 404 });
    return profile;
  }
  async function appOf(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> {
    const key = /^Api-Key (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const appId = key && (await store.appOfKey(createHash('sha256').update(key).digest('hex')));
    if (!appId) void reply.code(401).send({ error_code: 'unauthorized', status_code: 401 });
    return appId || undefined;
  }
  const answerProfile = async (profile: ProfileRow) => profileAnswer(profile, await store.revenue(profile.id), Date.now());

  app.get(IDENTIFIERS_PATH, { schema: { headers } }, async (request, reply) => {
    const profile = await profileOf(request, reply);
    if (!profile) return reply;
    const answer: Record<string, string | null> = Object.fromEntries(KEYS.map((key) => [key, null]));
    for (const { key, value } of await store.identifiers(profile.id)) answer[key] = value;
    return answer;
  });
  app.post(IDENTIFIERS_PATH, { schema: { headers, body: identifiersBody } }, async (request, reply) => {
    const profile = await profileOf(request, reply);
    if (!profile) return reply;
    const values = Object.entries(request.body as Record<string, string | number | null>);
    await store.setIdentifiers(profile.id, values.map(([key, value]) => [key, value === null ? null : String(value)]), Date.now());
    return reply.code(200).send();
  });
  app.post(PROFILE_PATH, { schema: { headers } }, async (request, reply) => {
    const appId = await appOf(request, reply);
    if (!appId) return reply;
    return answerProfile(await store.createProfile(appId, request.headers['adapty-customer-user-id'] as string, Date.now()));
  });
  app.get(PROFILE_PATH, { schema: { headers } }, async (request, reply) => {
    const profile = await profileOf(request, reply);
    return profile ? answerProfile(profile) : reply;
  });
  app.post(TRANSACTION_PATH, { schema: { headers, body: transactionBody } }, async (request, reply) => {
    const profile = await profileOf(request, reply);
    if (!profile) return reply;
    const body = request.body as TransactionBody;
    const usd = body.price.currency === 'USD' ? body.price.value : null;
    await store.saveTransaction(profile.app_id, profile.id, {
      store: body.store,
      store_transaction_id: body.store_transaction_id,
      original_transaction_id: body.store_original_transaction_id,
      store_product_id: body.store_product_id,
      purchase_type: body.purchase_type,
      price_currency: body.price.currency,
      price_value: body.price.value,
      price_usd: usd,
      purchased_at: Date.parse(body.purchased_at),
      expires_at: body.expires_at ? Date.parse(body.expires_at) : null,
      access_level: 'premium',
    }, Date.now());
    return answerProfile(profile);
  });
  app.post(GRANT_PATH, { schema: { headers, body: grantBody } }, async (request, reply) => {
    const profile = await profileOf(request, reply);
    if (!profile) return reply;
    const body = request.body as { access_level_id: string; expires_at?: string | null };
    await store.saveGrant(profile.id, { access_level: body.access_level_id, expires_at: body.expires_at ? Date.parse(body.expires_at) : null }, Date.now());
    return answerProfile(profile);
  });
  return app;
}

async function main() {
  const { values: args } = parseArgs({ options: { database: { type: 'string' }, profiles: { type: 'string', default: '0' } } });
  const url = args.database ?? '';
  const key = process.env.BENCH_API_KEY;
  if (!key || !/^(sqlite:|postgres)/.test(url)) throw new Error('needs BENCH_API_KEY and --database sqlite:<file> or postgres://…');
  const store = url.startsWith('sqlite:') ? sqliteStore(url.slice('sqlite:'.length)) : postgresStore(url);
  const started = Date.now();
  await store.preload(crypto.randomUUID(), createHash('sha256').update(key).digest('hex'), Number(args.profiles));
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(`  straightforward service: ${Number(args.profiles).toLocaleString('en')} profiles loaded in ${seconds.toFixed(1)} s\n`);
  const app = buildService(store);
  await app.listen({ port: 0, host: '127.0.0.1' });
  app.server.keepAliveTimeout = 72_000;
  process.stdout.write(`listening ${(app.server.address() as { port: number }).port}\n`);
  process.on('SIGTERM', () => void app.close().then(() => store.close()).then(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
