import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditEntry } from '../../domain/audit.js';
import type { AuditService } from '../../services/audit.js';
import { AUDIT_DEFAULT_LIMIT, auditQuery, auditResponse } from '../schemas/audit.js';
import { errorResponses } from '../schemas/common.js';

export const AUDIT_PATH = '/crosswalk/v1/audit/';

function entryToWire(entry: AuditEntry) {
  return {
    id: String(entry.id),
    actor: entry.actor,
    action: entry.action,
    target_id: entry.targetId,
    detail: entry.detail,
    created_at: new Date(entry.createdAt).toISOString(),
  };
}

/** The audit trail of the key's app, newest first; admin keys only. */
export function auditRoutes(app: FastifyInstance, audit: AuditService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(AUDIT_PATH, {
    config: { scope: 'admin' },
    schema: {
      operationId: 'listAuditEntries',
      summary: "Page through the app's audit trail of management changes, newest first (admin keys only)",
      description:
        'Who (an API key id, `cli` or `startup`) changed what (keys, rules, webhook endpoints, redeliveries, revenue configuration) and when. ' +
        'Each entry is written in the transaction of its change.',
      tags: ['Audit (Crosswalk)'],
      security: [{ apiKey: [] }],
      querystring: auditQuery,
      response: { 200: auditResponse, ...errorResponses(403) },
    },
  }, async (request) => {
    const { limit = AUDIT_DEFAULT_LIMIT, cursor: before } = request.query;
    const page = await audit.list(request.appId, { limit, before });
    return { data: page.entries.map(entryToWire), next_cursor: page.next === null ? null : String(page.next) };
  });
}
