/**
 * The revenue half of a profile: store transactions, access levels granted by hand, and what they
 * add up to when the profile is read. Times are epoch milliseconds; everything here is pure.
 */

export const PURCHASE_TYPES = ['one_time_purchase', 'subscription'] as const;
export type PurchaseType = (typeof PURCHASE_TYPES)[number];

export const ENVIRONMENTS = ['Production', 'Sandbox'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const CANCELLATION_REASONS = [
  'billing_error',
  'cancelled_by_developer',
  'new_subscription_replace',
  'price_increase',
  'product_was_not_available',
  'refund',
  'unknown',
  'upgraded',
  'voluntarily_cancelled',
  'adapty_revoked',
] as const;

export const OFFER_CATEGORIES = ['introductory', 'promotional', 'offer_code', 'win_back'] as const;
export const OFFER_TYPES = ['free_trial', 'pay_as_you_go', 'pay_up_front'] as const;

export const REFUND_PREFERENCES = ['grant', 'no_preference', 'decline'] as const;
export type RefundPreference = (typeof REFUND_PREFERENCES)[number];

/** The access level a transaction unlocks when its product is not configured (as the vendor does). */
export const DEFAULT_ACCESS_LEVEL = 'premium';

/** The store named on access levels granted without a transaction. */
export const GRANT_STORE = 'adapty';

export const MAX_ACCESS_LEVEL_ID_LENGTH = 100;
export const MAX_STORE_TRANSACTION_ID_LENGTH = 50;
export const MAX_STORE_TEXT_LENGTH = 256;
/** The largest price accepted, in any currency (a trillion units: far above any real price, far below float trouble). */
export const MAX_PRICE = 1e12;

export interface Offer {
  category: (typeof OFFER_CATEGORIES)[number];
  type: (typeof OFFER_TYPES)[number];
  id: string | null;
}

/** A transaction as the client sends it, validated and in domain types. */
export interface TransactionInput {
  purchaseType: PurchaseType;
  store: string;
  storeProductId: string;
  storeBasePlanId: string | null;
  storeTransactionId: string;
  storeOriginalTransactionId: string;
  environment: Environment;
  isFamilyShared: boolean;
  price: { country: string; currency: string; value: number };
  purchasedAt: number;
  originallyPurchasedAt: number | null;
  expiresAt: number | null;
  renewStatus: boolean | null;
  renewStatusChangedAt: number | null;
  billingIssueDetectedAt: number | null;
  gracePeriodExpiresAt: number | null;
  variationId: string | null;
  offer: Offer | null;
  refundedAt: number | null;
  cancellationReason: string | null;
}

/** A stored transaction: the latest input for its (store, store_transaction_id), and what it unlocks. */
export interface TransactionRecord extends TransactionInput {
  profileId: string;
  /** Assigned when the transaction is first recorded; the non-subscription's `purchase_id`. */
  purchaseId: string;
  /** The price in US dollars at the operator's rate when recorded; null in a currency without a rate. */
  priceUsd: number | null;
  /** The access level it unlocks (from the product's configuration), or null. */
  accessLevelId: string | null;
  isConsumable: boolean;
  /** Set by a revocation: the access this transaction gives ends here. */
  accessEndsAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** An access level given by the grant operation (one per profile and access level; a new grant replaces it). */
export interface AccessGrant {
  profileId: string;
  accessLevelId: string;
  /** Null: from the moment it was granted. */
  startsAt: number | null;
  /** Null: lifetime. */
  expiresAt: number | null;
  accessEndsAt: number | null;
  grantedAt: number;
}

/** What a profile has of the revenue half; read only for profiles that have any. */
export interface ProfileRevenue {
  transactions: TransactionRecord[];
  grants: AccessGrant[];
}

export const NO_REVENUE: ProfileRevenue = { transactions: [], grants: [] };

/** One refusal of a transaction by the vendor's business rules: its own error code, one field. */
export interface TransactionProblem {
  code: string;
  source: string;
  message: string;
}

/**
 * The vendor's rules on a transaction's fields, each with its error code, checked in this order;
 * the first that fails is the answer (one error code per answer).
 */
export function transactionProblem(input: TransactionInput): TransactionProblem | null {
  const { purchasedAt } = input;
  const after = (time: number | null) => time !== null && time <= purchasedAt;
  const checks: [boolean, string, string, string][] = [
    [
      input.purchaseType === 'one_time_purchase' && input.storeTransactionId !== input.storeOriginalTransactionId,
      'store_transaction_id_error', 'store_transaction_id',
      'A one-time purchase must have store_transaction_id equal to store_original_transaction_id.',
    ],
    [
      input.purchaseType === 'one_time_purchase' && input.offer?.type === 'free_trial',
      'one_time_purchase_trial_error', 'offer.type', 'A one-time purchase cannot have a free trial offer.',
    ],
    [input.offer?.type === 'free_trial' && input.price.value !== 0, 'free_trial_price_error', 'price.value', 'A free trial must have a price of 0.'],
    [input.isFamilyShared && input.price.value !== 0, 'family_share_price_error', 'price.value', 'A family-shared purchase must have a price of 0.'],
    [
      input.offer !== null && input.offer.category !== 'introductory' && !input.offer.id,
      'missing_offer_id', 'offer.id', 'An offer other than introductory needs its id.',
    ],
    [
      input.originallyPurchasedAt !== null && input.originallyPurchasedAt > purchasedAt,
      'originally_purchased_date_error', 'originally_purchased_at', 'Must not be later than purchased_at.',
    ],
    [after(input.expiresAt), 'expires_date_error', 'expires_at', 'Must be later than purchased_at.'],
    [after(input.renewStatusChangedAt), 'renew_status_changed_date_error', 'renew_status_changed_at', 'Must be later than purchased_at.'],
    [
      after(input.billingIssueDetectedAt),
      'billing_issue_detected_at_date_comparison_error', 'billing_issue_detected_at', 'Must be later than purchased_at.',
    ],
    [
      input.gracePeriodExpiresAt !== null && input.billingIssueDetectedAt === null,
      'grace_period_billing_error', 'grace_period_expires_at', 'A grace period needs billing_issue_detected_at.',
    ],
    [
      input.gracePeriodExpiresAt !== null && input.expiresAt !== null && input.gracePeriodExpiresAt < input.expiresAt,
      'grace_period_expires_date_error', 'grace_period_expires_at', 'Must not be earlier than expires_at.',
    ],
    [
      (input.refundedAt !== null) !== (input.cancellationReason === 'refund'),
      'refund_fields_error', 'refunded_at', 'refunded_at and cancellation_reason "refund" must be given together.',
    ],
    [after(input.refundedAt), 'refund_date_error', 'refunded_at', 'Must be later than purchased_at.'],
  ];
  const failed = checks.find(([fails]) => fails);
  return failed ? { code: failed[1], source: failed[2], message: failed[3] } : null;
}

/** The wire fields whose values differ between two versions of one transaction, in a stable order. */
export function changedTransactionFields(before: TransactionRecord, after: TransactionRecord): string[] {
  const old = transactionToWire(before);
  const now = transactionToWire(after);
  return Object.keys(now).filter((field) => JSON.stringify(old[field as keyof typeof old]) !== JSON.stringify(now[field as keyof typeof now]));
}

/** Revenue a transaction counts for: production, not refunded, converted. */
export function countedRevenueUsd(transaction: TransactionRecord): number {
  if (transaction.environment !== 'Production' || transaction.refundedAt !== null || transaction.priceUsd === null) return 0;
  return transaction.priceUsd;
}

/** Dollars rounded to cents, the way the total is answered. */
export const toCents = (usd: number) => Math.round(usd * 100) / 100;

export function totalRevenueUsd(transactions: readonly TransactionRecord[]): number {
  return toCents(transactions.reduce((sum, transaction) => sum + countedRevenueUsd(transaction), 0));
}

/** The price in dollars at `usdPerUnit`; six decimals are kept so that sums round once. */
export const priceInUsd = (value: number, usdPerUnit: number) => Math.round(value * usdPerUnit * 1e6) / 1e6;

const minEnd = (...ends: (number | null)[]) => {
  const set = ends.filter((end): end is number => end !== null);
  return set.length === 0 ? null : Math.min(...set);
};

/** A span of access to one access level, from a transaction or a grant. `endsAt` null: lifetime. */
export interface AccessSpan {
  accessLevelId: string;
  startsAt: number;
  endsAt: number | null;
  transaction?: TransactionRecord;
  grant?: AccessGrant;
}

/** When a subscription's access ends: at expiry, or at the end of its grace period while billing fails. */
function subscriptionEnd(transaction: TransactionRecord): number | null {
  if (transaction.purchaseType !== 'subscription') return null;
  const grace = transaction.billingIssueDetectedAt !== null ? transaction.gracePeriodExpiresAt : null;
  return grace !== null && transaction.expiresAt !== null ? Math.max(grace, transaction.expiresAt) : transaction.expiresAt;
}

export function spansOf(revenue: ProfileRevenue): AccessSpan[] {
  const spans: AccessSpan[] = [];
  for (const transaction of revenue.transactions) {
    if (transaction.accessLevelId === null) continue;
    spans.push({
      accessLevelId: transaction.accessLevelId,
      startsAt: transaction.purchasedAt,
      endsAt: minEnd(subscriptionEnd(transaction), transaction.refundedAt, transaction.accessEndsAt),
      transaction,
    });
  }
  for (const grant of revenue.grants) {
    spans.push({
      accessLevelId: grant.accessLevelId,
      startsAt: grant.startsAt ?? grant.grantedAt,
      endsAt: minEnd(grant.expiresAt, grant.accessEndsAt),
      grant,
    });
  }
  return spans;
}

export const spanIsActive = (span: AccessSpan, now: number) => span.startsAt <= now && (span.endsAt === null || now < span.endsAt);

const later = (a: number | null, b: number | null) => (a === null ? b !== null : b !== null && a > b);

/**
 * The span that stands for an access level at `now`: the active one that lasts longest (lifetime
 * first); with none active, the next to start; otherwise the one that ended last.
 */
function representative(spans: AccessSpan[], now: number): AccessSpan {
  const active = spans.filter((span) => spanIsActive(span, now));
  if (active.length > 0) return active.reduce((best, span) => (later(span.endsAt, best.endsAt) ? span : best));
  const upcoming = spans.filter((span) => span.startsAt > now);
  if (upcoming.length > 0) return upcoming.reduce((best, span) => (span.startsAt < best.startsAt ? span : best));
  return spans.reduce((best, span) => (later(span.endsAt, best.endsAt) ? span : best));
}

/** The spans of each access level the profile has, by access level id. */
export function spansByLevel(revenue: ProfileRevenue): Map<string, AccessSpan[]> {
  const levels = new Map<string, AccessSpan[]>();
  for (const span of spansOf(revenue)) {
    const list = levels.get(span.accessLevelId);
    if (list) list.push(span);
    else levels.set(span.accessLevelId, [span]);
  }
  return levels;
}

const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());

function inGracePeriod(transaction: TransactionRecord, now: number): boolean {
  const { billingIssueDetectedAt, gracePeriodExpiresAt, expiresAt } = transaction;
  return billingIssueDetectedAt !== null && gracePeriodExpiresAt !== null && expiresAt !== null && expiresAt <= now && now < gracePeriodExpiresAt;
}

function renewalCancelledAt(transaction: TransactionRecord): number | null {
  if (transaction.purchaseType !== 'subscription' || transaction.renewStatus !== false) return null;
  return transaction.renewStatusChangedAt ?? transaction.updatedAt;
}

function cancellationReasonOf(transaction: TransactionRecord): string | null {
  if (transaction.cancellationReason !== null) return transaction.cancellationReason;
  return transaction.accessEndsAt !== null ? 'adapty_revoked' : null;
}

/** The store's names of a transaction, as the vendor's AccessLevel and Subscription objects give them. */
const storeFields = (transaction: TransactionRecord) => ({
  store: transaction.store,
  store_product_id: transaction.storeProductId,
  store_base_plan_id: transaction.storeBasePlanId,
  store_transaction_id: transaction.storeTransactionId,
  store_original_transaction_id: transaction.storeOriginalTransactionId,
  offer: transaction.offer,
});

/** The renewal state of a transaction at `now`, as the vendor's AccessLevel and Subscription objects end. */
const renewalFields = (transaction: TransactionRecord, now: number) => ({
  renewal_cancelled_at: iso(renewalCancelledAt(transaction)),
  billing_issue_detected_at: iso(transaction.billingIssueDetectedAt),
  is_in_grace_period: inGracePeriod(transaction, now),
  cancellation_reason: transaction.refundedAt !== null ? 'refund' : cancellationReasonOf(transaction),
});

/** The vendor's AccessLevel object for one level, plus `is_active` and `is_lifetime`. */
export function accessLevelToWire(accessLevelId: string, spans: AccessSpan[], now: number) {
  const span = representative(spans, now);
  const common = { access_level_id: accessLevelId, is_active: spanIsActive(span, now), is_lifetime: span.endsAt === null };
  const { transaction, grant } = span;
  if (transaction) {
    return {
      ...common,
      ...storeFields(transaction),
      starts_at: iso(span.startsAt),
      purchased_at: iso(transaction.purchasedAt)!,
      originally_purchased_at: iso(transaction.originallyPurchasedAt ?? transaction.purchasedAt)!,
      expires_at: iso(span.endsAt),
      ...renewalFields(transaction, now),
    };
  }
  const given = grant!;
  return {
    ...common,
    store: GRANT_STORE,
    store_product_id: '',
    store_base_plan_id: null,
    store_transaction_id: '',
    store_original_transaction_id: '',
    offer: null,
    starts_at: iso(span.startsAt),
    purchased_at: iso(given.grantedAt)!,
    originally_purchased_at: iso(given.grantedAt)!,
    expires_at: iso(span.endsAt),
    renewal_cancelled_at: null,
    billing_issue_detected_at: null,
    is_in_grace_period: false,
    cancellation_reason: given.accessEndsAt !== null ? 'adapty_revoked' : null,
  };
}

export type AccessLevelWire = ReturnType<typeof accessLevelToWire>;

/** Every access level of the profile, by id, with whether it is active at `now`. */
export function accessLevelsToWire(revenue: ProfileRevenue, now: number): AccessLevelWire[] {
  return [...spansByLevel(revenue)]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, spans]) => accessLevelToWire(id, spans, now));
}

/** One transaction on the wire, as events and the export carry it. */
export function transactionToWire(transaction: TransactionRecord) {
  return {
    purchase_id: transaction.purchaseId,
    purchase_type: transaction.purchaseType,
    store: transaction.store,
    store_product_id: transaction.storeProductId,
    store_base_plan_id: transaction.storeBasePlanId,
    store_transaction_id: transaction.storeTransactionId,
    store_original_transaction_id: transaction.storeOriginalTransactionId,
    environment: transaction.environment,
    is_family_shared: transaction.isFamilyShared,
    price: transaction.price,
    price_usd: transaction.priceUsd,
    purchased_at: iso(transaction.purchasedAt)!,
    originally_purchased_at: iso(transaction.originallyPurchasedAt),
    expires_at: iso(transaction.expiresAt),
    renew_status: transaction.renewStatus,
    renew_status_changed_at: iso(transaction.renewStatusChangedAt),
    billing_issue_detected_at: iso(transaction.billingIssueDetectedAt),
    grace_period_expires_at: iso(transaction.gracePeriodExpiresAt),
    variation_id: transaction.variationId,
    offer: transaction.offer,
    refunded_at: iso(transaction.refundedAt),
    cancellation_reason: transaction.cancellationReason,
    access_level_id: transaction.accessLevelId,
    is_consumable: transaction.isConsumable,
  };
}

const newestFirst = (a: TransactionRecord, b: TransactionRecord) => b.purchasedAt - a.purchasedAt || b.updatedAt - a.updatedAt;

/** The vendor's Subscription objects: the latest transaction of each subscription (store and original transaction id). */
export function subscriptionsToWire(transactions: readonly TransactionRecord[], now: number) {
  const latest = new Map<string, TransactionRecord>();
  for (const transaction of [...transactions].filter((t) => t.purchaseType === 'subscription').sort(newestFirst)) {
    const key = JSON.stringify([transaction.store, transaction.storeOriginalTransactionId]);
    if (!latest.has(key)) latest.set(key, transaction);
  }
  return [...latest.values()].map((transaction) => {
    const end = minEnd(subscriptionEnd(transaction), transaction.refundedAt, transaction.accessEndsAt);
    return {
      ...storeFields(transaction),
      environment: transaction.environment,
      purchased_at: iso(transaction.purchasedAt)!,
      originally_purchased_at: iso(transaction.originallyPurchasedAt ?? transaction.purchasedAt)!,
      expires_at: iso(transaction.expiresAt),
      ...renewalFields(transaction, now),
      is_active: transaction.purchasedAt <= now && (end === null || now < end),
    };
  });
}

/** The vendor's NonSubscription objects: every one-time purchase, newest first. */
export function nonSubscriptionsToWire(transactions: readonly TransactionRecord[]) {
  return [...transactions]
    .filter((transaction) => transaction.purchaseType === 'one_time_purchase')
    .sort(newestFirst)
    .map((transaction) => ({
      purchase_id: transaction.purchaseId,
      store: transaction.store,
      store_product_id: transaction.storeProductId,
      store_base_plan_id: transaction.storeBasePlanId,
      store_transaction_id: transaction.storeTransactionId,
      store_original_transaction_id: transaction.storeOriginalTransactionId,
      purchased_at: iso(transaction.purchasedAt)!,
      environment: transaction.environment,
      is_refund: transaction.refundedAt !== null,
      is_consumable: transaction.isConsumable,
    }));
}

/**
 * The next moment after `now` at which one of an access level's spans starts or ends: when the
 * clock looks at it again to emit `started` or `expired`. Null when nothing is ahead.
 */
export function nextAccessChange(spans: AccessSpan[], now: number): number | null {
  const moments = spans.flatMap((span) => [span.startsAt, span.endsAt ?? -1]).filter((moment) => moment > now);
  return moments.length === 0 ? null : Math.min(...moments);
}

/** Whether any span of an access level is active at `time`. */
export const levelIsActive = (spans: AccessSpan[], time: number) => spans.some((span) => spanIsActive(span, time));

/** How an app treats an access level id that was never configured. */
export const UNKNOWN_ACCESS_LEVEL_MODES = ['create', 'reject'] as const;
export type UnknownAccessLevelMode = (typeof UNKNOWN_ACCESS_LEVEL_MODES)[number];

/** One configured product: what it unlocks. */
export interface Product {
  storeProductId: string;
  /** Null: it unlocks nothing (consumables, for instance). */
  accessLevelId: string | null;
  isConsumable: boolean;
}

/** Refund Saver settings of one profile; a profile that set none has the defaults. */
export interface RefundSaverSettings {
  consent: boolean;
  customPreference: RefundPreference;
}

export const DEFAULT_REFUND_SAVER: RefundSaverSettings = { consent: false, customPreference: 'no_preference' };

/** The settings after a change: each field it names replaces the stored one. */
export const withRefundSaverChange = (stored: RefundSaverSettings, change: Partial<RefundSaverSettings>): RefundSaverSettings => ({
  consent: change.consent ?? stored.consent,
  customPreference: change.customPreference ?? stored.customPreference,
});
