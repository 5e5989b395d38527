import type { Store } from '../storage/store.js';
import { AppService } from './apps.js';
import { BatchService } from './batch.js';
import { IdentifierService } from './identifiers.js';
import { ImportExportService } from './import-export.js';
import { ProfileService } from './profiles.js';
import { RevenueService } from './revenue.js';
import { RevenueConfigService } from './revenue-config.js';
import { WebhookService } from './webhooks.js';

/** Every capability, in domain words, over one store: what the HTTP routes and the CLI call. */
export interface Services {
  apps: AppService;
  profiles: ProfileService;
  identifiers: IdentifierService;
  batch: BatchService;
  importExport: ImportExportService;
  webhooks: WebhookService;
  revenue: RevenueService;
  revenueConfig: RevenueConfigService;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
}

export function createServices(store: Store): Services {
  return {
    apps: new AppService(store),
    profiles: new ProfileService(store),
    identifiers: new IdentifierService(store),
    batch: new BatchService(store),
    importExport: new ImportExportService(store),
    webhooks: new WebhookService(store),
    revenue: new RevenueService(store),
    revenueConfig: new RevenueConfigService(store),
    ping: () => store.ping(),
  };
}
