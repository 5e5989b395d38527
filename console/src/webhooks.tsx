import { useState } from 'preact/hooks';
import { type Api, CROSSWALK, type Scope } from './api.js';
import { Deliveries } from './deliveries.js';
import { DeliveriesSection } from './delivery-list.js';
import { canAdmin, Empty, Failure, Loading, RowAction, Table, time, useLoad, useRemoval, ViewHeading } from './ui.js';
import { DELIVERY_STATUSES, type Endpoint, EVENT_TYPES } from './wire.js';

const ENDPOINTS = `${CROSSWALK}/webhooks/endpoints/`;

/** The app's webhook endpoints and their deliveries, by status and endpoint, with redelivery. */
export function WebhooksView({ api, scope }: { api: Api; scope: Scope }) {
  const endpoints = useLoad(() => api.get<{ data: Endpoint[] }>(ENDPOINTS), []);
  const admin = canAdmin(scope);

  return (
    <section aria-labelledby="webhooks-heading">
      <ViewHeading id="webhooks-heading">Webhooks</ViewHeading>
      <section aria-labelledby="endpoints-heading">
        <h3 id="endpoints-heading">Endpoints</h3>
        <Loading state={endpoints} what="Endpoints could not be listed">
          {({ data }) => <EndpointList api={api} endpoints={data} admin={admin} onChange={endpoints.reload} />}
        </Loading>
        {admin && <AddEndpoint api={api} onAdded={endpoints.reload} />}
      </section>

      <DeliveriesSection
        headingId="webhook-deliveries-heading"
        statusId="delivery-status"
        statuses={DELIVERY_STATUSES}
        target={{ id: 'delivery-endpoint', label: 'Endpoint', options: (endpoints.data?.data ?? []).map((endpoint) => ({ value: endpoint.id, label: endpoint.url })) }}
      >
        {({ status, target }) => (
          <Deliveries api={api} filter={{ status, endpoint_id: target }} admin={admin} showProfile caption="Webhook deliveries, newest first" />
        )}
      </DeliveriesSection>
    </section>
  );
}

function EndpointList({ api, endpoints, admin, onChange }: { api: Api; endpoints: Endpoint[]; admin: boolean; onChange: () => void }) {
  const removal = useRemoval(api, onChange);
  if (endpoints.length === 0) return <Empty>No endpoint: events are not sent anywhere.</Empty>;
  const remove = (endpoint: Endpoint) => removal.remove(`${ENDPOINTS}${endpoint.id}/`, `Remove ${endpoint.url}? Its pending deliveries are cancelled.`);
  return (
    <>
      <Failure error={removal.error} what="Not removed" />
      <Table caption="Webhook endpoints" head={['URL', 'Events', 'Secret', 'Created', ...(admin ? [''] : [])]}>
        {endpoints.map((endpoint) => (
          <tr key={endpoint.id}>
            <td>
              <code>{endpoint.url}</code>
              {endpoint.description && (
                <>
                  <br />
                  <small>{endpoint.description}</small>
                </>
              )}
            </td>
            <td>{endpoint.event_types.length === EVENT_TYPES.length ? 'all' : endpoint.event_types.join(', ')}</td>
            <td>
              <code>{endpoint.secret_hint}</code>
            </td>
            <td>{time(endpoint.created_at)}</td>
            {admin && (
              <td>
                <RowAction label={`Remove endpoint ${endpoint.url}`} onClick={() => remove(endpoint)}>
                  Remove
                </RowAction>
              </td>
            )}
          </tr>
        ))}
      </Table>
    </>
  );
}

function AddEndpoint({ api, onAdded }: { api: Api; onAdded: () => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [types, setTypes] = useState<string[]>([...EVENT_TYPES]);
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<string | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setSecret(null);
    try {
      const body = { url: url.trim(), event_types: types, ...(description.trim() ? { description: description.trim() } : {}) };
      const answer = await api.call<{ data: Endpoint & { secret: string } }>(ENDPOINTS, { method: 'POST', body });
      setSecret(answer.body.data.secret);
      setUrl('');
      setDescription('');
      onAdded();
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <details>
      <summary role="button" class="secondary outline">
        Add an endpoint
      </summary>
      <form onSubmit={submit} aria-label="Add a webhook endpoint">
        <label for="endpoint-url">URL</label>
        <input id="endpoint-url" type="url" required value={url} onInput={(event) => setUrl((event.target as HTMLInputElement).value)} />
        <label for="endpoint-description">Description (optional)</label>
        <input id="endpoint-description" value={description} onInput={(event) => setDescription((event.target as HTMLInputElement).value)} />
        <fieldset>
          <legend>Events</legend>
          {EVENT_TYPES.map((type) => (
            <label key={type}>
              <input
                type="checkbox"
                checked={types.includes(type)}
                onChange={(event) => setTypes((event.target as HTMLInputElement).checked ? [...types, type] : types.filter((t) => t !== type))}
              />
              {type}
            </label>
          ))}
        </fieldset>
        <Failure error={error} what="Not added" />
        {secret !== null && (
          <p role="status" class="notice success">
            Added. Its signing secret, shown only now: <code>{secret}</code>
          </p>
        )}
        <button type="submit">Add endpoint</button>
      </form>
    </details>
  );
}
