import { hashApiKey } from '../domain/api-keys.js';
import type { AppService } from '../services/apps.js';
import type { KeyOwner } from '../storage/store.js';

interface Entry {
  owner: KeyOwner | null;
  expires: number;
}

/**
 * Remembers who an API key belongs to for `ttlMs`, so that most requests need no key lookup.
 * A key revoked elsewhere (the CLI, another process) therefore stops working within `ttlMs`.
 * Unknown keys are remembered too, for a tenth of the time, so a flood of bad keys does not
 * become a flood of queries; the cache holds at most `maxEntries` keys, dropping the oldest.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly apps: AppService,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  async owner(secret: string): Promise<KeyOwner | null> {
    if (this.ttlMs === 0) return this.apps.keyOwner(secret);
    const hash = hashApiKey(secret);
    const now = Date.now();
    const cached = this.entries.get(hash);
    if (cached && cached.expires > now) return cached.owner;
    const owner = await this.apps.keyOwner(secret);
    if (cached) this.entries.delete(hash);
    else if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(hash, { owner, expires: now + (owner ? this.ttlMs : Math.ceil(this.ttlMs / 10)) });
    return owner;
  }
}
