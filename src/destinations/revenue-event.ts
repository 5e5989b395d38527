import { createHash } from 'node:crypto';
import type { EventPayload } from '../domain/events.js';
import type { RevenueEvent, RevenueKind, RevenueTransaction } from './types.js';

/** A UUID-shaped dedup key: the same seed (purchase and kind) always gives the same key. */
export function dedupUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  // Version 5 and RFC 4122 variant bits, so that tools that check the form accept it.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const ms = (iso: unknown) => (typeof iso === 'string' ? Date.parse(iso) : null);

function readTransaction(wire: Record<string, any>): RevenueTransaction {
  return {
    purchaseId: wire.purchase_id,
    purchaseType: wire.purchase_type,
    store: wire.store,
    storeProductId: wire.store_product_id,
    storeTransactionId: wire.store_transaction_id,
    storeOriginalTransactionId: wire.store_original_transaction_id,
    environment: wire.environment,
    price: { value: Number(wire.price?.value ?? 0), currency: String(wire.price?.currency ?? ''), country: String(wire.price?.country ?? '') },
    priceUsd: wire.price_usd ?? null,
    purchasedAt: ms(wire.purchased_at)!,
    expiresAt: ms(wire.expires_at),
    refundedAt: ms(wire.refunded_at),
    offerType: wire.offer?.type ?? null,
  };
}

/** Which revenue a transaction is when first recorded: a trial, the first purchase, or a renewal. */
function firstKind(transaction: RevenueTransaction): RevenueKind {
  if (transaction.offerType === 'free_trial') return 'trial';
  return transaction.storeTransactionId === transaction.storeOriginalTransactionId ? 'purchase' : 'renewal';
}

/**
 * Reads a stored revenue event into what the tools are told, or says why there is nothing to tell:
 * an update of a transaction that is not its refund carries no revenue, and a transaction first
 * recorded already refunded never reached the tools as a purchase.
 */
export function readRevenueEvent(payload: EventPayload): RevenueEvent | { skip: string } {
  const data = payload.data as Record<string, any>;
  if (data.erased) return { skip: 'the profile was deleted' };
  const base = {
    eventId: payload.id,
    recordedAt: Date.parse(payload.created_at),
    profileId: data.profile_id,
    customerUserId: data.customer_user_id ?? null,
    identifiers: (data.integration_identifiers ?? {}) as Record<string, string | null>,
  };
  if (payload.type === 'access_level.updated') {
    const level = data.access_level ?? {};
    return {
      ...base,
      kind: 'access_level',
      occurredAt: base.recordedAt,
      revenue: null,
      currency: null,
      transaction: null,
      accessLevel: { id: data.access_level_id, change: data.change, isActive: level.is_active === true, expiresAt: ms(level.expires_at) },
      dedupKey: payload.id,
    };
  }
  if (payload.type !== 'transaction.recorded') return { skip: `${payload.type} events are not sent to tools` };
  const transaction = readTransaction(data.transaction);
  let kind: RevenueKind;
  if (data.created === true) {
    if (transaction.refundedAt !== null) return { skip: 'the transaction was first recorded already refunded: no purchase reached the tool to refund' };
    kind = firstKind(transaction);
  } else {
    const changed: string[] = Array.isArray(data.changed_fields) ? data.changed_fields : [];
    if (!changed.includes('refunded_at') || transaction.refundedAt === null) {
      return { skip: `an update of the transaction that carries no revenue (changed: ${changed.join(', ') || 'nothing'})` };
    }
    kind = 'refund';
  }
  const value = transaction.price.value;
  return {
    ...base,
    kind,
    occurredAt: kind === 'refund' ? transaction.refundedAt! : transaction.purchasedAt,
    revenue: kind === 'refund' ? -value : value,
    currency: transaction.price.currency,
    transaction,
    accessLevel: null,
    dedupKey: dedupUuid(`${transaction.purchaseId}:${kind}`),
  };
}
