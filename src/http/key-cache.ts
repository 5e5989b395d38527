import { hashApiKey } from '../domain/api-keys.js';
import type { AppService } from '../services/apps.js';
import type { KeyOwner } from '../storage/store.js';

/** A map that keeps at most `max` entries, dropping the least recently used. */
class Lru<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      // Map order is use order: the first entry is the least recently used.
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}

interface Hit {
  owner: KeyOwner;
  /** Until when the owner may be used without asking again. */
  fresh: number;
}

/** What the cache knows of a key without asking the database. */
export interface Probe {
  readonly hash: string;
  /** The answer while it is fresh: the owner, or null for a key known to be invalid. Undefined: ask. */
  readonly answer: KeyOwner | null | undefined;
  /** Whether this process has seen the key valid before (and it has not expired since). */
  readonly knownValid: boolean;
}

/**
 * Remembers who an API key belongs to for `ttlMs`, so that most requests need no key lookup. A key
 * revoked elsewhere (the CLI, another process) therefore stops working within `ttlMs`; an expiring
 * key is not remembered past its expiry. Valid keys and unknown keys are kept apart, each in a
 * least-recently-used map of its own: unknown keys are remembered for a tenth of the time, in a
 * smaller map, so a flood of bad keys becomes neither a flood of queries nor a way to push the
 * valid keys out. A valid key stays known after its entry is stale, until it is found invalid, so
 * that the per-address limit on failures (AuthFailureLimiter) never sheds it.
 */
export class KeyCache {
  private readonly hits: Lru<Hit>;
  private readonly misses: Lru<number>;

  constructor(
    private readonly apps: AppService,
    private readonly ttlMs: number,
    maxEntries = 10_000,
    maxMisses = Math.max(1, Math.floor(maxEntries / 10)),
  ) {
    this.hits = new Lru(maxEntries);
    this.misses = new Lru(maxMisses);
  }

  probe(secret: string, now = Date.now()): Probe {
    const hash = hashApiKey(secret);
    const hit = this.hits.get(hash);
    if (hit !== undefined) {
      const alive = hit.owner.expiresAt === null || hit.owner.expiresAt > now;
      if (!alive) return { hash, answer: null, knownValid: false };
      return { hash, answer: hit.fresh > now ? hit.owner : undefined, knownValid: true };
    }
    const miss = this.misses.get(hash);
    return { hash, answer: miss !== undefined && miss > now ? null : undefined, knownValid: false };
  }

  /** Looks the key up (one query) and remembers the answer. */
  async lookup(secret: string, probe: Probe, now = Date.now()): Promise<KeyOwner | null> {
    const owner = await this.apps.keyOwner(secret);
    if (owner === null) {
      this.hits.delete(probe.hash);
      this.misses.set(probe.hash, now + Math.ceil(this.ttlMs / 10));
    } else {
      this.misses.delete(probe.hash);
      this.hits.set(probe.hash, { owner, fresh: Math.min(now + this.ttlMs, owner.expiresAt ?? Number.POSITIVE_INFINITY) });
    }
    return owner;
  }

  /** The owner of a key, from the cache while its answer is fresh, else from one lookup. */
  async owner(secret: string, now = Date.now()): Promise<KeyOwner | null> {
    const probe = this.probe(secret, now);
    return probe.answer !== undefined ? probe.answer : this.lookup(secret, probe, now);
  }
}
