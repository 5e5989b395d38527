import { type Api, CROSSWALK, type KeyInfo } from './api.js';
import { Attribute, count, Empty, Loading, Table, time, useLoad, ViewHeading } from './ui.js';
import { IDENTIFIER_KEYS, type Stats } from './wire.js';

const REVENUE = `${CROSSWALK}/revenue/`;

interface RevenueConfiguration {
  accessLevels: { access_level_id: string; created_at: string }[];
  products: { store_product_id: string; access_level_id: string | null; is_consumable: boolean }[];
  rates: { currency: string; usd_per_unit: number; updated_at: string }[];
  unknownAccessLevels: string;
}

async function revenueConfiguration(api: Api): Promise<RevenueConfiguration> {
  const [levels, products, rates, settings] = await Promise.all([
    api.get<{ data: RevenueConfiguration['accessLevels'] }>(`${REVENUE}access-levels/`),
    api.get<{ data: RevenueConfiguration['products'] }>(`${REVENUE}products/`),
    api.get<{ data: RevenueConfiguration['rates'] }>(`${REVENUE}currency-rates/`),
    api.get<{ data: { unknown_access_levels: string } }>(`${REVENUE}settings/`),
  ]);
  return { accessLevels: levels.data, products: products.data, rates: rates.data, unknownAccessLevels: settings.data.unknown_access_levels };
}

/** The app: the signed-in key, the counts `crosswalk stats` shows, and the revenue configuration. */
export function AppView({ api, keyInfo }: { api: Api; keyInfo: KeyInfo }) {
  const stats = useLoad(() => api.get<{ data: Stats }>(`${CROSSWALK}/stats/`), []);
  const revenue = useLoad(() => revenueConfiguration(api), []);
  return (
    <section aria-labelledby="app-heading">
      <ViewHeading id="app-heading">App{stats.data ? <> <q>{stats.data.data.app.name}</q></> : null}</ViewHeading>
      <dl class="attributes">
        <Attribute name="App id">
          <code>{keyInfo.app_id}</code>
        </Attribute>
        <Attribute name="This key">
          <code>{keyInfo.key_id}</code>
        </Attribute>
        <Attribute name="Its scope">
          <strong>{keyInfo.scope}</strong>
        </Attribute>
      </dl>

      <section aria-labelledby="stats-heading">
        <h3 id="stats-heading">Counts</h3>
        <Loading state={stats} what="Counts could not be read">
          {({ data }) => <StatsTables stats={data} />}
        </Loading>
      </section>

      <section aria-labelledby="revenue-heading">
        <h3 id="revenue-heading">Revenue configuration</h3>
        <Loading state={revenue} what="The configuration could not be read">
          {(config) => <RevenueTables config={config} />}
        </Loading>
      </section>

      <section aria-labelledby="rules-heading">
        <h3 id="rules-heading">Identifier rules</h3>
        <p>
          Placeholder and conflict rules have no HTTP operation: they are shown and changed with <code>crosswalk rules show</code> and the other{' '}
          <code>crosswalk rules</code> commands on the server.
        </p>
      </section>
    </section>
  );
}

function StatsTables({ stats }: { stats: Stats }) {
  const transactions = stats.revenue.transactions.reduce((sum, row) => sum + row.count, 0);
  return (
    <>
      <dl class="figures">
        <div>
          <dt>Profiles</dt>
          <dd data-figure="profiles">{count(stats.profiles)}</dd>
        </div>
        <div>
          <dt>API keys</dt>
          <dd>
            {count(stats.api_keys.active)} active, {count(stats.api_keys.revoked)} revoked
          </dd>
        </div>
        <div>
          <dt>Transactions</dt>
          <dd data-figure="transactions">{count(transactions)}</dd>
        </div>
        <div>
          <dt>Revenue</dt>
          <dd>{stats.revenue.revenue_usd.toFixed(2)} USD</dd>
        </div>
        <div>
          <dt>Grants</dt>
          <dd>{count(stats.revenue.grants)}</dd>
        </div>
        <div>
          <dt>Database ({stats.database.dialect}, every app)</dt>
          <dd>{count(Math.round(stats.database.bytes / 1024))} KiB</dd>
        </div>
      </dl>
      <h4>Profiles holding each identifier</h4>
      <Table caption="Profiles holding each identifier key" head={['Key', 'Profiles']}>
        {IDENTIFIER_KEYS.map((key) => (
          <tr key={key}>
            <td>
              <code>{key}</code>
            </td>
            <td class="number">{count(stats.identifiers[key])}</td>
          </tr>
        ))}
      </Table>
      {stats.revenue.transactions.length > 0 && (
        <>
          <h4>Transactions by store</h4>
          <Table caption="Transactions by store and environment" head={['Store', 'Environment', 'Transactions', 'Refunded', 'Revenue (USD)']}>
            {stats.revenue.transactions.map((row) => (
              <tr key={`${row.store}/${row.environment}`}>
                <td>{row.store}</td>
                <td>{row.environment}</td>
                <td class="number">{count(row.count)}</td>
                <td class="number">{count(row.refunded)}</td>
                <td class="number">{row.revenue_usd.toFixed(2)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </>
  );
}

function RevenueTables({ config }: { config: RevenueConfiguration }) {
  return (
    <>
      <p>
        Access level ids never configured: <strong>{config.unknownAccessLevels}</strong>. Change the configuration with{' '}
        <code>crosswalk revenue</code> or the <code>/crosswalk/v1/revenue/</code> operations.
      </p>
      <h4>Access levels</h4>
      {config.accessLevels.length === 0 ? (
        <Empty>None configured.</Empty>
      ) : (
        <Table caption="Access levels" head={['Access level', 'Configured']}>
          {config.accessLevels.map((level) => (
            <tr key={level.access_level_id}>
              <td>{level.access_level_id}</td>
              <td>{time(level.created_at)}</td>
            </tr>
          ))}
        </Table>
      )}
      <h4>Products</h4>
      {config.products.length === 0 ? (
        <Empty>None configured: every product unlocks premium.</Empty>
      ) : (
        <Table caption="Products and what each unlocks" head={['Product', 'Unlocks', 'Consumable']}>
          {config.products.map((product) => (
            <tr key={product.store_product_id}>
              <td>
                <code>{product.store_product_id}</code>
              </td>
              <td>{product.access_level_id ?? 'nothing'}</td>
              <td>{product.is_consumable ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </Table>
      )}
      <h4>Currency rates</h4>
      {config.rates.length === 0 ? (
        <Empty>None set.</Empty>
      ) : (
        <Table caption="Currency rates, US dollars per unit" head={['Currency', 'USD per unit', 'Set']}>
          {config.rates.map((rate) => (
            <tr key={rate.currency}>
              <td>{rate.currency}</td>
              <td class="number">{rate.usd_per_unit}</td>
              <td>{time(rate.updated_at)}</td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}
