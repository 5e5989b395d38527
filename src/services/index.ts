import type { Store } from '../storage/store.js';
import { AppService } from './apps.js';
import { AuditService } from './audit.js';
import { BatchService } from './batch.js';
import { DestinationService, type DestinationSender } from './destinations.js';
import { IdentifierService } from './identifiers.js';
import { ImportExportService } from './import-export.js';
import { ProfileService } from './profiles.js';
import { RevenueService } from './revenue.js';
import { RevenueConfigService } from './revenue-config.js';
import { StatsService } from './stats.js';
import { WebhookService, type WebhookTargetCheck } from './webhooks.js';

/** Every capability, in domain words, over one store: what the HTTP routes and the CLI call. */
export interface Services {
  apps: AppService;
  profiles: ProfileService;
  identifiers: IdentifierService;
  batch: BatchService;
  importExport: ImportExportService;
  webhooks: WebhookService;
  destinations: DestinationService;
  revenue: RevenueService;
  revenueConfig: RevenueConfigService;
  audit: AuditService;
  stats: StatsService;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
}

/** What the composition root hands the services besides the store. */
export interface ServiceOptions {
  /** Where webhook endpoints may point (the network policy); without it, only the URL's form is checked. */
  webhookTargets?: WebhookTargetCheck;
  /** Sends a destination's test event (without it, a test send is refused). */
  destinationSender?: DestinationSender;
}

export function createServices(store: Store, options: ServiceOptions = {}): Services {
  const importExport = new ImportExportService(store);
  const revenue = new RevenueService(store);
  return {
    apps: new AppService(store),
    profiles: new ProfileService(store),
    identifiers: new IdentifierService(store),
    batch: new BatchService(store),
    importExport,
    webhooks: new WebhookService(store, options.webhookTargets),
    destinations: new DestinationService(store, options.webhookTargets, options.destinationSender),
    revenue,
    revenueConfig: new RevenueConfigService(store),
    audit: new AuditService(store),
    stats: new StatsService(store, importExport, revenue),
    ping: () => store.ping(),
  };
}
