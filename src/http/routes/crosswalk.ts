import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';
import type { Store } from '../../storage/store.js';

/** Identifier lookup, history and batch writes under /crosswalk/v1/. */
export function crosswalkRoutes(_app: FastifyInstance, _store: Store, _metrics?: Metrics): void {}
