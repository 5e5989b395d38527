/**
 * The audit trail of management changes: who changed what of an app's set-up, and when. Recorded
 * in the transaction of the change itself, so that a change never lacks its entry and a change
 * that failed leaves none.
 */

/**
 * Who made a change: the id of the API key a request carried, `cli` for the `crosswalk` command,
 * or `startup` for what the server registers when it starts (CROSSWALK_API_KEY, a first key).
 */
export type AuditActor = string;

export const CLI_ACTOR: AuditActor = 'cli';
export const STARTUP_ACTOR: AuditActor = 'startup';

/** Every action the trail records, as its `action` field names it. */
export const AUDIT_ACTIONS = [
  'app.create',
  'key.create',
  'key.revoke',
  'key.scope',
  'rules.update',
  'webhook_endpoint.add',
  'webhook_endpoint.remove',
  'webhook_delivery.redeliver',
  'destination.add',
  'destination.remove',
  'destination_delivery.redeliver',
  'access_level.add',
  'access_level.remove',
  'product.set',
  'product.remove',
  'currency_rate.set',
  'currency_rate.remove',
  'revenue_settings.set',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** A small JSON object of what changed; never a secret (a key, a signing secret, a full webhook URL). */
export type AuditDetail = Record<string, string | number | boolean | null | readonly string[] | Record<string, string>>;

/** What a management operation asks to record, with its change. */
export interface AuditChange {
  appId: string;
  action: AuditAction;
  /** The id of what changed (a key, an endpoint, a product, a currency…); null when the app's set-up as a whole changed. */
  targetId: string | null;
  detail: AuditDetail;
}

/** One recorded entry. */
export interface AuditEntry extends AuditChange {
  /** Increasing within the database: newer entries have larger ids. */
  id: number;
  actor: AuditActor;
  createdAt: number;
}

/**
 * A webhook URL as the trail keeps it: scheme, host and port only. Paths and query strings often
 * carry tokens (chat and automation services put the secret in the path), and the trail must not.
 */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}
