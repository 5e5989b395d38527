import type { AppRules } from '../domain/rules.js';
import type { ApiKeyInfo, App, KeyOwner, Store } from '../storage/store.js';

/** Apps, their API keys and their identifier rules: what operators set up with the CLI. */
export class AppService {
  constructor(private readonly store: Store) {}

  /** Throws AppNameTakenError when the name is in use. */
  create(name: string): Promise<App> {
    return this.store.createApp(name);
  }

  list(): Promise<App[]> {
    return this.store.listApps();
  }

  find(appId: string): Promise<App | null> {
    return this.store.findApp(appId);
  }

  /** Registers a key (stored as its hash); the existing record when the key is already known. */
  addKey(appId: string, secret: string, name: string): Promise<{ key: ApiKeyInfo; created: boolean }> {
    return this.store.addApiKey(appId, secret, name);
  }

  listKeys(appId?: string): Promise<ApiKeyInfo[]> {
    return this.store.listApiKeys(appId);
  }

  /** False when there is no such key. */
  revokeKey(keyId: string): Promise<boolean> {
    return this.store.revokeApiKey(keyId);
  }

  /** The app and key a secret stands for, when it is a key that exists and is not revoked. */
  keyOwner(secret: string): Promise<KeyOwner | null> {
    return this.store.findKeyOwner(secret);
  }

  rules(appId: string): Promise<AppRules> {
    return this.store.getRules(appId);
  }

  /** Reads the app's rules, applies `change` and stores the result; answers the new rules. */
  async changeRules(appId: string, change: (rules: AppRules) => AppRules): Promise<AppRules> {
    const updated = change(await this.store.getRules(appId));
    await this.store.setRules(appId, updated);
    return updated;
  }
}
