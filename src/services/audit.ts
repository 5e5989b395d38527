import type { AuditPage, AuditQuery, Store } from '../storage/store.js';

/** The audit trail of an app's management changes, as the admin API and `crosswalk audit` read it. */
export class AuditService {
  constructor(private readonly store: Store) {}

  /** A page of the app's trail, newest first. */
  list(appId: string, query: AuditQuery): Promise<AuditPage> {
    return this.store.auditLog(appId, query);
  }
}
