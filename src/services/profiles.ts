import { patchFields, profileDeletedData, profileEventData } from '../domain/events.js';
import type { ProfileAddress, ProfilePatch, ProfileRecord } from '../domain/profile.js';
import type { Store } from '../storage/store.js';

/** Profiles: created, read, updated and deleted, each change with its webhook event in the same transaction. */
export class ProfileService {
  constructor(private readonly store: Store) {}

  find(appId: string, address: ProfileAddress): Promise<ProfileRecord | null> {
    return this.store.findProfile(appId, address);
  }

  /**
   * Makes sure the addressed profile exists (creating it, or attaching the customer user id to
   * the given profile id) and applies the patch, in one transaction. Throws
   * CustomerUserIdTakenError when another profile holds the customer user id. An existing
   * profile that gets a customer user id makes a profile.updated event naming `customer_user_id`.
   */
  ensure(appId: string, address: ProfileAddress, patch: ProfilePatch): Promise<ProfileRecord> {
    // On PostgreSQL, one statement, so one round trip.
    const statements = this.store.oneStatement;
    if (statements !== null && (address.profileId !== undefined || address.customerUserId !== undefined)) {
      return statements.ensureProfile(appId, address, patch, patchFields(patch));
    }
    return this.store.write(async (tx) => {
      // Only an address with both ids can change an existing profile's customer user id.
      const before = address.profileId !== undefined && address.customerUserId !== undefined
        ? await tx.profileForWrite(appId, { profileId: address.profileId })
        : null;
      const { id: profileId, created } = await tx.ensureProfile(appId, address);
      await tx.applyPatch(appId, profileId, patch);
      const record = (await tx.readProfile(appId, { profileId }))!;
      if (created) {
        await tx.recordEvent(appId, 'profile.created', profileEventData(record, patch));
        return record;
      }
      const fields = patchFields(patch);
      if (before !== null && before.customerUserId !== record.customerUserId) fields.unshift('customer_user_id');
      if (fields.length > 0) await tx.recordEvent(appId, 'profile.updated', { ...profileEventData(record, patch), fields });
      return record;
    });
  }

  /** Applies a patch to an existing profile; null when not found. */
  update(appId: string, address: ProfileAddress, patch: ProfilePatch): Promise<ProfileRecord | null> {
    return this.store.write(async (tx) => {
      const profile = await tx.profileForWrite(appId, address);
      if (profile === null) return null;
      await tx.applyPatch(appId, profile.id, patch);
      const record = (await tx.readProfile(appId, { profileId: profile.id }))!;
      if (patchFields(patch).length > 0) await tx.recordEvent(appId, 'profile.updated', profileEventData(record, patch));
      return record;
    });
  }

  /**
   * Deletes a profile with its identifiers, history, attributes, devices and revenue, and erases its
   * personal data from the webhook outbox (events about it keep only ids; its pending deliveries
   * are cancelled), all in one transaction; false when not found. The profile.deleted event carries
   * ids only, and waits for any attempt still under way for an earlier event of the profile.
   */
  delete(appId: string, address: ProfileAddress): Promise<boolean> {
    return this.store.write(async (tx) => {
      const profile = await tx.profileForWrite(appId, address);
      if (profile === null) return false;
      const now = Date.now();
      await tx.deleteProfile(appId, profile.id);
      const attemptEnds = await tx.eraseProfileEvents(appId, profile.id, now);
      await tx.recordEvent(appId, 'profile.deleted', profileDeletedData(profile.id), now);
      if (attemptEnds !== null) await tx.delayProfileDeliveries(appId, profile.id, attemptEnds);
      return true;
    });
  }
}
