import type { App, AppStats, DatabaseSize, Store } from '../storage/store.js';
import type { ImportExportService } from './import-export.js';
import type { RevenueService, RevenueStats } from './revenue.js';

/** What `crosswalk stats` and `GET /crosswalk/v1/stats/` report of one app. */
export interface AppReport extends AppStats {
  app: App;
  revenue: RevenueStats;
  /** The whole database (every app), as the CLI measures it. */
  database: DatabaseSize;
}

/** The counts of an app, from the same services the CLI's `stats` command reads. */
export class StatsService {
  constructor(
    private readonly store: Store,
    private readonly data: ImportExportService,
    private readonly revenue: RevenueService,
  ) {}

  /** Null when the app does not exist. */
  async report(appId: string): Promise<AppReport | null> {
    const [app, stats, database, revenue] = await Promise.all([
      this.store.findApp(appId),
      this.data.appStats(appId),
      this.data.databaseSize(),
      this.revenue.stats(appId),
    ]);
    return app === null ? null : { app, ...stats, revenue, database };
  }
}
