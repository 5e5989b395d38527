import type { FastifyInstance } from 'fastify';
import type { Store } from '../../storage/store.js';

/** Webhook management under /crosswalk/v1/webhooks/. */
export function webhookRoutes(_app: FastifyInstance, _store: Store): void {}
