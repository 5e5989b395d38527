import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import type { AppReport, StatsService } from '../../services/stats.js';
import { errorResponses } from '../schemas/common.js';
import { statsResponse } from '../schemas/stats.js';

export const STATS_PATH = '/crosswalk/v1/stats/';

/** The report in wire words. The database's file name or schema is left out: it says where the server keeps its data. */
function reportToWire(report: AppReport) {
  return {
    app: { id: report.app.id, name: report.app.name },
    profiles: report.profiles,
    identifiers: report.identifiers,
    api_keys: { active: report.apiKeys.active, revoked: report.apiKeys.revoked },
    revenue: {
      transactions: report.revenue.transactions.map((row) => ({
        store: row.store,
        environment: row.environment,
        count: row.count,
        refunded: row.refunded,
        revenue_usd: Math.round(row.revenueUsd * 100) / 100,
      })),
      grants: report.revenue.grants,
      revenue_usd: report.revenue.revenueUsd,
    },
    database: { dialect: report.database.dialect, bytes: report.database.bytes },
  };
}

/** GET /crosswalk/v1/stats/: the counts `crosswalk stats` shows, for the key's app; admin keys only. */
export function statsRoutes(app: FastifyInstance, stats: StatsService): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    STATS_PATH,
    {
      // Key counts and the size of the whole database are for the people who run the server.
      config: { scope: 'admin' },
      schema: {
        operationId: 'getAppStats',
        summary: "Count the app's profiles, identifiers per key, API keys, transactions and revenue, and measure the database",
        tags: ['App (Crosswalk)'],
        security: [{ apiKey: [] }],
        response: { 200: statsResponse, ...errorResponses(403, 404) },
      },
    },
    async (request) => {
      const report = await stats.report(request.appId);
      // The key's app exists while the key does; an app removed meanwhile is simply not found.
      if (report === null) throw notFound('App not found');
      return { data: reportToWire(report) };
    },
  );
}
